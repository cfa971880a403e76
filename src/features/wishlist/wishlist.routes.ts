import { createRoute, z } from "@hono/zod-openapi";
import { signedIn } from "../../lib/auth.ts";
import { priceOutput } from "../../lib/money.ts";
import {
	bodyErrors,
	errorResponses,
	idField,
	idParam,
	jsonBody,
	jsonResponse,
	timestamp,
	userErrors,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";

export const WishlistItemSchema = z
	.object({
		book_id: z.number().int(),
		book_title: z.string(),
		book_author: z.string(),
		price: priceOutput,
		stock_quantity: z.number().int(),
		added_at: timestamp,
	})
	.openapi("WishlistItem");

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
	request: { body: jsonBody(z.object({ book_id: idField("book_id") }).openapi("WishlistAdd")) },
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
