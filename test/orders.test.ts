import { beforeAll, describe, expect, it } from "vitest";
import {
	addToCart,
	api,
	buy,
	checkout,
	createAdmin,
	createBook,
	createUser,
	expectError,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const orderIdsOf = (res: { body: { items: { id: number }[] } }) => res.body.items.map((o) => o.id);

describe("orders", () => {
	it("lists the caller's orders newest first, hides other users' (404), and pages", async () => {
		const user = await createUser();
		const other = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		const ids: number[] = [];
		for (let i = 0; i < 3; i++) ids.push((await buy(user, book.id)).id);
		const page = await api("GET", "/orders?limit=2", { token: user.token });
		expect(orderIdsOf(page)).toEqual([ids[2], ids[1]]);
		const next = await api("GET", `/orders?limit=2&cursor=${page.body.next_cursor}`, { token: user.token });
		expect(orderIdsOf(next)).toEqual([ids[0]]);
		expect(next.body.next_cursor).toBeNull();
		expectError(await api("GET", `/orders/${ids[0]}`, { token: other.token }), 404, "ORDER_NOT_FOUND");
		expect((await api("GET", "/orders", { token: other.token })).body.items).toEqual([]);
	});

	it("GET /admin/orders lists everyone's orders for admins only, filterable by user and status", async () => {
		const alice = await createUser();
		const bob = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		const alices = await buy(alice, book.id);
		await addToCart(bob, book.id, 1);
		const bobsDeclined = (await checkout(bob, { payment_token: "tok_fail" })).body;
		const bobsConfirmed = (await checkout(bob)).body;
		expect([bobsDeclined.status, bobsConfirmed.status]).toEqual(["payment_failed", "confirmed"]);

		const everyone = await api("GET", "/admin/orders?limit=100", { token: admin.token });
		expect(everyone.status).toBe(200);
		expect(everyone.body.items).toEqual(
			expect.arrayContaining([
				{ ...alices, user_id: alice.id },
				{ ...bobsDeclined, user_id: bob.id },
				{ ...bobsConfirmed, user_id: bob.id },
			]),
		);
		const bobs = await api("GET", `/admin/orders?user_id=${bob.id}`, { token: admin.token });
		expect(orderIdsOf(bobs)).toEqual([bobsConfirmed.id, bobsDeclined.id]);
		const confirmed = await api("GET", `/admin/orders?user_id=${bob.id}&status=confirmed`, {
			token: admin.token,
		});
		expect(confirmed.body.items).toEqual([{ ...bobsConfirmed, user_id: bob.id }]);
		const failed = await api("GET", `/admin/orders?user_id=${bob.id}&status=payment_failed`, {
			token: admin.token,
		});
		expect(orderIdsOf(failed)).toEqual([bobsDeclined.id]);
		expectError(await api("GET", "/admin/orders", { token: alice.token }), 403, "AUTH_FORBIDDEN");
	});
});
