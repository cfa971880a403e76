import { createRoute } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, publicRoute } from "../../lib/openapi.ts";
import { HealthSchema } from "./health.schemas.ts";

export const health = createRoute({
	operationId: "getHealth",
	...publicRoute,
	method: "get",
	path: "/health",
	tags: ["Operations"],
	summary: "Liveness with a real D1 query",
	description: "503 when D1 does not answer or the configuration is invalid (`detail` names the variables).",
	responses: {
		200: jsonResponse(HealthSchema, "D1 answers and the configuration is valid"),
		...errorResponses({
			503: {
				codes: ["SERVICE_UNAVAILABLE"],
				description: "D1 did not answer or the Worker is misconfigured",
			},
		}),
	},
});
