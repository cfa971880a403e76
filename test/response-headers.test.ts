/**
 * The pipeline's headers, every one of them, on representative answers: a public read, the edge cache's hit
 * and 304, a signed-in read, a write, errors raised at each stage of the pipeline, CORS preflights and the
 * docs. Per-request values (ids, timings, bookmarks, tags) are checked by their shape.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { allowedOrigin } from "../src/lib/response-headers";
import { api, createAdmin, createBook } from "./helpers";

const SHAPES: Record<string, RegExp> = {
	"x-request-id": /^[\w=-]+$/,
	"server-timing": /^d1;dur=[\d.]+;desc="\d+",total;dur=[\d.]+;desc="Total Response Time"$/,
	"x-d1-bookmark": /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/,
	etag: /^"[\w-]{22}"$/,
	age: /^\d+$/,
};

/** Every header of a response; per-request values as `<name>` when they have the expected shape. */
function headersOf(res: { headers: Headers }): Record<string, string> {
	const all: Record<string, string> = {};
	for (const [name, value] of res.headers) {
		const shape = SHAPES[name];
		all[name] = shape?.test(value) ? `<${name}>` : value;
	}
	return all;
}

/** On every answer of the Worker. */
const EVERY = {
	"access-control-expose-headers":
		"X-Request-Id,Server-Timing,Retry-After,Idempotent-Replayed,X-D1-Bookmark,ETag",
	"content-security-policy": "default-src 'none'; frame-ancestors 'none'",
	"cross-origin-opener-policy": "same-origin",
	"cross-origin-resource-policy": "same-origin",
	"origin-agent-cluster": "?1",
	"referrer-policy": "no-referrer",
	"server-timing": "<server-timing>",
	"strict-transport-security": "max-age=15552000; includeSubDomains",
	"timing-allow-origin": "*",
	vary: "Origin",
	"x-content-type-options": "nosniff",
	"x-dns-prefetch-control": "off",
	"x-download-options": "noopen",
	"x-frame-options": "SAMEORIGIN",
	"x-permitted-cross-domain-policies": "none",
	"x-request-id": "<x-request-id>",
	"x-xss-protection": "0",
};
const JSON_NO_STORE = { "content-type": "application/json", "cache-control": "no-store" };
const CATALOG = { "cache-control": "public, max-age=30, stale-while-revalidate=60", etag: "<etag>" };
const ORIGIN = "http://localhost:3000";
const FROM_ORIGIN = { Origin: ORIGIN };
const ALLOWED = { "access-control-allow-origin": ORIGIN };
const BOOKMARK = { "x-d1-bookmark": "<x-d1-bookmark>" };
const PREFLIGHT = {
	"access-control-allow-headers":
		"Authorization,Content-Type,Idempotency-Key,X-Request-Id,X-D1-Bookmark,If-None-Match",
	"access-control-allow-methods": "GET,POST,PATCH,DELETE,OPTIONS",
	"access-control-max-age": "600",
	"cache-control": "no-store",
	vary: "Origin, Access-Control-Request-Headers",
};

