import { createRoute } from "@hono/zod-openapi";
import { adminOnly } from "../../lib/auth.ts";
import { adminErrors, errorResponses, jsonResponse, paramErrors } from "../../lib/openapi.ts";
import { InsightsQuery, InsightsSchema, MAX_PERIOD_DAYS } from "./insights.schemas.ts";

export const prebooks = createRoute({
	operationId: "adminPrebookInsights",
	method: "get",
	path: "/admin/insights/prebooks",
	tags: ["Admin"],
	summary: "The pre-booking funnel of a period, for the store or one book (admin)",
	description: `How many readers pre-booked, were told or offered a copy, bought it, let it go; the conversion rate, the revenue of the order lines that fulfilled a pre-booking, the median time to purchase, and a series per day. Days are UTC; \`from\` and \`to\` are inclusive and at most ${MAX_PERIOD_DAYS} days apart (422 VALIDATION_ERROR otherwise). Read from daily counters kept with every transition: one round trip, whatever the history.`,
	...adminOnly,
	request: { query: InsightsQuery },
	responses: {
		200: jsonResponse(InsightsSchema, "The funnel"),
		...errorResponses({ ...adminErrors, ...paramErrors, 404: ["BOOK_NOT_FOUND"] }),
	},
});
