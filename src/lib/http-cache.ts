/**
 * HTTP caching of the public catalog (`GET /books`, `GET /books/{id}`, `GET /works`, `GET /works/{id}`,
 * `GET /genres`).
 *
 * - Responses say `Cache-Control: public, max-age=30, stale-while-revalidate=60` (and, answered from the
 *   Worker's cache, `Age`: seconds since the entry was stored) and carry a strong `ETag`
 *   (the first 128 bits of the SHA-256 of the exact body bytes, base64url): equal bodies, equal tags.
 *   `If-None-Match` naming it is answered `304` without a body.
 * - The Worker keeps them in the Cache API (`caches.default`, per data center) under the request's
 *   normalized URL alone (no client header is part of the key): the path and only the query parameters the
 *   route declares, in a fixed (alphabetical) order, so `/books?x=1` and `/books?utm_source=…` are hits of
 *   `/books`, and random parameters cannot fill the cache or reach D1. A hit answers without D1 (0 round
 *   trips). A miss is stored after
 *   the response (`waitUntil`). What is stored is built from an allow-list — body, `Content-Type`,
 *   `Cache-Control`, `ETag` — so per-request headers (`X-Request-Id`, `X-D1-Bookmark`, `Server-Timing`,
 *   CORS) are never stored; a hit gets fresh ones from the pipeline.
 * - A request with a valid access token is never served from, nor stored in, the cache (its answer stays
 *   `no-store`); any other `Authorization` header (`Bearer garbage`) changes nothing, so it cannot send a
 *   read past the cache to D1.
 * - Each entry keeps the D1 bookmark its answer was read at (stored, never served). A request with an
 *   `X-D1-Bookmark` (a client reading its own writes) is answered from the entry when the entry is at least
 *   as fresh as that bookmark; only a newer bookmark reads D1, and what it read replaces the entry only if
 *   it is newer still — so sending bookmarks can neither bypass the cache nor rewrite it at will. D1
 *   bookmarks are fixed-width hex groups that sort oldest to newest as strings (`validBookmark`).
 * - Writes to the catalog `forgetCatalog(...)` the entries they can name: the book's `GET /books/{id}` and
 *   the unfiltered first page `GET /books` (which `/books?x=1` also reads); a new genre `GET /genres`
 *   (`forgetGenres`). Other list URLs (filters, cursors, limits)
 *   and other data centers (a `cache.delete` is local) are bounded by the 30 s TTL (the stored entry carries
 *   `max-age=30` alone: `CATALOG_ENTRY_CACHE_CONTROL`); caches outside the Worker (browsers, proxies) may
 *   add `stale-while-revalidate`: 90 s at worst.
 */
import type { Context, Next } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env.ts";
import { accessTokenClaims } from "./auth.ts";
import { BOOKMARK_HEADER, validBookmark } from "./db.ts";
import { toBase64Url } from "./encoding.ts";
import { describeError } from "./errors.ts";
import { logEvent } from "./log.ts";
import { cacheHeaders } from "./openapi.ts";
import { declaredQueryPairs } from "./text.ts";

const CATALOG_MAX_AGE_SECONDS = 30;
const CATALOG_STALE_WHILE_REVALIDATE_SECONDS = 60;
const CATALOG_CACHE_CONTROL = `public, max-age=${CATALOG_MAX_AGE_SECONDS}, stale-while-revalidate=${CATALOG_STALE_WHILE_REVALIDATE_SECONDS}`;
/**
 * What the Worker's own entry says: fresh for 30 s and no longer. A stored `stale-while-revalidate` lets the
 * Cache API answer an entry up to 90 s old (Miniflare's does) and nothing here revalidates it: clients get
 * the directive, the Worker's cache does not.
 */
const CATALOG_ENTRY_CACHE_CONTROL = `public, max-age=${CATALOG_MAX_AGE_SECONDS}`;

/**
 * The cache key of a catalog read: its path and the parameters its route declares (`params`), decoded as
 * Hono decodes them, in alphabetical order (several values of one name keep their order), re-encoded one
 * way; a URL, which the Cache API matches as a plain GET, so no client header can vary or poison the
 * entry. Parameters the route ignores are dropped: they cannot change the answer. `null` — do not use the cache — when a name or value is not
 * percent-encoded UTF-8: validation refuses that request, and no lossy decoding may map it onto another
 * request's entry.
 */
