/**
 * ADMIN_LAST (API.md, Admin: users and Privacy): no change may leave the store without an active admin.
 * The paths that can take an active admin away are `PATCH /admin/users/{id}` (a demotion or a
 * deactivation) and `DELETE /users/me` (an admin erasing its own account). Only *active* admins count: a
 * deactivated admin is no admin to fall back on, and changing one takes nobody away.
 *
 * Over HTTP, a PATCH can only meet the rule in a race (its caller is itself an active admin, checked in the
 * same transaction, and may not change itself), which test/caller-guard.test.ts covers; here the service is
 * called directly for what HTTP cannot reach, the service-level refusal itself. Every test starts
 * from a store whose only admins are its own (the file's database is its own).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { updateUser } from "../src/features/users/users.service";
import { createDb } from "../src/lib/db";
import {
	addToCart,
	api,
	cartOf,
	createAdmin,
	createBook,
	createUser,
	expectError,
	PASSWORD,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";

/** Demotes every admin of the file's database: the test's own admins are the only ones. */
const noOtherAdmins = () => env.DB.prepare("UPDATE users SET role = 'user' WHERE role = 'admin'").run();

const activeAdmins = async () =>
	(
		await env.DB.prepare("SELECT id FROM users WHERE role = 'admin' AND is_active = 1 ORDER BY id").all<{
			id: number;
		}>()
	).results.map((row) => row.id);

const erase = (user: TestUser) =>
	api("DELETE", "/users/me", { token: user.token, body: { password: PASSWORD } });

const accountRow = (id: number) =>
	env.DB.prepare("SELECT email, role, is_active FROM users WHERE id = ?").bind(id).first();

describe("DELETE /users/me by an admin", () => {
	it("erases an admin while another active admin remains, then refuses the one left (409 ADMIN_LAST)", async () => {
		await noOtherAdmins();
		const [leaving, staying] = [await createAdmin(), await createAdmin()];
		expect((await erase(leaving)).status).toBe(204);
		expect(await activeAdmins()).toEqual([staying.id]);
		expectError(await api("GET", "/admin/users", { token: leaving.token }), 401, "AUTH_INVALID_TOKEN");
		expect((await api("GET", "/admin/users", { token: staying.token })).status).toBe(200);

		expectError(await erase(staying), 409, "ADMIN_LAST");
		expect(await accountRow(staying.id)).toEqual({ email: staying.email, role: "admin", is_active: 1 });
		expect((await api("GET", "/admin/users", { token: staying.token })).status).toBe(200);
		// Asking again with the right password is no failed guess: it never locks the admin out of login.
		for (let i = 0; i < 11; i++) expectError(await erase(staying), 409, "ADMIN_LAST");
		expect(
			(await api("POST", "/auth/login", { body: { email: staying.email, password: PASSWORD } })).status,
		).toBe(200);
		await expectInvariants();
	});

	it("counts only active admins: with the others deactivated or demoted, the last one is refused and keeps everything", async () => {
		await noOtherAdmins();
		const [last, deactivated, demoted] = [await createAdmin(), await createAdmin(), await createAdmin()];
		// Taking the others away is allowed while `last` remains.
		expect(
			(
				await api("PATCH", `/admin/users/${deactivated.id}`, {
					token: last.token,
					body: { is_active: false },
				})
			).status,
		).toBe(200);
		expect(
			(await api("PATCH", `/admin/users/${demoted.id}`, { token: last.token, body: { role: "user" } }))
				.status,
		).toBe(200);
		// Changing a deactivated admin takes no active admin away either: demote it, promote it back.
		for (const role of ["user", "admin"]) {
			const res = await api("PATCH", `/admin/users/${deactivated.id}`, { token: last.token, body: { role } });
			expect(res.status, JSON.stringify(res.body)).toBe(200);
			expect(res.body).toMatchObject({ role, is_active: false });
		}
		expect(await activeAdmins()).toEqual([last.id]);

		// What the erasure would take: a held copy, a waiting pre-booking, a cart line, a wishlist entry.
		const held = await createBook(last.token, { stock_quantity: 0, allocation: "hold_queue" });
		const next = await createUser();
		const heldId = (await api("POST", "/prebooks", { token: last.token, body: { book_id: held.id } })).body
			.id;
		await api("POST", "/prebooks", { token: next.token, body: { book_id: held.id } });
		await api("PATCH", `/books/${held.id}/stock`, { token: last.token, body: { quantity: 1 } });
		const soldOut = await createBook(last.token, { stock_quantity: 0 });
		const waitingId = (await api("POST", "/prebooks", { token: last.token, body: { book_id: soldOut.id } }))
			.body.id;
		const shelf = await createBook(last.token, { stock_quantity: 3 });
		expect((await addToCart(last, shelf.id, 2)).status).toBe(201);
		expect((await api("POST", "/wishlist", { token: last.token, body: { book_id: shelf.id } })).status).toBe(
			201,
		);

		const refused = await erase(last);
		expectError(refused, 409, "ADMIN_LAST");
		// Nothing of the erasure's batch committed.
		expect(await accountRow(last.id)).toEqual({ email: last.email, role: "admin", is_active: 1 });
		expect((await api("GET", `/prebooks/${heldId}`, { token: last.token })).body.status).toBe("offered");
		expect((await api("GET", `/prebooks/${waitingId}`, { token: last.token })).body.status).toBe("waiting");
		expect((await api("GET", `/books/${held.id}`)).body).toMatchObject({
			held_quantity: 1,
			available_quantity: 0,
		});
		expect((await cartOf(last)).items.map((line: { book_id: number }) => line.book_id)).toEqual([shelf.id]);
		expect((await api("GET", "/wishlist", { token: last.token })).body.items).toHaveLength(1);
		const refreshed = await api("POST", "/auth/refresh", { body: { refresh_token: last.refreshToken } });
		expect(refreshed.status).toBe(200);

		// Reactivating the other admin makes the erasure possible, and the held copy goes to the next in line.
		expect(
			(await api("PATCH", `/admin/users/${deactivated.id}`, { token: last.token, body: { is_active: true } }))
				.status,
		).toBe(200);
		expect((await erase(last)).status).toBe(204);
		expect(await activeAdmins()).toEqual([deactivated.id]);
		expect(
			(await api("GET", "/prebooks?status=offered", { token: next.token })).body.items.map(
				(p: { book_id: number }) => p.book_id,
			),
		).toEqual([held.id]);
		await expectInvariants();
	});

	it("an erased admin is no admin: its anonymous row can never be revived (409 USER_ERASED), so the last real admin cannot erase itself", async () => {
		await noOtherAdmins();
		const [erased, last] = [await createAdmin(), await createAdmin()];
		expect((await erase(erased)).status).toBe(204);
		// Nobody can log in to the erased row: it must never count as the store's active admin again.
		for (const body of [{ is_active: true }, { role: "admin" }, { is_active: true, role: "admin" }])
			expectError(
				await api("PATCH", `/admin/users/${erased.id}`, { token: last.token, body }),
				409,
				"USER_ERASED",
				"id",
			);
		expect(await accountRow(erased.id)).toEqual({
			email: `deleted-user-${erased.id}@invalid`,
			role: "user",
			is_active: 0,
		});
		expectError(await erase(last), 409, "ADMIN_LAST");
		expect(await activeAdmins()).toEqual([last.id]);
		await expectInvariants();
	});

	it("two last admins erasing themselves at once: exactly one is erased, the other gets 409 ADMIN_LAST", async () => {
		for (let round = 0; round < 5; round++) {
			await noOtherAdmins();
			const [a, b] = [await createAdmin(), await createAdmin()];
			const results = await Promise.all([erase(a), erase(b)]);
			expect(results.map((res) => res.status).sort()).toEqual([204, 409]);
			const refused = results.find((res) => res.status === 409);
			expectError(refused as never, 409, "ADMIN_LAST");
			const survivor = results[0]?.status === 409 ? a : b;
			expect(await activeAdmins()).toEqual([survivor.id]);
			expect(await accountRow(survivor.id)).toEqual({ email: survivor.email, role: "admin", is_active: 1 });
			await expectInvariants();
		}
	});

	it("an admin erasing itself while deactivating the only other admin leaves exactly one active admin", async () => {
		const outcomes = new Set<string>();
		for (let round = 0; round < 5; round++) {
			await noOtherAdmins();
			const [a, b] = [await createAdmin(), await createAdmin()];
			const [erased, deactivated] = await Promise.all([
				erase(a),
				api("PATCH", `/admin/users/${b.id}`, { token: a.token, body: { is_active: false } }),
			]);
			outcomes.add(`${erased.status}/${deactivated.status}`);
			if (erased.status === 204) {
				// The erasure went first: `a`'s tokens are no longer valid.
				expectError(deactivated, 401, "AUTH_INVALID_TOKEN");
				expect(await activeAdmins()).toEqual([b.id]);
			} else {
				// The deactivation went first: `a` is now the last active admin.
				expectError(erased, 409, "ADMIN_LAST");
				expect(deactivated.status).toBe(200);
				expect(await activeAdmins()).toEqual([a.id]);
			}
			await expectInvariants();
		}
		expect([...outcomes].every((outcome) => outcome === "204/401" || outcome === "409/200")).toBe(true);
	});
});