describe("the pipeline's headers", () => {
	it("on public reads, from D1, from the edge cache and as 304", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const health = await api("GET", "/health");
		expect(headersOf(health)).toEqual({ ...EVERY, ...JSON_NO_STORE, ...BOOKMARK });
		const miss = await api("GET", `/books/${book.id}`, { headers: FROM_ORIGIN });
		expect(headersOf(miss)).toEqual({
			...EVERY,
			...ALLOWED,
			...CATALOG,
			...BOOKMARK,
			"content-type": "application/json",
		});
		const hit = await api("GET", `/books/${book.id}`, { headers: FROM_ORIGIN });
		// A hit says how long ago its entry was stored (`Age`), so a browser's max-age counts from then.
		expect(headersOf(hit)).toEqual({
			...EVERY,
			...ALLOWED,
			...CATALOG,
			"content-type": "application/json",
			age: "<age>",
		});
		const notModified = await api("GET", `/books/${book.id}`, {
			headers: { ...FROM_ORIGIN, "If-None-Match": hit.headers.get("ETag") as string },
		});
		expect(notModified.status).toBe(304);
		expect(headersOf(notModified)).toEqual({ ...EVERY, ...ALLOWED, ...CATALOG, age: "<age>" });
	});

	it("on signed-in reads and writes", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const read = await api("GET", `/books/${book.id}`, { token: admin.token });
		expect(headersOf(read)).toEqual({ ...EVERY, ...JSON_NO_STORE, ...BOOKMARK });
		const me = await api("GET", "/users/me", { token: admin.token, headers: FROM_ORIGIN });
		expect(headersOf(me)).toEqual({ ...EVERY, ...JSON_NO_STORE, ...ALLOWED, ...BOOKMARK });
		const stock = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 4 },
			headers: FROM_ORIGIN,
		});
		expect(stock.status).toBe(200);
		expect(headersOf(stock)).toEqual({ ...EVERY, ...JSON_NO_STORE, ...ALLOWED, ...BOOKMARK });
	});

	it("on errors raised anywhere in the pipeline", async () => {
		const errors = [
			await api("GET", "/nope", { headers: FROM_ORIGIN }),
			await api("GET", "/users/me", { headers: { ...FROM_ORIGIN, Authorization: "Bearer x.y.z" } }),
			await api("POST", "/auth/login", {
				rawBody: JSON.stringify({ pad: "x".repeat(70_000) }),
				headers: FROM_ORIGIN,
			}),
			await api("GET", "/books/abc", { headers: FROM_ORIGIN }),
		];
		expect(errors.map((res) => res.status)).toEqual([404, 401, 413, 422]);
		for (const res of errors) expect(headersOf(res)).toEqual({ ...EVERY, ...JSON_NO_STORE, ...ALLOWED });
	});

	it("on CORS preflights, allowed or not", async () => {
		const allowed = await api("OPTIONS", "/books", {
			headers: { ...FROM_ORIGIN, "Access-Control-Request-Method": "POST" },
		});
		expect(allowed.status).toBe(204);
		expect(headersOf(allowed)).toEqual({ ...EVERY, ...PREFLIGHT, ...ALLOWED });
		const other = await api("OPTIONS", "/books", {
			headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
		});
		expect(other.status).toBe(204);
		expect(headersOf(other)).toEqual({ ...EVERY, ...PREFLIGHT });
	});

	it("on the docs", async () => {
		const docs = await api("GET", "/docs", { headers: FROM_ORIGIN });
		expect(headersOf(docs)).toEqual({
			...EVERY,
			...ALLOWED,
			"cache-control": "no-store",
			"content-type": "text/html; charset=UTF-8",
			"content-security-policy":
				"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		});
		expect(headersOf(await api("GET", "/openapi.json"))).toEqual({ ...EVERY, ...JSON_NO_STORE });
		expect(headersOf(await api("GET", "/"))).toEqual({
			...EVERY,
			"cache-control": "no-store",
			location: "/docs",
		});
	});
});

describe("CORS origins", () => {
	const production = {
		...env,
		ENVIRONMENT: "production",
		APP_URL: "https://shop.example.com",
		API_URL: "https://api.shop.example.com",
		CORS_ORIGINS: "https://shop.example.com",
		ADMIN_EMAILS: "owner@shop.example.com",
		MAIL_FROM: "Bookstore <notifications@shop.example.com>",
	} as Env;
	const local = ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost", "https://[::1]:8443"];
	const notLocal = [
		"http://localhost.evil.example",
		"http://localhost:5173.evil.example",
		"http://127.0.0.2:3000",
		"http://evil.example/http://localhost",
		"null",
	];

	it("in development, allow any localhost or 127.0.0.1 origin, on any port, and nothing else unlisted", async () => {
		for (const origin of local) {
			expect(allowedOrigin(env, origin), origin).toBe(origin);
			const read = await api("GET", "/books", { headers: { Origin: origin } });
			expect(read.headers.get("Access-Control-Allow-Origin"), origin).toBe(origin);
			const preflight = await api("OPTIONS", "/prebooks", {
				headers: { Origin: origin, "Access-Control-Request-Method": "POST" },
			});
			expect(preflight.status).toBe(204);
			expect(preflight.headers.get("Access-Control-Allow-Origin"), origin).toBe(origin);
		}
		for (const origin of notLocal) expect(allowedOrigin(env, origin), origin).toBeNull();
	});

	it("in production, allow only the listed origins: never a local one", () => {
		expect(allowedOrigin(production, "https://shop.example.com")).toBe("https://shop.example.com");
		for (const origin of [...local, ...notLocal, "https://other.example.com"])
			expect(allowedOrigin(production, origin), origin).toBeNull();
	});
});