function catalogCacheKey(url: string, params: readonly string[]): string | null {
	// Without a query the URL is already the key (the runtime hands the request's URL normalized).
	if (!url.includes("?")) return url;
	const { origin, pathname } = new URL(url);
	const kept: [string, string][] = [];
	// A parameter the route does not read cannot change the answer: it is not part of the key.
	for (const [name, value] of declaredQueryPairs(url, params)) {
		if (value === null) return null;
		kept.push([name, value]);
	}
	// A stable sort: the order of names is fixed, the order of one name's values is the request's.
	kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	const query = new URLSearchParams(kept).toString();
	return `${origin}${pathname}${query ? `?${query}` : ""}`;
}

/** A strong ETag of the body: base64url of the first 16 bytes of its SHA-256. */
export async function etagOf(body: ArrayBuffer): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body)).slice(0, 16);
	return `"${toBase64Url(digest)}"`;
}

/** `If-None-Match` (a list of tags, or `*`) names `etag`; compared weakly, as RFC 9110 says for GET. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
	if (!header) return false;
	const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
	return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

/** Where an entry keeps the bookmark its answer was read at: stored, never part of a response. */
const ENTRY_BOOKMARK = "X-Catalog-Read-At";
/** Where an entry keeps when it was stored (ms since the epoch): a hit's `Age` (stored, never sent itself). */
const ENTRY_STORED_AT = "X-Catalog-Stored-At";

/**
 * `Age` of an answer from the Worker's cache: how long ago the entry was stored, so a browser or proxy counts
 * its `max-age` and `stale-while-revalidate` from when the answer was read, not from when it got it — a
 * page is then at most 90 s old anywhere, as the file comment says.
 */
function ageOf(entry: Response): Record<string, string> {
	const stored = Number(entry.headers.get(ENTRY_STORED_AT));
	return Number.isFinite(stored) && stored > 0
		? { Age: String(Math.max(0, Math.floor((Date.now() - stored) / 1000))) }
		: {};
}

/** `bookmark` is later than `than` (null: no bookmark, older than any); both as `validBookmark` returns them. */
const isNewer = (bookmark: string | null, than: string | null) =>
	bookmark !== null && (than === null || bookmark > than);

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
 * Route middleware for the public catalog reads (spread `...publicCatalog(query)` into `createRoute`). Runs after
 * the pipeline's middleware, so a hit still gets its own `X-Request-Id`, `Server-Timing` (0 round trips),
 * security and CORS headers.
 */
const catalogCache = (params: readonly string[]) =>
	createMiddleware<AppEnv>((c, next) => cachedCatalogRead(c, next, params));

