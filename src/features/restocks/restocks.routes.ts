import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { adminErrors, errorResponses, idParam, jsonResponse, paramErrors } from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
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
