import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../src/app";
import { api, createAdmin, d1RoundTrips, expectError } from "./helpers";

describe("errors from the pipeline use the contract's envelope", () => {
	it("answers an unknown route with 404 NOT_FOUND", async () => {
		const res = await api("GET", "/no/such/route");
		expectError(res, 404, "NOT_FOUND", null);
		expect(d1RoundTrips(res)).toBe(0);
	});

	it("answers a malformed JSON body with 400 MALFORMED_BODY", async () => {
		const res = await api("POST", "/auth/register", { rawBody: '{"email": "a@b.c", ' });
		expectError(res, 400, "MALFORMED_BODY", null);
	});

	it("answers a body over 64 KiB with 413 PAYLOAD_TOO_LARGE", async () => {
		const res = await api("POST", "/auth/register/complete", {
			body: { token: "t", password: "x".repeat(70 * 1024) },
		});
		expectError(res, 413, "PAYLOAD_TOO_LARGE");
	});

	it("answers a JSON body declared in another charset with 415 (JSON is UTF-8); utf-8 in any spelling is JSON", async () => {
		const body = JSON.stringify({ email: "someone@example.com" });
		for (const charset of ["iso-8859-1", '"latin1"', "utf-16", ""]) {
			const res = await api("POST", "/auth/register", {
				rawBody: body,
				headers: { "Content-Type": `application/json; charset=${charset}` },
			});
			expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
		}
		for (const charset of ["utf-8", "UTF-8", '"utf-8"', "utf8"]) {
			const res = await api("POST", "/auth/register", {
				rawBody: body,
				headers: { "Content-Type": `application/json; charset=${charset}` },
			});
			expect(res.status, charset).toBe(202);
		}
	});

	it("answers a non-JSON content type with 415 UNSUPPORTED_MEDIA_TYPE", async () => {
		const res = await api("POST", "/auth/login", {
			rawBody: "email=a@b.c&password=12345678",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
		});
		expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
	});

	it("lists every validation problem and names the first in field (422)", async () => {
		const res = await api("POST", "/auth/password/reset", { body: { token: 42, password: "short" } });
		expectError(res, 422, "VALIDATION_ERROR", "token");
		expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["token", "password"]);
		expect(res.body.errors.every((e: { detail: string }) => e.detail.length > 0)).toBe(true);
	});

	it("rejects a body that is not an object with 422", async () => {
		const res = await api("POST", "/auth/login", { body: ["a", "b"] });
		expectError(res, 422, "VALIDATION_ERROR");
	});
});

