/**
 * HTTP caching of the public catalog (`GET /books`, `GET /books/{id}`, `GET /genres`).
 *
 * - Responses say `Cache-Control: public, max-age=30, stale-while-revalidate=60` and carry a strong `ETag`
 *   (the first 128 bits of the SHA-256 of the exact body bytes, base64url): equal bodies, equal tags.
 *   `If-None-Match` naming it is answered `304` without a body.
 * - The Worker keeps them in the Cache API (`caches.default`, per data center) under the request URL alone
 *   (no client header is part of the key): a hit answers without D1 (0 round trips). A miss is stored after
 *   the response (`waitUntil`). What is stored is built from an allow-list — body, `Content-Type`,
 *   `Cache-Control`, `ETag` — so per-request headers (`X-Request-Id`, `X-D1-Bookmark`, `Server-Timing`,
 *   CORS) are never stored; a hit gets fresh ones from the pipeline.
 * - A request with `Authorization` is never served from, nor stored in, the cache (its answer stays
 *   `no-store`). A request with a valid `X-D1-Bookmark` (a client reading its own writes) skips the lookup
 *   but stores what it read (it is at least as fresh as what is cached).
 * - Writes to the catalog `forgetCatalog(...)` the entries they can name: the book's `GET /books/{id}`,
 *   the unfiltered first page `GET /books` and `GET /genres`. Other list URLs (filters, cursors, limits)
 *   and other data centers (a `cache.delete` is local) are bounded by the 30 s TTL; caches outside the
 *   Worker (browsers, proxies) may add `stale-while-revalidate`: 90 s at worst.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../types.ts";
import { BOOKMARK_HEADER, validBookmark } from "./db.ts";
import { describeError } from "./errors.ts";
import { logEvent } from "./log.ts";
import { cacheHeaders } from "./openapi.ts";

export const CATALOG_MAX_AGE_SECONDS = 30;
export const CATALOG_STALE_WHILE_REVALIDATE_SECONDS = 60;
export const CATALOG_CACHE_CONTROL = `public, max-age=${CATALOG_MAX_AGE_SECONDS}, stale-while-revalidate=${CATALOG_STALE_WHILE_REVALIDATE_SECONDS}`;

/** The cache key: the URL only, as a plain GET (no client header can vary or poison the entry). */
const cacheKey = (url: string) => new Request(url, { method: "GET" });

/** A strong ETag of the body: base64url of the first 16 bytes of its SHA-256. */
export async function etagOf(body: ArrayBuffer): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body)).slice(0, 16);
	const base64 = btoa(String.fromCharCode(...digest));
	return `"${base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}"`;
}

/** `If-None-Match` (a list of tags, or `*`) names `etag`; compared weakly, as RFC 9110 says for GET. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
	if (!header) return false;
	const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
	return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

const catalogHeaders = (etag: string, contentType: string | null): Record<string, string> => ({
	"Cache-Control": CATALOG_CACHE_CONTROL,
	ETag: etag,
	...(contentType ? { "Content-Type": contentType } : {}),
});

/** `waitUntil` when the runtime gave an execution context (`app.request` in a test may not): else awaited. */
async function afterResponse(c: Context<AppEnv>, work: Promise<unknown>): Promise<void> {
	let ctx: { waitUntil(work: Promise<unknown>): void } | undefined;
	try {
		ctx = c.executionCtx;
	} catch {
		ctx = undefined;
	}
	if (ctx) ctx.waitUntil(work);
	else await work;
}

/**
 * Route middleware for the public catalog reads (spread `...publicCatalog` into `createRoute`). Runs after
 * the pipeline's middleware, so a hit still gets its own `X-Request-Id`, `Server-Timing` (0 round trips),
 * security and CORS headers.
 */
const catalogCache = createMiddleware<AppEnv>(async (c, next) => {
	if (c.req.header("Authorization") !== undefined) return next();
	const cache = caches.default;
	const key = cacheKey(c.req.url);
	const ifNoneMatch = c.req.header("If-None-Match");

	if (!validBookmark(c.req.header(BOOKMARK_HEADER))) {
		const hit = await cache.match(key);
		const etag = hit?.headers.get("ETag");
		if (hit && etag) {
			if (matchesIfNoneMatch(ifNoneMatch, etag)) {
				await hit.body?.cancel();
				return c.body(null, 304, catalogHeaders(etag, null));
			}
			return c.body(await hit.arrayBuffer(), 200, catalogHeaders(etag, hit.headers.get("Content-Type")));
		}
	}

	await next();
	if (c.res.status !== 200) return;
	const body = await c.res.arrayBuffer();
	const contentType = c.res.headers.get("Content-Type");
	const etag = await etagOf(body);
	const stored = new Response(body, { status: 200, headers: catalogHeaders(etag, contentType) });
	await afterResponse(
		c,
		cache
			.put(key, stored)
			.catch((err) => logEvent("warn", "cache_put_failed", { error: describeError(err) })),
	);
	const headers = new Headers(c.res.headers);
	for (const [name, value] of Object.entries(catalogHeaders(etag, contentType))) headers.set(name, value);
	// Replace, not merge: the handler's response is consumed, this one is the same body with the cache headers.
	c.res = undefined;
	if (matchesIfNoneMatch(ifNoneMatch, etag)) {
		headers.delete("Content-Type");
		headers.delete("Content-Length");
		c.res = new Response(null, { status: 304, headers });
	} else {
		c.res = new Response(body, { status: 200, headers });
	}
});

/** Spread into a public catalog read's `createRoute`: cached as the file comment says. */
export const publicCatalog = { middleware: [catalogCache] };

/** The 304 a conditional catalog read may get, for the route's `responses`. */
export const notModified = {
	304: {
		description: "Not modified: `If-None-Match` named the current `ETag` (no body)",
		headers: cacheHeaders,
	},
} as const;

/**
 * Drops this data center's cached catalog entries a write can name: `GET /books/{id}` of each book given,
 * the unfiltered first page `GET /books`, and `GET /genres`. Awaited before the write answers, so the
 * writer's next read here is fresh; a failure is logged, never the write's (it has committed; the TTL
 * bounds the staleness).
 */
export async function forgetCatalog(c: Context<AppEnv>, bookIds: readonly number[] = []): Promise<void> {
	const origin = new URL(c.req.url).origin;
	const paths = ["/books", "/genres", ...bookIds.map((id) => `/books/${id}`)];
	try {
		await Promise.all(paths.map((path) => caches.default.delete(cacheKey(`${origin}${path}`))));
	} catch (err) {
		logEvent("warn", "cache_delete_failed", { error: describeError(err) });
	}
}
