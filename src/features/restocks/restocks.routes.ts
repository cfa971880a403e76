import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	paramErrors,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { BookSchema, stockQuantity } from "../books/books.schemas.ts";
import { RestockReplaySchema, RestockSchema } from "./restocks.schemas.ts";

export const list = createRoute({
	operationId: "adminListRestocks",
	method: "get",
	path: "/admin/restocks",
	tags: ["Admin"],
	summary: "Recent restocks with their email delivery counts (admin)",
	description:
		"Every stock increase, newest first. `notified_count` should end up equal to `sent_count` plus the users who cancelled or were deactivated before their email; `dead_count` > 0 needs a replay.",
	...adminOnly,
	request: { query: pageQuery },
	responses: {
		200: jsonResponse(pageSchema(RestockSchema).openapi("RestockPage"), "A page of restocks"),
		...errorResponses({ ...adminErrors, ...paramErrors }),
	},
});

export const replay = createRoute({
	operationId: "adminReplayRestock",
	method: "post",
	path: "/admin/restocks/{id}/replay",
	tags: ["Admin"],
	summary: "Retry a restock's dead email deliveries (admin)",
	description:
		"Dead deliveries become claimable again and their users are republished to the queue; users already emailed are never emailed twice.",
	...adminOnly,
	request: { params: z.object({ id: idParam("id") }) },
	responses: {
		202: jsonResponse(RestockReplaySchema, "How many deliveries were put back on the queue"),
		...errorResponses({ ...adminErrors, 404: ["RESTOCK_NOT_FOUND"], ...paramErrors }),
	},
});

export const setStock = createRoute({
	operationId: "setBookStock",
	method: "patch",
	path: "/books/{id}/stock",
	tags: ["Catalog"],
	summary: "Set a book's stock (admin)",
	description:
		"Sets the absolute quantity; a rise is recorded as a restock. In the same transaction the allocation engine serves the book's line under its policy: notify_all — when the available copies go from 0 to more than 0, every waiting pre-booking that is not paused becomes `notified`; hold_queue — the available copies are offered to the first servable readers in line (`offered`, held for `hold_hours`). Readers passed over keep their place (`on_hold_reason`). The stock cannot go below `held_quantity` (409 STOCK_BELOW_HELD).",
	...adminOnly,
	request: {
		params: z.object({ id: idParam("id") }),
		body: jsonBody(z.object({ quantity: stockQuantity("quantity") }).openapi("StockUpdate")),
	},
	responses: {
		200: jsonResponse(BookSchema, "The book with its new stock"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			404: ["BOOK_NOT_FOUND"],
			409: {
				codes: ["STOCK_BELOW_HELD"],
				description: "The quantity is below the copies held for readers in line (field `quantity`)",
			},
		}),
	},
});
