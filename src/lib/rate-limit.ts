/**
 * Per-client limit on the auth endpoints, through the Workers Rate Limiting binding (30 requests a minute
 * per client network, see wrangler.toml). It is coarse by design — per location, eventually consistent —
 * and complements the exact per-email failure limits kept in D1 (features/auth). Clients are keyed by
 * network (an IPv4 address, an IPv6 /64): one IPv6 host rotates through its whole /64 at will.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env.ts";
import { clientNetwork } from "./client-network.ts";
import { AppError } from "./errors.ts";

/** The caller's network key ('' when the request carries no usable client address). */
export const requestNetwork = (c: Context<AppEnv>): string =>
	clientNetwork(c.req.header("CF-Connecting-IP")) ?? "";

/**
 * The budget of requests whose client address is missing or is not an IP address. Cloudflare sets
 * `CF-Connecting-IP` on every request that reaches a deployed Worker, so in production this bucket should
 * stay empty; if a request ever arrives without a usable address (a misrouted path, a future platform
 * change, a local tool), it shares this one budget instead of having none — a missing header must never
 * switch the limit off.
 */
const UNKNOWN_NETWORK = "unknown";

export const limitAuthRequests = createMiddleware<AppEnv>(async (c, next) => {
	const network = requestNetwork(c) || UNKNOWN_NETWORK;
	const { success } = await c.env.AUTH_RATE_LIMITER.limit({ key: `auth:${network}` });
	if (!success) {
		throw new AppError("RATE_LIMITED", "Too many requests from this network; try again in a minute", null, {
			headers: { "Retry-After": "60" },
		});
	}
	await next();
});
