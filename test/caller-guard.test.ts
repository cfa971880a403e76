import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CALLER_GUARD_REFUSALS } from "../src/lib/db";
import { errorStatus } from "../src/lib/errors";
import { api, createAdmin, createBook, createUser, expectError, unique } from "./helpers";

const activeAdmins = async () =>
	(
		await env.DB.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin' AND is_active = 1").first<{
			n: number;
		}>()
	)?.n ?? 0;

describe("the caller is checked inside the request's transaction", () => {
	it("a deactivated user's write does not commit (403), even with an unexpired token", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		const book = await createBook(admin.token);
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		expectError(
			await api("POST", "/wishlist", { token: user.token, body: { book_id: book.id } }),
			403,
			"AUTH_ACCOUNT_DEACTIVATED",
		);
		const rows = await env.DB.prepare("SELECT count(*) AS n FROM wishlist_items WHERE user_id = ?")
			.bind(user.id)
			.first<{ n: number }>();
		expect(rows?.n).toBe(0);
	});

	it("a demoted admin's admin write does not commit (403 AUTH_FORBIDDEN)", async () => {
		const [boss, demoted] = [await createAdmin(), await createAdmin()];
		await api("PATCH", `/admin/users/${demoted.id}`, { token: boss.token, body: { role: "user" } });
		const name = unique("Genre");
		expectError(
			await api("POST", "/genres", { token: demoted.token, body: { name } }),
			403,
			"AUTH_FORBIDDEN",
		);
		const genre = await env.DB.prepare("SELECT id FROM genres WHERE name = ?").bind(name).first();
		expect(genre).toBeNull();
	});

	it("a token of a user that no longer exists is refused (401)", async () => {
		const user = await createUser();
		await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
		expectError(await api("GET", "/users/me", { token: user.token }), 401, "AUTH_INVALID_TOKEN");
	});

	it("two admins demoting each other in parallel, 50 times, never leave the store without an active admin", async () => {
		// Only these two are admins: the store's other admins are demoted first, so each pair is decisive.
		await env.DB.prepare("UPDATE users SET role = 'user' WHERE role = 'admin'").run();
		const outcomes = new Set<string>();
		for (let round = 0; round < 50; round++) {
			const [a, b] = await Promise.all([createAdmin(), createAdmin()]);
			await env.DB.prepare("UPDATE users SET role = 'user' WHERE role = 'admin' AND id NOT IN (?, ?)")
				.bind(a.id, b.id)
				.run();
			const results = await Promise.all([
				api("PATCH", `/admin/users/${b.id}`, { token: a.token, body: { role: "user" } }),
				api("PATCH", `/admin/users/${a.id}`, { token: b.token, body: { role: "user" } }),
			]);
			outcomes.add(results.map((res) => res.status).join("/"));
			expect(await activeAdmins()).toBeGreaterThanOrEqual(1);
			expect(results.filter((res) => res.status === 200)).toHaveLength(1);
			for (const refused of results.filter((res) => res.status !== 200)) {
				expectError(refused, 403, "AUTH_FORBIDDEN");
			}
		}
		expect([...outcomes].every((outcome) => outcome === "200/403" || outcome === "403/200")).toBe(true);
	});

	it("two admins deactivating each other in parallel leave one active admin", async () => {
		await env.DB.prepare("UPDATE users SET role = 'user' WHERE role = 'admin'").run();
		for (let round = 0; round < 10; round++) {
			const [a, b] = await Promise.all([createAdmin(), createAdmin()]);
			await env.DB.prepare("UPDATE users SET role = 'user' WHERE role = 'admin' AND id NOT IN (?, ?)")
				.bind(a.id, b.id)
				.run();
			const results = await Promise.all([
				api("PATCH", `/admin/users/${b.id}`, { token: a.token, body: { is_active: false } }),
				api("PATCH", `/admin/users/${a.id}`, { token: b.token, body: { is_active: false } }),
			]);
			expect(results.map((res) => res.status).sort()).toEqual([200, 403]);
			expect(await activeAdmins()).toBe(1);
		}
	});
});

describe("the guard's trigger and the code that answers for it", () => {
	it("every refusal the trigger raises is mapped to the contract's answer, and nothing else is", async () => {
		const trigger = await env.DB.prepare(
			"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'caller_guard'",
		).first<{ sql: string }>();
		const raised = new Set([...(trigger?.sql ?? "").matchAll(/caller_guard:([A-Z_]+)/g)].map((m) => m[1]));
		expect([...raised].sort()).toEqual(Object.keys(CALLER_GUARD_REFUSALS).sort());
		for (const [code, refusal] of Object.entries(CALLER_GUARD_REFUSALS)) {
			expect(refusal.code).toBe(code);
			expect(errorStatus[refusal.code]).toBeOneOf([401, 403]);
		}
	});
});

/**
 * A signed-in read checks the caller with a SELECT at the head of its batch (it stays a read, which a replica
 * may serve) and the Worker refuses on its answer; a write keeps the guard's INSERT. Same rules, same answers.
 */
describe("reads check the caller too, with a SELECT", () => {
	it("a deactivated user's read is refused (403), and its write", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		expect((await api("GET", "/wishlist", { token: user.token })).status).toBe(200);
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		for (const path of ["/wishlist", "/users/me", "/prebooks", "/orders"])
			expectError(await api("GET", path, { token: user.token }), 403, "AUTH_ACCOUNT_DEACTIVATED");
		expectError(
			await api("POST", "/wishlist", { token: user.token, body: { book_id: 1 } }),
			403,
			"AUTH_ACCOUNT_DEACTIVATED",
		);
	});

	it("a token from before a deactivation stays refused after the reactivation (401)", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: true } });
		expectError(await api("GET", "/users/me", { token: user.token }), 401, "AUTH_INVALID_TOKEN");
		expectError(await api("DELETE", "/wishlist/1", { token: user.token }), 401, "AUTH_INVALID_TOKEN");
	});

	it("a demoted admin's admin read is refused (403 AUTH_FORBIDDEN), also when it would make no round trip", async () => {
		const [boss, demoted] = [await createAdmin(), await createAdmin()];
		expect((await api("GET", "/admin/users", { token: demoted.token })).status).toBe(200);
		await api("PATCH", `/admin/users/${demoted.id}`, { token: boss.token, body: { role: "user" } });
		expectError(await api("GET", "/admin/users", { token: demoted.token }), 403, "AUTH_FORBIDDEN");
		expectError(await api("GET", "/admin/restocks", { token: demoted.token }), 403, "AUTH_FORBIDDEN");
		// Refused by validation before any round trip: the check alone still answers first.
		expectError(await api("GET", "/admin/users?limit=1000", { token: demoted.token }), 403, "AUTH_FORBIDDEN");
		// Still a user: its own reads work.
		expect((await api("GET", "/users/me", { token: demoted.token })).status).toBe(200);
	});

	it("an erased or deleted account's token is refused (401)", async () => {
		const [erased, deleted] = [await createUser(), await createUser()];
		await env.DB.prepare("UPDATE users SET erased_at = updated_at WHERE id = ?").bind(erased.id).run();
		await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(deleted.id).run();
		for (const user of [erased, deleted]) {
			expectError(await api("GET", "/prebooks", { token: user.token }), 401, "AUTH_INVALID_TOKEN");
			expectError(
				await api("POST", "/wishlist", { token: user.token, body: { book_id: 1 } }),
				401,
				"AUTH_INVALID_TOKEN",
			);
		}
	});
});
