import { describe, expect, it } from "vitest";
import { api, createAdmin, createUser, d1RoundTrips, expectError, login, unique } from "./helpers";

describe("GET /admin/users", () => {
	it("lists users by id with keyset pages and an email search", async () => {
		const admin = await createAdmin();
		const tag = unique("search").toLowerCase();
		const made = [];
		for (let i = 0; i < 5; i++) made.push(await createUser({ email: `${tag}-${i}@example.com` }));
		const seen: number[] = [];
		let cursor: string | null = null;
		do {
			const query: string = `/admin/users?q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
			const res = await api("GET", query, { token: admin.token });
			expect(res.status).toBe(200);
			expect(res.body.items.length).toBeLessThanOrEqual(2);
			expect(d1RoundTrips(res)).toBe(1);
			seen.push(...res.body.items.map((u: { id: number }) => u.id));
			cursor = res.body.next_cursor;
		} while (cursor);
		expect(seen).toEqual(made.map((u) => u.id));
	});

	it("treats LIKE wildcards in q literally", async () => {
		const admin = await createAdmin();
		const tag = unique("wild").toLowerCase();
		const underscore = await createUser({ email: `${tag}-a_b@example.com` });
		// Would match "a_b" if "_" were a wildcard.
		await createUser({ email: `${tag}-axb@example.com` });
		const search = async (q: string) => {
			const res = await api("GET", `/admin/users?q=${encodeURIComponent(q)}`, { token: admin.token });
			expect(res.status).toBe(200);
			return res.body.items.map((u: { id: number }) => u.id);
		};
		expect(await search(`${tag}-a_b`)).toEqual([underscore.id]);
		expect(await search("%")).toEqual([]);
		expect(await search(`${tag}%`)).toEqual([]);
	});

	it.each([
		"limit=0",
		"limit=101",
		"limit=abc",
		"limit=1.5",
		// Numbers only as digits, as every id in a query: no hex, exponent, sign or padding.
		"limit=0x10",
		"limit=1e1",
		"limit=%2B5",
		"limit=%2016",
		"limit=05",
		"limit=",
		"cursor=not-a-cursor",
		"cursor=eyJpZCI6LTF9",
	])("rejects %s with 422", async (query) => {
		const admin = await createAdmin();
		expectError(await api("GET", `/admin/users?${query}`, { token: admin.token }), 422, "VALIDATION_ERROR");
	});
});

describe("PATCH /admin/users/{id}", () => {
	it("promotes a user, whose next request is an admin's (role re-checked in D1)", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		expectError(await api("GET", "/admin/users", { token: user.token }), 403, "AUTH_FORBIDDEN");
		const res = await api("PATCH", `/admin/users/${user.id}`, {
			token: admin.token,
			body: { role: "admin" },
		});
		expect(res.status).toBe(200);
		expect(res.body.role).toBe("admin");
		expect((await api("GET", "/admin/users", { token: user.token })).status).toBe(200);
	});

	it("demotes an admin, whose unexpired token loses admin rights at once", async () => {
		const admin = await createAdmin();
		const other = await createAdmin();
		await api("PATCH", `/admin/users/${other.id}`, { token: admin.token, body: { role: "user" } });
		expectError(await api("GET", "/admin/users", { token: other.token }), 403, "AUTH_FORBIDDEN");
	});

	it("reactivates a deactivated user, whose tokens from before stay dead (a new login works)", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		const res = await api("PATCH", `/admin/users/${user.id}`, {
			token: admin.token,
			body: { is_active: true },
		});
		expect(res.body.is_active).toBe(true);
		expectError(await api("GET", "/users/me", { token: user.token }), 401, "AUTH_INVALID_TOKEN");
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: user.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		const fresh = await login(user.email);
		expect((await api("GET", "/users/me", { token: fresh.access_token })).status).toBe(200);
	});

	it("refuses an admin deactivating or demoting itself (409 ADMIN_SELF_MODIFICATION)", async () => {
		const admin = await createAdmin();
		const path = `/admin/users/${admin.id}`;
		expectError(
			await api("PATCH", path, { token: admin.token, body: { is_active: false } }),
			409,
			"ADMIN_SELF_MODIFICATION",
			"is_active",
		);
		expectError(
			await api("PATCH", path, { token: admin.token, body: { role: "user" } }),
			409,
			"ADMIN_SELF_MODIFICATION",
			"role",
		);
		const unchanged = await api("PATCH", path, {
			token: admin.token,
			body: { role: "admin", is_active: true },
		});
		expect(unchanged.body).toMatchObject({ role: "admin", is_active: true });
	});

	it("answers 404 USER_NOT_FOUND for an unknown id and 422 for a bad one", async () => {
		const admin = await createAdmin();
		expectError(
			await api("PATCH", "/admin/users/999999", { token: admin.token, body: { is_active: false } }),
			404,
			"USER_NOT_FOUND",
		);
		expectError(
			await api("PATCH", "/admin/users/999999", { token: admin.token, body: {} }),
			404,
			"USER_NOT_FOUND",
		);
		for (const id of ["abc", "0", "-1", "1.5", "1%20OR%201=1"]) {
			expectError(
				await api("PATCH", `/admin/users/${id}`, { token: admin.token, body: { role: "user" } }),
				422,
				"VALIDATION_ERROR",
				"id",
			);
		}
	});

	it("rejects wrong types and unknown roles (422) and ignores unknown fields", async () => {
		const admin = await createAdmin();
		const user = await createUser();
		const path = `/admin/users/${user.id}`;
		expectError(
			await api("PATCH", path, { token: admin.token, body: { is_active: "false" } }),
			422,
			"VALIDATION_ERROR",
			"is_active",
		);
		expectError(
			await api("PATCH", path, { token: admin.token, body: { role: "root" } }),
			422,
			"VALIDATION_ERROR",
			"role",
		);
		const res = await api("PATCH", path, {
			token: admin.token,
			body: { email: "hijack@example.com", id: 1 },
		});
		expect(res.body.email).toBe(user.email);
	});
});

describe("every admin route is refused to non-admins", () => {
	const adminRoutes: [string, string, unknown?][] = [
		["GET", "/admin/users"],
		["PATCH", "/admin/users/1", { role: "admin" }],
		["POST", "/genres", { name: "Forbidden" }],
		["POST", "/books", { title: "T", author: "A", price: 1 }],
		["PATCH", "/books/1", { title: "T" }],
		["DELETE", "/books/1"],
		["PATCH", "/books/1/stock", { quantity: 5 }],
		["GET", "/admin/prebooks/demand"],
		["GET", "/admin/restocks"],
		["POST", "/admin/restocks/1/replay"],
		["GET", "/admin/orders"],
	];

	it.each(adminRoutes)(
		"%s %s: 401 anonymous, 403 user, 403 deactivated admin",
		async (method, path, body) => {
			const user = await createUser();
			const admin = await createAdmin();
			const deactivatedAdmin = await createAdmin();
			await api("PATCH", `/admin/users/${deactivatedAdmin.id}`, {
				token: admin.token,
				body: { is_active: false },
			});
			expectError(await api(method, path, { body }), 401, "AUTH_REQUIRED");
			expectError(await api(method, path, { body, token: user.token }), 403, "AUTH_FORBIDDEN");
			expectError(
				await api(method, path, { body, token: deactivatedAdmin.token }),
				403,
				"AUTH_ACCOUNT_DEACTIVATED",
			);
		},
	);
});