describe("headers on every response", () => {
	it("echoes a sane X-Request-Id and replaces an unsafe one", async () => {
		const echoed = await api("GET", "/health", { headers: { "X-Request-Id": "abc-123_XYZ" } });
		expect(echoed.headers.get("X-Request-Id")).toBe("abc-123_XYZ");
		const replaced = await api("GET", "/health", { headers: { "X-Request-Id": "evil value<script>" } });
		expect(replaced.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
		const fresh = await api("GET", "/nope");
		expect(fresh.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
	});

	it("sets security headers", async () => {
		const res = await api("GET", "/books");
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
		expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
		expect(res.headers.get("Strict-Transport-Security")).toContain("max-age=");
		expect(res.headers.get("X-Frame-Options")).toBe("SAMEORIGIN");
		// Error responses too.
		for (const error of [await api("GET", "/nope"), await api("GET", "/users/me")]) {
			expect(error.status).toBeGreaterThanOrEqual(400);
			expect(error.headers.get("X-Content-Type-Options")).toBe("nosniff");
			expect(error.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
			expect(error.headers.get("X-Request-Id")).toBeTruthy();
			expect(error.headers.get("Server-Timing")).toContain("d1;");
		}
	});

	it("allows only the configured CORS origins", async () => {
		const allowed = await api("GET", "/books", { headers: { Origin: "http://localhost:3000" } });
		expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:3000");
		const other = await api("GET", "/books", { headers: { Origin: "https://evil.example" } });
		expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
		const preflight = await api("OPTIONS", "/books", {
			headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
		});
		expect(preflight.status).toBe(204);
		expect(preflight.headers.get("Access-Control-Allow-Headers")).toContain("Authorization");
	});

	it("reports D1 round trips in Server-Timing", async () => {
		// A query string of its own: a catalog read another test made may be cached (0 round trips).
		const res = await api("GET", `/books?q=${crypto.randomUUID()}`);
		expect(res.headers.get("Server-Timing")).toMatch(/d1;dur=[\d.]+;desc="1"/);
	});
});

describe("operations", () => {
	it("answers /health after a real D1 query", async () => {
		const res = await api("GET", "/health");
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ status: "ok" });
		expect(d1RoundTrips(res)).toBe(1);
	});

	it("publishes an OpenAPI 3.1 document with every route and its error responses", async () => {
		const res = await api("GET", "/openapi.json");
		expect(res.status).toBe(200);
		expect(res.body.openapi).toBe("3.1.0");
		const paths = res.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
		for (const path of [
			"/auth/register",
			"/auth/register/complete",
			"/auth/password/forgot",
			"/auth/password/reset",
			"/signup",
			"/reset-password",
			"/auth/login",
			"/auth/refresh",
			"/auth/logout",
			"/users/me",
			"/admin/users",
			"/admin/users/{id}",
			"/genres",
			"/books",
			"/books/{id}",
			"/books/{id}/stock",
			"/prebooks",
			"/prebooks/{id}",
			"/admin/prebooks/demand",
			"/admin/restocks",
			"/admin/restocks/{id}/replay",
			"/wishlist",
			"/wishlist/{book_id}",
			"/cart",
			"/cart/items",
			"/cart/items/{id}",
			"/orders/checkout",
			"/orders",
			"/orders/{id}",
			"/admin/orders",
			"/health",
		]) {
			expect(Object.keys(paths), path).toContain(path);
		}
		for (const [path, operations] of Object.entries(paths)) {
			for (const [method, operation] of Object.entries(operations)) {
				expect(Object.keys(operation.responses), `${method} ${path}`).toContain("500");
			}
		}
		expect(Object.keys(paths["/admin/users"]?.get?.responses ?? {})).toEqual(
			expect.arrayContaining(["200", "401", "403", "422"]),
		);
		expect(res.body.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
	});
});

describe("configuration and unexpected failures", () => {
	it("refuses to serve without JWT_SECRET and says so in health (never a default secret)", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const withoutSecret = { ...env, JWT_SECRET: "" };
		const health = await app.request("/health", {}, withoutSecret);
		expect(health.status).toBe(503);
		expect(await health.json()).toMatchObject({
			code: "SERVICE_UNAVAILABLE",
			detail: expect.stringContaining("JWT_SECRET"),
		});
		const books = await app.request("/books", {}, withoutSecret);
		expect(books.status).toBe(500);
		expect(await books.json()).toMatchObject({ code: "INTERNAL_ERROR" });
		expect(errors.mock.calls.flat().join("\n")).toContain("JWT_SECRET");
	});

	it("answers 500 INTERNAL_ERROR with nothing internal in the body or the logs", async () => {
		const admin = await createAdmin();
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		// Break the database under the app: the genres table disappears.
		await env.DB.exec("ALTER TABLE genres RENAME TO genres_gone");
		try {
			const res = await api("POST", "/genres", { token: admin.token, body: { name: "Secret Genre Name" } });
			expectError(res, 500, "INTERNAL_ERROR", null);
			const everything = JSON.stringify(res.body) + errors.mock.calls.flat().join("\n");
			for (const leak of [
				"Secret Genre Name",
				"genres_gone",
				"insert into",
				"no such table",
				"params:",
				".ts:",
			]) {
				expect(everything.toLowerCase()).not.toContain(leak.toLowerCase());
			}
			expect(errors).toHaveBeenCalled();
		} finally {
			await env.DB.exec("ALTER TABLE genres_gone RENAME TO genres");
		}
	});
});
