import type { AppRouteHandler } from "../../lib/app-env.ts";
import type * as routes from "./health.routes.ts";
import { checkHealth } from "./health.service.ts";

export const health: AppRouteHandler<typeof routes.health> = async (c) => {
	await checkHealth(c.var.db, c.env);
	return c.json({ status: "ok" as const }, 200);
};
