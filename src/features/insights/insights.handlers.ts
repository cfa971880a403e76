import type { AppRouteHandler } from "../../lib/app-env.ts";
import type * as routes from "./insights.routes.ts";
import { toInsightsResponse } from "./insights.schemas.ts";
import { prebookInsights } from "./insights.service.ts";

export const prebooks: AppRouteHandler<typeof routes.prebooks> = async (c) => {
	const { from, to, book_id } = c.req.valid("query");
	const { days, medianHours } = await prebookInsights(c.var.db, { from, to, bookId: book_id });
	return c.json(toInsightsResponse({ from, to }, days, medianHours), 200);
};
