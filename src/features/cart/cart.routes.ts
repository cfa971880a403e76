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
import { CartItemAdd, CartItemUpdate, CartSchema } from "./cart.schemas.ts";

const cartItemId = z.object({ id: idParam("id") });

export const get = createRoute({
	operationId: "getCart",
	method: "get",
	path: "/cart",
	tags: ["Cart"],
	summary: "The caller's cart at current prices",
	...signedIn,
	responses: { 200: jsonResponse(CartSchema, "The cart (empty if none)"), ...errorResponses(userErrors) },
});

export const addItem = createRoute({
	operationId: "addCartItem",
	method: "post",
	path: "/cart/items",
	tags: ["Cart"],
	summary: "Add copies of a book to the cart",
	description:
		"Adds to the book's existing line if there is one. A line holds at most 100 copies (422) and never more than the stock (409).",
	...signedIn,
	request: { body: jsonBody(CartItemAdd) },
	responses: {
		201: jsonResponse(CartSchema, "The cart"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: { codes: ["BOOK_NOT_FOUND"], description: "No such book (field `book_id`)" },
			409: { codes: ["INSUFFICIENT_STOCK"], description: "Not enough copies in stock (field `quantity`)" },
		}),
	},
});

export const updateItem = createRoute({
	operationId: "updateCartItem",
	method: "patch",
	path: "/cart/items/{id}",
	tags: ["Cart"],
	summary: "Set a cart line's quantity",
	...signedIn,
	request: { params: cartItemId, body: jsonBody(CartItemUpdate) },
	responses: {
		200: jsonResponse(CartSchema, "The cart"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: { codes: ["CART_ITEM_NOT_FOUND"], description: "No such line (also another user's)" },
			409: { codes: ["INSUFFICIENT_STOCK"], description: "Not enough copies in stock (field `quantity`)" },
		}),
	},
});

export const removeItem = createRoute({
	operationId: "removeCartItem",
	method: "delete",
	path: "/cart/items/{id}",
	tags: ["Cart"],
	summary: "Remove a cart line",
	...signedIn,
	request: { params: cartItemId },
	responses: {
		204: noContent("Removed"),
		...errorResponses({
			...userErrors,
			404: { codes: ["CART_ITEM_NOT_FOUND"], description: "No such line (also another user's)" },
			...paramErrors,
		}),
	},
});
