/**
 * Per-client limit on the auth endpoints, through the Workers Rate Limiting binding (30 requests a minute
 * per client address, see wrangler.toml). It is coarse by design — per location, eventually consistent —
 * and complements the exact per-email failure limit kept in D1 (features/auth).
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../types.ts";
import { AppError } from "./errors.ts";

export const limitAuthRequests = createMiddleware<AppEnv>(async (c, next) => {
	// Cloudflare sets the client's address on every request; without it (a local tool) there is no key.
	const client = c.req.header("CF-Connecting-IP");
	if (client) {
		const { success } = await c.env.AUTH_RATE_LIMITER.limit({ key: `auth:${client}` });
		if (!success) {
			throw new AppError("RATE_LIMITED", "Too many requests from this client; try again in a minute", null, {
				headers: { "Retry-After": "60" },
			});
		}
	}
	await next();
});
