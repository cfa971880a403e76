import { createRoute, z } from "@hono/zod-openapi";
import { signedIn } from "../../lib/auth.ts";
import {
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
	userErrors,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { WishlistAdd, WishlistItemSchema } from "./wishlist.schemas.ts";

export const list = createRoute({
	operationId: "listWishlist",
	method: "get",
	path: "/wishlist",
	tags: ["Wishlist"],
	summary: "The caller's wishlist, most recently added first",
	...signedIn,
	request: { query: pageQuery },
	responses: {
		200: jsonResponse(pageSchema(WishlistItemSchema).openapi("WishlistPage"), "A page of the wishlist"),
		...errorResponses({ ...userErrors, ...paramErrors }),
	},
});

export const add = createRoute({
	operationId: "addWishlistItem",
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
			404: { codes: ["BOOK_NOT_FOUND"], description: "No such book (field `book_id`)" },
			409: { codes: ["WISHLIST_ITEM_DUPLICATE"], description: "The book is on the wishlist already" },
		}),
	},
});

export const remove = createRoute({
	operationId: "removeWishlistItem",
	method: "delete",
	path: "/wishlist/{book_id}",
	tags: ["Wishlist"],
	summary: "Remove a book from the wishlist",
	...signedIn,
	request: { params: z.object({ book_id: idParam("book_id") }) },
	responses: {
		204: noContent("Removed"),
		...errorResponses({ ...userErrors, 404: ["WISHLIST_ITEM_NOT_FOUND"], ...paramErrors }),
	},
});
