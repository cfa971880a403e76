import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { adminErrors, errorResponses, idParam, jsonResponse, timestamp } from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";

export const RestockSchema = z
	.object({
		id: z.number().int(),
		book_id: z.number().int(),
		book_title: z.string(),
		quantity_before: z.number().int(),
		quantity_after: z.number().int(),
		notified_count: z.number().int().openapi({ description: "Pre-bookings this restock notified" }),
		sent_count: z.number().int().openapi({ description: "Emails sent" }),
		failed_count: z.number().int().openapi({ description: "Emails that failed and await a retry" }),
		dead_count: z.number().int().openapi({ description: "Emails that exhausted their retries (replayable)" }),
		created_at: timestamp,
		published_at: timestamp.nullable().openapi({
			description: "When the queue accepted the notification; null until then (the relay republishes)",
		}),
	})
	.openapi("Restock");

export const list = createRoute({
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
		...errorResponses({ ...adminErrors, 422: true }),
	},
});

export const replay = createRoute({
	method: "post",
	path: "/admin/restocks/{id}/replay",
	tags: ["Admin"],
	summary: "Retry a restock's dead email deliveries (admin)",
	description:
		"Dead deliveries become claimable again and their users are republished to the queue; users already emailed are never emailed twice.",
	...adminOnly,
	request: { params: z.object({ id: idParam("id") }) },
	responses: {
		202: jsonResponse(
			z.object({ restock_id: z.number().int(), requeued: z.number().int() }).openapi("RestockReplay"),
			"How many deliveries were put back on the queue",
		),
		...errorResponses({ ...adminErrors, 404: "RESTOCK_NOT_FOUND", 422: true }),
	},
});
