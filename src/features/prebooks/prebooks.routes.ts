import { createRoute, z } from "@hono/zod-openapi";
import { PREBOOK_STATUSES } from "../../db/schema.ts";
import { adminOnly, signedIn } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	userErrors,
} from "../../lib/openapi.ts";
import { limitParam, pageQuery, pageSchema } from "../../lib/pagination.ts";
import { DemandSchema, LineEntrySchema, PrebookCreate, PrebookSchema } from "./prebooks.schemas.ts";

const prebookId = z.object({ id: idParam("id") });

export const create = createRoute({
	method: "post",
	path: "/prebooks",
	tags: ["Pre-bookings"],
	summary: "Pre-book an out-of-stock book",
	description:
		"Only while the book's stock is 0; one waiting pre-booking per book; at most 100 waiting per user. When the book is restocked the pre-booking becomes `notified` and the user is emailed once.",
	...signedIn,
	request: { body: jsonBody(PrebookCreate) },
	responses: {
		201: jsonResponse(PrebookSchema, "The new pre-booking (status `waiting`)"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			404: "BOOK_NOT_FOUND (field `book_id`)",
			409: "PREBOOK_BOOK_IN_STOCK / PREBOOK_DUPLICATE / PREBOOK_LIMIT_REACHED (field `book_id`), checked in that order",
		}),
	},
});

export const list = createRoute({
	method: "get",
	path: "/prebooks",
	tags: ["Pre-bookings"],
	summary: "The caller's pre-bookings, newest first",
	...signedIn,
	request: {
		query: pageQuery.extend({
			status: z
				.enum(PREBOOK_STATUSES)
				.optional()
				.openapi({ param: { name: "status", in: "query" } }),
		}),
	},
	responses: {
		200: jsonResponse(pageSchema(PrebookSchema).openapi("PreBookingPage"), "A page of pre-bookings"),
		...errorResponses({ ...userErrors, 422: true }),
	},
});

export const get = createRoute({
	method: "get",
	path: "/prebooks/{id}",
	tags: ["Pre-bookings"],
	summary: "One of the caller's pre-bookings",
	...signedIn,
	request: { params: prebookId },
	responses: {
		200: jsonResponse(PrebookSchema, "The pre-booking"),
		...errorResponses({ ...userErrors, 404: "PREBOOK_NOT_FOUND (also for another user's)", 422: true }),
	},
});

export const cancel = createRoute({
	method: "delete",
	path: "/prebooks/{id}",
	tags: ["Pre-bookings"],
	summary: "Cancel a pre-booking",
	description:
		"The row stays with status `cancelled` and `cancelled_at`; the book can be pre-booked again (at the end of the line). Cancelling an `offered` pre-booking gives its held copy to the next in line at once.",
	...signedIn,
	request: { params: prebookId },
	responses: {
		204: { description: "Cancelled" },
		...errorResponses({
			...userErrors,
			404: "PREBOOK_NOT_FOUND (also for another user's)",
			409: "PREBOOK_ALREADY_CANCELLED; PREBOOK_CLOSED for a `fulfilled` or `expired` pre-booking",
			422: true,
		}),
	},
});

export const demand = createRoute({
	method: "get",
	path: "/admin/prebooks/demand",
	tags: ["Admin"],
	summary: "Books with the most waiting pre-bookings (admin)",
	description:
		"Each with its stock, the copies held for its line and how many pre-bookings hold one (`offered_count`).",
	...adminOnly,
	request: { query: z.object({ limit: limitParam }) },
	responses: {
		200: jsonResponse(
			z.object({ items: z.array(DemandSchema) }).openapi("PreBookingDemandList"),
			"Most waiting first",
		),
		...errorResponses({ ...adminErrors, 422: true }),
	},
});

export const line = createRoute({
	method: "get",
	path: "/admin/books/{id}/prebooks",
	tags: ["Admin"],
	summary: "A book's line of pre-bookings (admin)",
	description:
		"Every pre-booking of the book in line order (`created_at`, then `id`), with each waiting one's `position`; keyset pages. With `Accept: text/csv` the whole line (every page, same columns, same filter) is streamed as CSV instead.",
	...adminOnly,
	request: {
		params: z.object({ id: idParam("id") }),
		query: pageQuery.extend({
			status: z
				.enum(PREBOOK_STATUSES)
				.optional()
				.openapi({ param: { name: "status", in: "query" } }),
		}),
	},
	responses: {
		200: {
			description: "A page of the line (JSON), or the whole line (CSV)",
			content: {
				"application/json": { schema: pageSchema(LineEntrySchema).openapi("PreBookingLinePage") },
				"text/csv": { schema: z.string().openapi({ example: "id,user_id,email,status,position,..." }) },
			},
		},
		...errorResponses({ ...adminErrors, 404: "BOOK_NOT_FOUND", 422: true }),
	},
});
