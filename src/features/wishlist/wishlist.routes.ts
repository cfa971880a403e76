import { createRoute, z } from "@hono/zod-openapi";
import { signedIn } from "../../lib/auth.ts";
import {
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	userErrors,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { WishlistAdd, WishlistItemSchema } from "./wishlist.schemas.ts";

export const list = createRoute({
	method: "get",
	path: "/wishlist",
	tags: ["Wishlist"],
	summary: "The caller's wishlist, most recently added first",
	...signedIn,
	request: { query: pageQuery },
	responses: {
		200: jsonResponse(pageSchema(WishlistItemSchema).openapi("WishlistPage"), "A page of the wishlist"),
		...errorResponses({ ...userErrors, 422: true }),
	},
});

export const add = createRoute({
	method: "post",
	path: "/wishlist",
	tags: ["Wishlist"],
	summary: "Add a book to the wishlist",
	...signedIn,
	request: { body: jsonBody(WishlistAdd) },
	responses: {
		201: jsonResponse(WishlistItemSchema, "The wishlist item"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: "BOOK_NOT_FOUND",
			409: "WISHLIST_ITEM_DUPLICATE",
		}),
	},
});

export const remove = createRoute({
	method: "delete",
	path: "/wishlist/{book_id}",
	tags: ["Wishlist"],
	summary: "Remove a book from the wishlist",
	...signedIn,
	request: { params: z.object({ book_id: idParam("book_id") }) },
	responses: {
		204: { description: "Removed" },
		...errorResponses({ ...userErrors, 404: "WISHLIST_ITEM_NOT_FOUND", 422: true }),
	},
});
