import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { loadConfig } from "../../lib/config.ts";
import { AppError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { createRouter, errorResponses, jsonResponse } from "../../lib/openapi.ts";

const health = createRoute({
	method: "get",
	path: "/health",
	tags: ["Operations"],
	summary: "Liveness with a real D1 query",
	responses: {
		200: jsonResponse(
			z.object({ status: z.literal("ok") }).openapi("Health"),
			"D1 answers and config is valid",
		),
		...errorResponses({ 503: "SERVICE_UNAVAILABLE: D1 did not answer or the Worker is misconfigured" }),
	},
});

export const healthRouter = createRouter().openapi(health, async (c) => {
	try {
		loadConfig(c.env);
		await c.var.db.run(sql`SELECT 1`);
	} catch (err) {
		logEvent("error", "health_check_failed", { error: err instanceof Error ? err.name : typeof err });
		throw new AppError("SERVICE_UNAVAILABLE", "The service is not ready");
	}
	return c.json({ status: "ok" as const }, 200);
});
