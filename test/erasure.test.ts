/**
 * Account erasure (API.md, Privacy): nothing of the person remains anywhere — not in any table, pending email
 * links and login records included — the erased row can never again be active or admin, and its tokens answer
 * 401. The cron purges expired email links and login records. Storage is per test file, so the scans below
 * read every row this file's tests made.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	api,
	buy,
	createAdmin,
	createBook,
	createUser,
	emailedLinkToken,
	expectError,
	login,
	PASSWORD,
	runCron,
	type TestUser,
	unique,
	uniqueEmail,
} from "./helpers";
import { expectInvariants } from "./invariants";
import { registerWebhook } from "./webhooks-helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

/** Every table of the database (sqlite_master), and the ones whose rows contain any of `needles`. */
async function tablesHolding(needles: string[]): Promise<{ scanned: string[]; holding: string[] }> {
	const tables = await env.DB.prepare(
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
	).all<{ name: string }>();
	const scanned: string[] = [];
	const holding: string[] = [];
	for (const { name } of tables.results) {
		const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
		scanned.push(name);
		const text = JSON.stringify(rows.results).toLowerCase();
		for (const needle of needles)
			if (text.includes(needle.toLowerCase())) holding.push(`${name} holds ${JSON.stringify(needle)}`);
	}
	return { scanned, holding };
}

/** Erases the user with its password, from `network`. */
const erase = (user: TestUser, network?: string) =>
	api("DELETE", "/users/me", {
		token: user.token,
		body: { password: PASSWORD },
		headers: network ? { "CF-Connecting-IP": network } : undefined,
	});

