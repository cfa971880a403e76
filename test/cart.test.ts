import { beforeAll, describe, expect, it } from "vitest";
import {
	addToCart,
	api,
	cartOf,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

describe("cart", () => {
	it("adds lines, merges a repeated book, and totals exactly to the cent (3 × 10.10 + 0.20 = 30.50)", async () => {
		const user = await createUser();
		const tenTen = await createBook(admin.token, { price: "10.10", stock_quantity: 10 });
		const twenty = await createBook(admin.token, { price: 0.2, stock_quantity: 10 });
		await addToCart(user, tenTen.id, 1);
		await addToCart(user, twenty.id, 1);
		const res = await addToCart(user, tenTen.id, 2);
		expect(res.status).toBe(201);
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.body).toEqual({
			items: [
				{
					id: expect.any(Number),
					book_id: tenTen.id,
					book_title: tenTen.title,
					unit_price: "10.10",
					quantity: 3,
					line_total: "30.30",
				},
				{
					id: expect.any(Number),
					book_id: twenty.id,
					book_title: twenty.title,
					unit_price: "0.20",
					quantity: 1,
					line_total: "0.20",
				},
			],
			total: "30.50",
		});
		expect(await cartOf(user)).toEqual(res.body);
	});

	it("shows an empty cart for a new user", async () => {
		const user = await createUser();
		expect(await cartOf(user)).toEqual({ items: [], total: "0.00" });
	});

	it("refuses more copies than the stock (409) and more than 100 per line (422), changing nothing", async () => {
		const user = await createUser();
		const scarce = await createBook(admin.token, { stock_quantity: 2 });
		const plenty = await createBook(admin.token, { stock_quantity: 500 });
		await addToCart(user, scarce.id, 2);
		expectError(await addToCart(user, scarce.id, 1), 409, "INSUFFICIENT_STOCK", "quantity");
		await addToCart(user, plenty.id, 60);
		expectError(await addToCart(user, plenty.id, 41), 422, "VALIDATION_ERROR", "quantity");
		expect((await cartOf(user)).items.map((i: { quantity: number }) => i.quantity)).toEqual([2, 60]);
		expectError(await addToCart(user, 999999, 1), 404, "BOOK_NOT_FOUND", "book_id");
		for (const quantity of [0, 101, 1.5, "2", null]) {
			expectError(await addToCart(user, plenty.id, quantity), 422, "VALIDATION_ERROR", "quantity");
		}
		expect((await cartOf(user)).items.map((i: { quantity: number }) => i.quantity)).toEqual([2, 60]);
	});

	it("changes a line's quantity within the stock and removes lines; other users' lines are 404", async () => {
		const user = await createUser();
		const other = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 5 });
		const cart = await addToCart(user, book.id, 1);
		const lineId = cart.body.items[0].id;
		const changed = await api("PATCH", `/cart/items/${lineId}`, { token: user.token, body: { quantity: 5 } });
		expect(changed.body.items[0].quantity).toBe(5);
		expectError(
			await api("PATCH", `/cart/items/${lineId}`, { token: user.token, body: { quantity: 6 } }),
			409,
			"INSUFFICIENT_STOCK",
		);
		expectError(
			await api("PATCH", `/cart/items/${lineId}`, { token: other.token, body: { quantity: 1 } }),
			404,
			"CART_ITEM_NOT_FOUND",
		);
		expectError(
			await api("DELETE", `/cart/items/${lineId}`, { token: other.token }),
			404,
			"CART_ITEM_NOT_FOUND",
		);
		expect((await cartOf(user)).items).toEqual([expect.objectContaining({ id: lineId, quantity: 5 })]);
		expect((await api("DELETE", `/cart/items/${lineId}`, { token: user.token })).status).toBe(204);
		expectError(
			await api("DELETE", `/cart/items/${lineId}`, { token: user.token }),
			404,
			"CART_ITEM_NOT_FOUND",
		);
		expect((await cartOf(user)).items).toEqual([]);
	});
});