describe("PATCH /admin/users/{id}: the rule itself, below the HTTP layer", () => {
	it("refuses demoting or deactivating the last active admin (also both at once), whatever inactive admins exist", async () => {
		await noOtherAdmins();
		const [last, inactive] = [await createAdmin(), await createAdmin()];
		await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(inactive.id).run();
		const db = createDb(env.DB);
		// Actor 0: no admin acting, so nothing but the rule stands between the change and the row.
		for (const patch of [
			{ role: "user" as const },
			{ isActive: false },
			{ role: "user" as const, isActive: false },
		]) {
			await expect(updateUser(db, 0, last.id, patch)).rejects.toMatchObject({
				code: "ADMIN_LAST",
				field: patch.isActive === false ? "is_active" : "role",
			});
		}
		expect(await accountRow(last.id)).toEqual({ email: last.email, role: "admin", is_active: 1 });
		// A change that keeps it an active admin is no removal.
		await expect(updateUser(db, 0, last.id, { role: "admin", isActive: true })).resolves.toMatchObject({
			user: { role: "admin", isActive: true },
		});
		// The inactive admin is not the last *active* one: it may be demoted, and it may come back.
		await expect(updateUser(db, 0, inactive.id, { role: "user" })).resolves.toMatchObject({
			user: { role: "user" },
		});
		await expect(updateUser(db, 0, inactive.id, { role: "admin", isActive: true })).resolves.toMatchObject({
			user: { role: "admin", isActive: true },
		});
		// With a second active admin, the first may go.
		await expect(updateUser(db, 0, last.id, { isActive: false })).resolves.toMatchObject({
			user: { isActive: false },
		});
		expect(await activeAdmins()).toEqual([inactive.id]);
		await expectInvariants();
	});
});