describe("DELETE /users/me leaves nothing of the person", () => {
	it("no table holds the erased address, name or client network: pending email links, login records and webhook outbox included", async () => {
		const network = "198.51.100.61";
		const from = { "CF-Connecting-IP": network };
		const email = uniqueEmail("erased").toLowerCase();
		const name = unique("Ada Erasmus");
		const wanted = await createBook(admin.token, { stock_quantity: 0 });
		const shelf = await createBook(admin.token, { stock_quantity: 5 });
		await registerWebhook(admin.token, ["prebook.notified", "prebook.fulfilled", "restock.created"]);

		// A guest link asked for the address from the person's network, never followed (no user id on it).
		expect(
			(await api("POST", "/prebooks/guest", { headers: from, body: { email, book_id: wanted.id } })).status,
		).toBe(202);
		// The account, signed up from here (two sign-up links: the address and the network stay on them), a
		// reset link left pending, a failed login from here and one from elsewhere.
		for (let i = 0; i < 2; i++)
			expect((await api("POST", "/auth/register", { headers: from, body: { email } })).status).toBe(202);
		const registered = await api("POST", "/auth/register/complete", {
			headers: from,
			body: { token: emailedLinkToken(email, "/signup"), password: PASSWORD, full_name: name },
		});
		expect(registered.status).toBe(201);
		expect((await api("POST", "/auth/password/forgot", { headers: from, body: { email } })).status).toBe(202);
		for (const headers of [from, { "CF-Connecting-IP": "203.0.113.77" }])
			expectError(
				await api("POST", "/auth/login", { headers, body: { email, password: "not the password" } }),
				401,
				"AUTH_INVALID_CREDENTIALS",
			);
		// A second failed login from here after the successful one (a success clears its network's failures).
		const tokens = await login(email, PASSWORD, from);
		expectError(
			await api("POST", "/auth/login", { headers: from, body: { email, password: "typo in it" } }),
			401,
			"AUTH_INVALID_CREDENTIALS",
		);
		const person: TestUser = {
			id: registered.body.user.id,
			email,
			token: tokens.access_token,
			refreshToken: tokens.refresh_token,
		};

		// Pre-booked, notified at a restock (webhook events), bought (an order and its fulfilled event),
		// a wishlist and a cart.
		expect(
			(await api("POST", "/prebooks", { token: person.token, headers: from, body: { book_id: wanted.id } }))
				.status,
		).toBe(201);
		await api("PATCH", `/books/${wanted.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		await buy(person, wanted.id);
		await api("POST", "/wishlist", { token: person.token, body: { book_id: shelf.id } });
		await api("POST", "/cart/items", { token: person.token, body: { book_id: shelf.id, quantity: 1 } });
		// A wrong password on the erasure itself leaves a failure on the login ledger, from this network.
		expectError(
			await api("DELETE", "/users/me", {
				token: person.token,
				headers: from,
				body: { password: "nope nope" },
			}),
			401,
			"AUTH_INVALID_CREDENTIALS",
		);
		const before = await tablesHolding([email, name, network]);
		expect(before.holding).toEqual(
			expect.arrayContaining([
				`email_tokens holds ${JSON.stringify(email)}`,
				`email_tokens holds ${JSON.stringify(network)}`,
				`login_attempts holds ${JSON.stringify(email)}`,
				`login_networks holds ${JSON.stringify(network)}`,
				`users holds ${JSON.stringify(name)}`,
			]),
		);

		expect((await erase(person, network)).status).toBe(204);

		const after = await tablesHolding([email, name, network]);
		expect(after.scanned).toEqual(
			expect.arrayContaining(["email_tokens", "login_attempts", "webhook_events", "webhook_deliveries"]),
		);
		expect(after.holding).toEqual([]);
		// Orders stay for accounting, on the anonymous row; webhook payloads name users by id only.
		const order = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE user_id = ?")
			.bind(person.id)
			.first();
		expect(order).toEqual({ n: 1 });
		await expectInvariants();
	});

	it("after erasure the old access token answers 401 AUTH_INVALID_TOKEN (not 403) and the refresh token 401", async () => {
		const reader = await createUser();
		expect((await erase(reader)).status).toBe(204);
		expectError(await api("GET", "/users/me", { token: reader.token }), 401, "AUTH_INVALID_TOKEN");
		expectError(
			await api("POST", "/prebooks", { token: reader.token, body: { book_id: 1 } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: reader.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		// A deactivated (not erased) account still answers 403, as the contract says.
		const deactivated = await createUser();
		await api("PATCH", `/admin/users/${deactivated.id}`, { token: admin.token, body: { is_active: false } });
		expectError(await api("GET", "/users/me", { token: deactivated.token }), 403, "AUTH_ACCOUNT_DEACTIVATED");
	});
});

describe("an erased row can never again be active or admin", () => {
	it("PATCH /admin/users/{id} on an erased account answers 409 USER_ERASED and changes nothing", async () => {
		const reader = await createUser();
		expect((await erase(reader)).status).toBe(204);
		for (const body of [{ is_active: true }, { role: "admin" }, { is_active: true, role: "admin" }]) {
			expectError(
				await api("PATCH", `/admin/users/${reader.id}`, { token: admin.token, body }),
				409,
				"USER_ERASED",
				"id",
			);
		}
		const row = await env.DB.prepare("SELECT is_active, role FROM users WHERE id = ?")
			.bind(reader.id)
			.first();
		expect(row).toEqual({ is_active: 0, role: "user" });
		// A deactivated account that was not erased can still be reactivated.
		const paused = await createUser();
		await api("PATCH", `/admin/users/${paused.id}`, { token: admin.token, body: { is_active: false } });
		const back = await api("PATCH", `/admin/users/${paused.id}`, {
			token: admin.token,
			body: { is_active: true },
		});
		expect(back.status).toBe(200);
		expect(back.body.is_active).toBe(true);
	});
});

describe("the cron purges expired email links and login records", () => {
	it("drops email links past their expiry, login failures outside the window and networks unused for 30 days", async () => {
		const now = Date.now();
		const at = (ms: number) => new Date(now + ms).toISOString();
		const hour = 60 * 60 * 1000;
		const email = uniqueEmail("purged").toLowerCase();
		const user = await createUser();
		const insertLink = (tag: string, created: number, expires: number) =>
			env.DB.prepare(
				`INSERT INTO email_tokens (token_hash, purpose, email, network, created_at, expires_at)
				 VALUES (?, 'guest_prebook', ?, '192.0.2.44', ?, ?)`,
			)
				.bind(unique(tag), email, at(created), at(expires))
				.run();
		await insertLink("expired", -25 * hour, -hour);
		await insertLink("live", -hour, 23 * hour);
		await env.DB.prepare(
			"INSERT INTO login_attempts (email, network, attempted_at) VALUES (?, '192.0.2.44', ?)",
		)
			.bind(email, at(-20 * 60 * 1000))
			.run();
		await env.DB.prepare(
			"INSERT INTO login_networks (user_id, network, token_version, last_login_at) VALUES (?, '192.0.2.44', 0, ?)",
		)
			.bind(user.id, at(-31 * 24 * hour))
			.run();

		await runCron(now);

		const left = await env.DB.prepare(
			`SELECT (SELECT count(*) FROM email_tokens WHERE email = ?1 AND expires_at <= ?2) AS expired_links,
				(SELECT count(*) FROM email_tokens WHERE email = ?1 AND expires_at > ?2) AS live_links,
				(SELECT count(*) FROM login_attempts WHERE email = ?1) AS attempts,
				(SELECT count(*) FROM login_networks WHERE network = '192.0.2.44') AS networks`,
		)
			.bind(email, at(0))
			.first();
		expect(left).toEqual({ expired_links: 0, live_links: 1, attempts: 0, networks: 0 });
	});
});
