import { createRoute, z } from "@hono/zod-openapi";
import { ORDER_STATUSES } from "../../db/schema.ts";
import { adminOnly, signedIn } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	paramErrors,
	replayHeaders,
	userErrors,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { AdminOrderSchema, CheckoutBody, CheckoutHeaders, OrderSchema } from "./orders.schemas.ts";

export const checkout = createRoute({
	operationId: "checkout",
	method: "post",
	path: "/orders/checkout",
	tags: ["Orders"],
	summary: "Buy the cart",
	description: [
		"Authorizes the payment, then in one D1 transaction decrements every line's stock, records the order and empties the purchased lines; the payment is captured after it commits.",
		"A declined payment (test provider: `payment_token` `tok_fail`) records a `payment_failed` order (201) and changes neither stock nor cart.",
		"A short line changes nothing: 409 `INSUFFICIENT_STOCK` with `field` `book_id:<id>`.",
		"The transaction buys exactly the cart lines that were priced: of two concurrent checkouts of one cart (a double click), one makes the order and the other gets 409 `CART_EMPTY` — or `CART_CHANGED` when the cart changed in between — and is not charged.",
		"Send an `Idempotency-Key` header (1–255 characters) to make retries safe: the same key from the same user returns the same order (header `Idempotent-Replayed: true`), never charging or decrementing twice — also when the requests race. The same key with another `payment_token` is 422 `IDEMPOTENCY_KEY_REUSED`.",
		"Throttled per user: 10 attempts and 3 declined payments per 15 minutes (429 with `Retry-After`); a retry with the same key and token does not count again.",
	].join("\n\n"),
	...signedIn,
	request: {
		headers: CheckoutHeaders,
		body: jsonBody(CheckoutBody),
	},
	responses: {
		201: jsonResponse(OrderSchema, "The order (`confirmed` or `payment_failed`)", replayHeaders),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			409: {
				codes: ["CART_EMPTY", "CART_CHANGED", "INSUFFICIENT_STOCK"],
				description:
					"The cart is empty (also when a concurrent checkout bought it), changed while the order was being placed, or a line is short (field `book_id:<id>`); nothing changed or charged",
			},
			422: {
				codes: ["VALIDATION_ERROR", "IDEMPOTENCY_KEY_REUSED"],
				description: "Invalid input, or this `Idempotency-Key` was used with another `payment_token`",
			},
			429: {
				codes: ["RATE_LIMITED"],
				description:
					"More than 10 checkout attempts, or 3 declined payments, within 15 minutes (`Retry-After`)",
			},
			503: {
				codes: ["SERVICE_UNAVAILABLE"],
				description:
					"The payment provider did not answer (within 20 s): nothing was ordered or charged, and no decline is counted (`Retry-After`)",
			},
		}),
	},
});

export const list = createRoute({
	operationId: "listOrders",
	method: "get",
	path: "/orders",
	tags: ["Orders"],
	summary: "The caller's orders, newest first",
	...signedIn,
	request: { query: pageQuery },
	responses: {
		200: jsonResponse(pageSchema(OrderSchema).openapi("OrderPage"), "A page of orders"),
		...errorResponses({ ...userErrors, ...paramErrors }),
	},
});

export const get = createRoute({
	operationId: "getOrder",
	method: "get",
	path: "/orders/{id}",
	tags: ["Orders"],
	summary: "One of the caller's orders",
	...signedIn,
	request: { params: z.object({ id: idParam("id") }) },
	responses: {
		200: jsonResponse(OrderSchema, "The order"),
		...errorResponses({
			...userErrors,
			404: { codes: ["ORDER_NOT_FOUND"], description: "No such order (also another user's)" },
			...paramErrors,
		}),
	},
});

export const adminList = createRoute({
	operationId: "adminListOrders",
	method: "get",
	path: "/admin/orders",
	tags: ["Admin"],
	summary: "All orders, newest first (admin)",
	...adminOnly,
	request: {
		query: pageQuery.extend({
			status: z
				.enum(ORDER_STATUSES)
				.optional()
				.openapi({ param: { name: "status", in: "query" } }),
			user_id: idParam("user_id", "query").optional(),
		}),
	},
	responses: {
		200: jsonResponse(pageSchema(AdminOrderSchema).openapi("AdminOrderPage"), "A page of orders"),
		...errorResponses({ ...adminErrors, ...paramErrors }),
	},
});
