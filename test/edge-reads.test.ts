import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { validBookmark } from "../src/lib/db";
import { api, createAdmin, createBook, createUser, recordD1Sessions } from "./helpers";

/** operations.md, "D1 sessions and bookmarks": every request runs on a D1 session and answers its bookmark. */
describe("D1 read replication (Sessions API)", () => {
	it("reads start anywhere, signed in or not, writes on the primary, and every answer has a bookmark", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const sessions = vi.spyOn(env.DB, "withSession");

		const read = await api("GET", `/books/${book.id}?probe=${crypto.randomUUID()}`);
		expect(read.status).toBe(200);
		expect(read.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f-]+$/);
		expect(sessions).toHaveBeenLastCalledWith("first-unconstrained");

		const write = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 7 },
		});
		expect(write.status).toBe(200);
		expect(write.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f-]+$/);
		expect(sessions).toHaveBeenLastCalledWith("first-primary");

		// A signed-in read may start anywhere too: its caller check is a read (test/caller-guard.test.ts).
		const me = await api("GET", "/users/me", { token: admin.token });
		expect(me.status).toBe(200);
		expect(me.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f-]+$/);
		expect(sessions).toHaveBeenLastCalledWith("first-unconstrained");
	});

	it("a request with a bookmark is served through a session built from it (read-your-writes)", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const write = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: 9 },
		});
		const bookmark = write.headers.get("X-D1-Bookmark") as string;
		expect(bookmark).toBeTruthy();

		const sessions = vi.spyOn(env.DB, "withSession");
		const read = await api("GET", `/books/${book.id}`, { headers: { "X-D1-Bookmark": bookmark } });
		expect(read.status).toBe(200);
		expect(read.body.stock_quantity).toBe(9);
		expect(sessions).toHaveBeenCalledTimes(1);
		expect(sessions).toHaveBeenCalledWith(bookmark);
		// The answer's bookmark is the session's latest: never older than the one sent.
		expect((read.headers.get("X-D1-Bookmark") ?? "") >= bookmark).toBe(true);

		const authed = await api("GET", "/users/me", {
			token: admin.token,
			headers: { "X-D1-Bookmark": bookmark },
		});
		expect(authed.status).toBe(200);
		expect(sessions).toHaveBeenLastCalledWith(bookmark);
	});

	it("a garbage or oversized bookmark is ignored, never a 500", async () => {
		const sessions = vi.spyOn(env.DB, "withSession");
		for (const junk of [
			"garbage",
			"<script>",
			"0000-",
			"-00",
			"a".repeat(129),
			`${"0".repeat(8)}-`.repeat(20),
		]) {
			const res = await api("GET", "/genres", { headers: { "X-D1-Bookmark": junk } });
			expect(res.status, junk).toBe(200);
			expect(sessions, junk).toHaveBeenLastCalledWith("first-unconstrained");
			expect(res.headers.get("X-D1-Bookmark"), junk).not.toBe(junk);
		}
		const user = await createUser();
		const res = await api("GET", "/users/me", { token: user.token, headers: { "X-D1-Bookmark": "nope" } });
		expect(res.status).toBe(200);
		expect(sessions).toHaveBeenLastCalledWith("first-unconstrained");
	});

	it("validBookmark accepts D1's shape only", () => {
		expect(validBookmark("00000000-00000011-00000000-00000000000000000000000000000000")).toBe(
			"00000000-00000011-00000000-00000000000000000000000000000000",
		);
		expect(validBookmark(" 0000ABCD-00000001-00000000-0000000000000000000000000000000F ")).toBe(
			"0000abcd-00000001-00000000-0000000000000000000000000000000f",
		);
		// Only D1's fixed-width groups sort as strings: `f-f` would look newer than every real bookmark.
		for (const junk of [
			undefined,
			null,
			"",
			"xyz",
			"00 00",
			"00_00",
			"0".repeat(129),
			"00\n00",
			"f-f",
			"0000abcd-00000001",
		])
			expect(validBookmark(junk)).toBeNull();
	});

	it("CORS lets browsers send and read the bookmark", async () => {
		const preflight = await api("OPTIONS", "/books", {
			headers: {
				Origin: "http://localhost:3000",
				"Access-Control-Request-Method": "GET",
				"Access-Control-Request-Headers": "x-d1-bookmark",
			},
		});
		expect(preflight.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("x-d1-bookmark");
		const read = await api("GET", "/genres", { headers: { Origin: "http://localhost:3000" } });
		expect(read.headers.get("Access-Control-Expose-Headers")?.toLowerCase()).toContain("x-d1-bookmark");
	});
});

/**
 * Every route of the OpenAPI document, with the session kind it asks for and, for the reads, the
 * statements it runs: a `GET`, signed in or not, starts `first-unconstrained` and sends D1 nothing but
 * `SELECT`s (its caller check included), so a replica may answer it; every other method starts on the
 * primary. The calls use ids nothing has, so no write changes anything.
 */
describe("the session kind of every route", () => {
	it("GET anywhere, with reads only; every other method on the primary", async () => {
		const admin = await createAdmin();
		const document = (await api("GET", "/openapi.json")).body as {
			paths: Record<string, Record<string, { security?: unknown[] }>>;
		};
		const sessions = recordD1Sessions();
		const checked: string[] = [];
		for (const [template, operations] of Object.entries(document.paths)) {
			const path = template.replace(/\{[^}]+\}/g, "999999999");
			for (const [method, operation] of Object.entries(operations)) {
				const verb = method.toUpperCase();
				if (!["GET", "POST", "PATCH", "PUT", "DELETE"].includes(verb)) continue;
				sessions.kinds.length = 0;
				sessions.statements.length = 0;
				const signedIn = (operation.security ?? []).length > 0;
				const res = await api(verb, path, {
					token: signedIn ? admin.token : undefined,
					...(verb === "GET" || verb === "DELETE" ? {} : { body: {} }),
				});
				const route = `${verb} ${template} (${res.status})`;
				expect(res.status, route).toBeLessThan(500);
				// The request's own session (test/contract.ts may read /openapi.json after it, through another).
				expect(sessions.kinds[0], route).toBe(verb === "GET" ? "first-unconstrained" : "first-primary");
				if (verb === "GET") {
					const writes = sessions.statements.filter((query) => !/^\s*select\b/i.test(query));
					expect(writes, route).toEqual([]);
					if (signedIn) {
						// The caller check is in the request's batches, as a SELECT (lib/db.ts READ_GUARD_SQL).
						expect(
							sessions.statements.some((query) => query.includes("AS refusal")),
							route,
						).toBe(true);
						expect(sessions.statements.join("\n"), route).not.toContain("caller_guard");
					}
				}
				checked.push(route);
			}
		}
		expect(checked.filter((route) => route.startsWith("GET ")).length).toBeGreaterThan(20);
	});

	it("the insights report, answered, is a read a replica may serve", async () => {
		const admin = await createAdmin();
		const book = await createBook(admin.token);
		const { kinds, statements } = recordD1Sessions();
		const res = await api(
			"GET",
			`/admin/insights/prebooks?from=2026-01-01&to=2026-12-31&book_id=${book.id}`,
			{
				token: admin.token,
			},
		);
		expect(res.status).toBe(200);
		expect(kinds[0]).toBe("first-unconstrained");
		expect(statements.some((query) => query.includes("prebook_daily"))).toBe(true);
		expect(statements.filter((query) => !/^\s*select\b/i.test(query))).toEqual([]);
	});
});