async function cachedCatalogRead(c: Context<AppEnv>, next: Next, params: readonly string[]) {
	if (c.req.header("Authorization") && (await accessTokenClaims(c)) !== null) return next();
	const key = catalogCacheKey(c.req.url, params);
	if (key === null) return next();
	const cache = caches.default;
	const ifNoneMatch = c.req.header("If-None-Match");

	const sent = validBookmark(c.req.header(BOOKMARK_HEADER));
	const hit = await cache.match(key);
	const etag = hit?.headers.get("ETag");
	const entryReadAt = validBookmark(hit?.headers.get(ENTRY_BOOKMARK));
	if (hit && etag && !isNewer(sent, entryReadAt)) {
		if (matchesIfNoneMatch(ifNoneMatch, etag)) {
			await hit.body?.cancel();
			return c.body(null, 304, { ...catalogHeaders(etag, null), ...ageOf(hit) });
		}
		// The entry's body as it streams from the cache: the runtime passes it on, no copy through JavaScript.
		return c.body(hit.body ?? "", 200, {
			...catalogHeaders(etag, hit.headers.get("Content-Type")),
			...ageOf(hit),
		});
	}
	await hit?.body?.cancel();

	await next();
	if (c.res.status !== 200) return;
	const body = await c.res.arrayBuffer();
	const contentType = c.res.headers.get("Content-Type");
	// The session reports the newest bookmark it knows, which may be the client's own (even a forged one
	// "from the future"): only a bookmark D1 answered with is kept, so no client can pin an entry.
	const sessionAt = validBookmark(c.get("d1Session").getBookmark());
	const readAt = sessionAt === sent ? null : sessionAt;
	const fresh = await etagOf(body);
	if (!hit || isNewer(readAt, entryReadAt)) {
		const stored = new Response(body, {
			status: 200,
			headers: {
				...catalogHeaders(fresh, contentType),
				"Cache-Control": CATALOG_ENTRY_CACHE_CONTROL,
				[ENTRY_STORED_AT]: String(Date.now()),
				...(readAt ? { [ENTRY_BOOKMARK]: readAt } : {}),
			},
		});
		await afterResponse(
			c,
			cache
				.put(key, stored)
				.catch((err) => logEvent("warn", "cache_put_failed", { error: describeError(err) })),
		);
	}
	const headers = new Headers(c.res.headers);
	for (const [name, value] of Object.entries(catalogHeaders(fresh, contentType))) headers.set(name, value);
	// Replace, not merge: the handler's response is consumed, this one is the same body with the cache headers.
	c.res = undefined;
	if (matchesIfNoneMatch(ifNoneMatch, fresh)) {
		headers.delete("Content-Type");
		headers.delete("Content-Length");
		c.res = new Response(null, { status: 304, headers });
	} else {
		c.res = new Response(body, { status: 200, headers });
	}
}

/**
 * Spread into a public catalog read's `createRoute` with the route's query schema, if it has one
 * (`...publicCatalog(query)`): cached as the file comment says, keyed on that schema's parameters.
 */
export const publicCatalog = (query?: { shape: Record<string, unknown> }) => ({
	middleware: [catalogCache(Object.keys(query?.shape ?? {}))],
});

/** The 304 a conditional catalog read may get, for the route's `responses`. */
export const notModified = {
	304: {
		description: "Not modified: `If-None-Match` named the current `ETag` (no body)",
		headers: cacheHeaders,
	},
} as const;

/** What a write changed in the catalog: the books and the works whose cached entries must go. */
export interface CatalogChange {
	bookIds: readonly number[];
	workIds: readonly number[];
}

/**
 * Drops this data center's cached catalog entries a write can name: `GET /books/{id}` of each book given
 * and the unfiltered first page `GET /books`; `GET /works/{id}` of each work given and `GET /works` (`GET
 * /genres` holds no book data: `forgetGenres`). A work's editions show their available copies: a restock or
 * a hold does not purge the work's entries (the engine's outcome names books), so those are bounded by the
 * TTL, like the filtered lists. Awaited before the write answers, so the writer's next read here is fresh;
 * a failure is logged, never the write's (it has committed; the TTL bounds the staleness).
 */
export function forgetCatalog(c: Context<AppEnv>, changed: CatalogChange): Promise<void> {
	return forgetCatalogAt(new URL(c.req.url).origin, changed);
}

/** Drops this data center's cached `GET /genres` (a genre was added). */
export function forgetGenres(c: Context<AppEnv>): Promise<void> {
	return forgetEntries(new URL(c.req.url).origin, ["/genres"]);
}

/**
 * `forgetCatalog` under `origin`: for work that has no request (the cron's hold expiries), the API's public
 * URL (API_URL) — the origin clients read the catalog from.
 */
export function forgetCatalogAt(origin: string, { bookIds, workIds }: CatalogChange): Promise<void> {
	const entries = (list: string, ids: readonly number[]) =>
		ids.length > 0 ? [list, ...ids.map((id) => `${list}/${id}`)] : [];
	return forgetEntries(origin, [...entries("/books", bookIds), ...entries("/works", workIds)]);
}

async function forgetEntries(origin: string, paths: readonly string[]): Promise<void> {
	if (paths.length === 0) return;
	try {
		// A read without parameters is stored under its bare URL (`catalogCacheKey` of it is the URL itself).
		await Promise.all(paths.map((path) => caches.default.delete(`${origin}${path}`)));
	} catch (err) {
		logEvent("warn", "cache_delete_failed", { error: describeError(err) });
	}
}
