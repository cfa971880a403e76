/**
 * The headers the pipeline puts on every answer: security headers, CORS (and the preflight's answer), the
 * `no-store` default and `Server-Timing`.
 *
 * Written so that a request builds its response once. What is known before the route runs (security
 * headers, CORS) goes into the headers the handler's response is built with (`c.header` before `next()`);
 * what is known only after (the `Vary` append, the `Cache-Control` default, timings, the bookmark) is
 * written onto that response's own headers. Never `c.header()` after `next()`: Hono then copies the whole
 * response for every header, and touching `c.res` before `next()` makes it copy the handler's response
 * again. The CPU profile of the earlier pipeline (hono/cors, hono/secure-headers, hono/timing and
 * `c.header` after the route) spent more time copying responses than running the route
 * (docs/benchmarks.md, "Per-request overhead").
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env.ts";
import { configOrNull } from "./config.ts";
import { BOOKMARK_HEADER } from "./db.ts";

/** JSON only: nothing may be loaded or framed. A route that serves a page (/docs) sets its own policy. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** hono/secure-headers' defaults, with the policy above; a route's own value of any of them wins. */
const SECURITY_HEADERS: readonly [string, string][] = [
	["Content-Security-Policy", CONTENT_SECURITY_POLICY],
	["Cross-Origin-Resource-Policy", "same-origin"],
	["Cross-Origin-Opener-Policy", "same-origin"],
	["Origin-Agent-Cluster", "?1"],
	["Referrer-Policy", "no-referrer"],
	["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
	["X-Content-Type-Options", "nosniff"],
	["X-DNS-Prefetch-Control", "off"],
	["X-Download-Options", "noopen"],
	["X-Frame-Options", "SAMEORIGIN"],
	["X-Permitted-Cross-Domain-Policies", "none"],
	["X-XSS-Protection", "0"],
];

const CORS_ALLOW_METHODS = "GET,POST,PATCH,DELETE,OPTIONS";
const CORS_ALLOW_HEADERS = [
	"Authorization",
	"Content-Type",
	"Idempotency-Key",
	"X-Request-Id",
	BOOKMARK_HEADER,
	"If-None-Match",
].join(",");
const CORS_EXPOSE_HEADERS = [
	"X-Request-Id",
	"Server-Timing",
	"Retry-After",
	"Idempotent-Replayed",
	BOOKMARK_HEADER,
	"ETag",
].join(",");
const CORS_MAX_AGE_SECONDS = "600";

/** A page served from this machine, on any port: `http(s)://localhost`, `127.0.0.1` or `[::1]`. */
const LOCAL_ORIGIN = /^https?:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/;

/**
 * The browser origin CORS lets read the answer (the request's own), or null: one `CORS_ORIGINS` lists (or
 * any, with `*`), and in development (`ENVIRONMENT=development`, never in production) any local origin, so a
 * frontend on `localhost:5173` or `127.0.0.1:3000` works against `npm run dev` without configuration. An
 * invalid configuration allows none.
 */
export function allowedOrigin(env: Env, origin: string): string | null {
	if (!origin) return null;
	const config = configOrNull(env);
	if (!config) return null;
	if (config.corsOrigins.includes("*") || config.corsOrigins.includes(origin)) return origin;
	return !config.production && LOCAL_ORIGIN.test(origin) ? origin : null;
}

/**
 * Security headers and CORS on every answer; a CORS preflight (`OPTIONS`) is answered here, 204. After the
 * route: `Vary: Origin` and `Cache-Control: no-store` unless the route said how to cache its answer (most
 * answers carry tokens or one user's data; the public catalog reads set their own).
 */
export const responseHeaders = createMiddleware<AppEnv>(async (c, next) => {
	for (const [name, value] of SECURITY_HEADERS) c.header(name, value);
	const origin = allowedOrigin(c.env, c.req.header("Origin") ?? "");
	if (origin) c.header("Access-Control-Allow-Origin", origin);
	c.header("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	if (c.req.method === "OPTIONS") {
		c.header("Vary", "Origin, Access-Control-Request-Headers");
		c.header("Access-Control-Max-Age", CORS_MAX_AGE_SECONDS);
		c.header("Access-Control-Allow-Methods", CORS_ALLOW_METHODS);
		c.header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
		c.header("Cache-Control", "no-store");
		return new Response(null, { headers: c.res.headers, status: 204, statusText: "No Content" });
	}
	await next();
	const headers = writableHeaders(c);
	if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
});

/**
 * The response's headers, with `Vary: Origin` appended, to write on after the route. Every answer of this
 * app is built by it, so its headers are writable; one that is not (a response passed through from a
 * `fetch`) is copied once, with the security and CORS headers it lacks.
 */
function writableHeaders(c: Context<AppEnv>): Headers {
	const res = c.res;
	try {
		res.headers.append("Vary", "Origin");
		return res.headers;
	} catch {
		const copy = new Response(res.body, res);
		for (const [name, value] of SECURITY_HEADERS) if (!copy.headers.has(name)) copy.headers.set(name, value);
		const origin = allowedOrigin(c.env, c.req.header("Origin") ?? "");
		if (origin) copy.headers.set("Access-Control-Allow-Origin", origin);
		copy.headers.set("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
		copy.headers.append("Vary", "Origin");
		// Replace, not merge (Hono would copy the old response's headers into the new one).
		c.res = undefined;
		c.res = copy;
		return copy.headers;
	}
}

/**
 * `Server-Timing` as hono/timing wrote it — the request's D1 entry (`d1;dur=<ms>;desc="<round trips>"`,
 * API.md) and the total — and `Timing-Allow-Origin: *`, so browsers show them to any origin.
 */
export function writeServerTiming(
	c: Context<AppEnv>,
	d1: { durationMs: number; roundTrips: number },
	startedAt: number,
) {
	const total = performance.now() - startedAt;
	const headers = c.res.headers;
	headers.append(
		"Server-Timing",
		`d1;dur=${d1.durationMs.toFixed(1)};desc="${d1.roundTrips}",total;dur=${total.toFixed(1)};desc="Total Response Time"`,
	);
	headers.set("Timing-Allow-Origin", "*");
}
