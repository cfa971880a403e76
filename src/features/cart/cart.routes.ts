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
	userErrors,
} from "../../lib/openapi.ts";

export const CartSchema = z
	.object({
		items: z.array(
			z.object({
				id: z.number().int(),
				book_id: z.number().int(),
				book_title: z.string(),
				unit_price: priceOutput,
				quantity: z.number().int(),
				line_total: priceOutput,
			}),
		),
		total: priceOutput,
	})
	.openapi("Cart");

const quantity = z
	.number({ message: "quantity must be an integer from 1 to 100" })
	.int("quantity must be an integer from 1 to 100")
	.min(1, "quantity must be an integer from 1 to 100")
	.max(100, "quantity must be an integer from 1 to 100");

const cartItemId = z.object({ id: idParam("id") });

export const get = createRoute({
	method: "get",
	path: "/cart",
	tags: ["Cart"],
	summary: "The caller's cart at current prices",
	...signedIn,
	responses: { 200: jsonResponse(CartSchema, "The cart (empty if none)"), ...errorResponses(userErrors) },
});

export const addItem = createRoute({
	method: "post",
	path: "/cart/items",
	tags: ["Cart"],
	summary: "Add copies of a book to the cart",
	description:
		"Adds to the book's existing line if there is one. A line holds at most 100 copies (422) and never more than the stock (409).",
	...signedIn,
	request: { body: jsonBody(z.object({ book_id: idField("book_id"), quantity }).openapi("CartItemAdd")) },
	responses: {
		201: jsonResponse(CartSchema, "The cart"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: "BOOK_NOT_FOUND",
			409: "INSUFFICIENT_STOCK (field `quantity`)",
		}),
	},
});

export const updateItem = createRoute({
	method: "patch",
	path: "/cart/items/{id}",
	tags: ["Cart"],
	summary: "Set a cart line's quantity",
	...signedIn,
	request: { params: cartItemId, body: jsonBody(z.object({ quantity }).openapi("CartItemUpdate")) },
	responses: {
		200: jsonResponse(CartSchema, "The cart"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: "CART_ITEM_NOT_FOUND (also another user's)",
			409: "INSUFFICIENT_STOCK (field `quantity`)",
		}),
	},
});

export const removeItem = createRoute({
	method: "delete",
	path: "/cart/items/{id}",
	tags: ["Cart"],
	summary: "Remove a cart line",
	...signedIn,
	request: { params: cartItemId },
	responses: {
		204: { description: "Removed" },
		...errorResponses({ ...userErrors, 404: "CART_ITEM_NOT_FOUND (also another user's)", 422: true }),
	},
});
