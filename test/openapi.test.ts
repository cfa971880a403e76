/**
 * The OpenAPI document's quality, beyond `redocly lint` (test-node/openapi-lint.test.ts): operation ids,
 * explicit security, response headers, and error codes that agree with the status table.
 */
import { describe, expect, it } from "vitest";
import { type ErrorCode, errorStatus } from "../src/lib/errors";
import { api } from "./helpers";

interface Operation {
	operationId?: string;
	security?: unknown[];
	responses: Record<
		string,
		{
			headers?: Record<string, unknown>;
			content?: Record<string, { schema: { allOf?: { properties?: { code?: { enum?: string[] } } }[] } }>;
		}
	>;
}

async function operations(): Promise<[string, Operation][]> {
	const res = await api("GET", "/openapi.json");
	expect(res.status).toBe(200);
	return Object.entries(res.body.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
		Object.entries(ops).map(([method, op]): [string, Operation] => [`${method} ${path}`, op]),
	);
}

/** The `code` enum of an error response (the `Error` component with `code` narrowed). */
function codesOf(response: Operation["responses"][string]): string[] | undefined {
	return response.content?.["application/json"]?.schema.allOf?.find((part) => part.properties?.code)
		?.properties?.code?.enum;
}

const PUBLIC = [
	"post /auth/register",
	"post /auth/register/complete",
	"post /auth/password/forgot",
	"post /auth/password/reset",
	"get /signup",
	"post /signup",
	"get /reset-password",
	"post /reset-password",
	"post /auth/login",
	"post /auth/refresh",
	"post /auth/logout",
	"get /books",
	"get /books/{id}",
	"get /books/{id}/page",
	"get /books/{id}/draws",
	"get /books/{id}/draws/{draw_id}/entries",
	"get /genres",
	"get /works",
	"get /works/{id}",
	"get /health",
	"post /prebooks/guest",
	"post /prebooks/guest/confirm",
	"get /prebooks/confirm",
	"post /prebooks/confirm",
	"get /unsubscribe/{token}",
	"post /unsubscribe/{token}",
];

describe("OpenAPI document quality", () => {
	it("gives every operation a unique camelCase operationId", async () => {
		const ops = await operations();
		const ids = ops.map(([, op]) => op.operationId);
		for (const [name, op] of ops) expect(op.operationId, name).toMatch(/^[a-z][a-zA-Z0-9]+$/);
		expect(new Set(ids).size).toBe(ids.length);
		expect(Object.fromEntries(ops.map(([name, op]) => [name, op.operationId]))).toMatchObject({
			"get /books": "listBooks",
			"post /prebooks": "createPrebook",
			"post /orders/checkout": "checkout",
		});
	});

	it("marks public operations `security: []` and the others bearerAuth", async () => {
		for (const [name, op] of await operations()) {
			expect(op.security, name).toEqual(PUBLIC.includes(name) ? [] : [{ bearerAuth: [] }]);
		}
	});

	it("documents X-Request-Id and Server-Timing on every response, Retry-After on every 429", async () => {
		for (const [name, op] of await operations()) {
			for (const [status, response] of Object.entries(op.responses)) {
				const headers = Object.keys(response.headers ?? {});
				expect(headers, `${name} ${status}`).toEqual(
					expect.arrayContaining(["X-Request-Id", "Server-Timing"]),
				);
				if (status === "429") expect(headers, `${name} ${status}`).toContain("Retry-After");
			}
		}
		const byName = Object.fromEntries(await operations());
		expect(Object.keys(byName["post /orders/checkout"]?.responses["201"]?.headers ?? {})).toContain(
			"Idempotent-Replayed",
		);
		for (const name of ["get /books", "get /books/{id}", "get /genres"]) {
			expect(Object.keys(byName[name]?.responses["200"]?.headers ?? {}), name).toEqual(
				expect.arrayContaining(["ETag", "Cache-Control"]),
			);
		}
	});

	it("lists each error response's codes as an enum the status table agrees with", async () => {
		for (const [name, op] of await operations()) {
			for (const [status, response] of Object.entries(op.responses)) {
				if (Number(status) < 400 || !response.content?.["application/json"]) continue;
				const codes = codesOf(response);
				expect(codes?.length, `${name} ${status}`).toBeGreaterThan(0);
				for (const code of codes ?? []) {
					// The one documented exception: an emailed link's bad token is 400, not 401.
					const expected =
						code === "AUTH_INVALID_TOKEN" && status === "400" ? 400 : errorStatus[code as ErrorCode];
					expect(expected, `${name} ${status} ${code}`).toBe(Number(status));
				}
			}
		}
		const byName = Object.fromEntries(await operations());
		expect(codesOf(byName["post /prebooks"]?.responses["409"] ?? {})).toEqual([
			"PREBOOK_BOOK_IN_STOCK",
			"PREBOOK_DUPLICATE",
			"PREBOOK_LIMIT_REACHED",
		]);
		expect(codesOf(byName["get /users/me"]?.responses["401"] ?? {})).toEqual([
			"AUTH_REQUIRED",
			"AUTH_INVALID_TOKEN",
		]);
	});
});
