import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { testPaymentProvider } from "../src/features/orders/payment";
import {
	api,
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
afterEach(() => {
	vi.restoreAllMocks();
});

const addToCart = (user: TestUser, bookId: unknown, quantity: unknown) =>
	api("POST", "/cart/items", { token: user.token, body: { book_id: bookId, quantity } });
const checkout = (user: TestUser, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
	api("POST", "/orders/checkout", { token: user.token, body, headers });
const stockOf = async (bookId: number) => (await api("GET", `/books/${bookId}`)).body.stock_quantity;
const cartOf = async (user: TestUser) => (await api("GET", "/cart", { token: user.token })).body;

describe("wishlist", () => {
	it("adds, lists newest first with book details, and removes", async () => {
		const user = await createUser();
		const first = await createBook(admin.token, { price: "9.90", stock_quantity: 0 });
		const second = await createBook(admin.token);
		const added = await api("POST", "/wishlist", { token: user.token, body: { book_id: first.id } });
		expect(added.status).toBe(201);
		expect(added.body).toEqual({
			book_id: first.id,
			book_title: first.title,
			book_author: "Test Author",
			price: "9.90",
			stock_quantity: 0,
			added_at: expect.stringMatching(/Z$/),
		});
		expect(d1RoundTrips(added)).toBe(1);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: second.id } });
		const list = await api("GET", "/wishlist", { token: user.token });
		expect(list.body.items.map((i: { book_id: number }) => i.book_id)).toEqual([second.id, first.id]);
		expect(list.body.next_cursor).toBeNull();
		const third = await createBook(admin.token);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: third.id } });
		const page = await api("GET", "/wishlist?limit=2", { token: user.token });
		expect(page.body.items.map((i: { book_id: number }) => i.book_id)).toEqual([third.id, second.id]);
		const rest = await api("GET", `/wishlist?limit=2&cursor=${page.body.next_cursor}`, { token: user.token });
		expect(rest.body).toMatchObject({
			items: [expect.objectContaining({ book_id: first.id })],
			next_cursor: null,
		});
		await api("DELETE", `/wishlist/${third.id}`, { token: user.token });
		expect((await api("DELETE", `/wishlist/${first.id}`, { token: user.token })).status).toBe(204);
		expect((await api("GET", "/wishlist", { token: user.token })).body.items).toHaveLength(1);
	});

	it("refuses duplicates (409), unknown books (404) and removing what is not there (404)", async () => {
		const user = await createUser();
		const other = await createUser();
		const book = await createBook(admin.token);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: book.id } });
		expectError(
			await api("POST", "/wishlist", { token: user.token, body: { book_id: book.id } }),
			409,
			"WISHLIST_ITEM_DUPLICATE",
			"book_id",
		);
		expectError(
			await api("POST", "/wishlist", { token: user.token, body: { book_id: 999999 } }),
			404,
			"BOOK_NOT_FOUND",
		);
		expectError(
			await api("DELETE", `/wishlist/${book.id}`, { token: other.token }),
			404,
			"WISHLIST_ITEM_NOT_FOUND",
		);
		expectError(
			await api("DELETE", "/wishlist/abc", { token: user.token }),
			422,
			"VALIDATION_ERROR",
			"book_id",
		);
		expectError(await api("GET", "/wishlist"), 401, "AUTH_REQUIRED");
	});
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
		expect((await api("DELETE", `/cart/items/${lineId}`, { token: user.token })).status).toBe(204);
		expectError(
			await api("DELETE", `/cart/items/${lineId}`, { token: user.token }),
			404,
			"CART_ITEM_NOT_FOUND",
		);
		expect((await cartOf(user)).items).toEqual([]);
	});
});

describe("checkout", () => {
	it("confirms an order: stock decremented, prices snapshotted, cart emptied", async () => {
		const user = await createUser();
		const a = await createBook(admin.token, { price: "10.10", stock_quantity: 5 });
		const b = await createBook(admin.token, { price: "0.20", stock_quantity: 2 });
		await addToCart(user, a.id, 3);
		await addToCart(user, b.id, 1);
		const res = await checkout(user, { payment_token: "tok_visa" });
		expect(res.status).toBe(201);
		expect(res.body).toEqual({
			id: expect.any(Number),
			status: "confirmed",
			total: "30.50",
			items: [
				{ book_id: a.id, title: a.title, unit_price: "10.10", quantity: 3 },
				{ book_id: b.id, title: b.title, unit_price: "0.20", quantity: 1 },
			],
			created_at: expect.stringMatching(/Z$/),
		});
		expect(d1RoundTrips(res)).toBe(2);
		expect([await stockOf(a.id), await stockOf(b.id)]).toEqual([2, 1]);
		expect((await cartOf(user)).items).toEqual([]);
		// The order keeps what was paid even when the book changes later.
		await api("PATCH", `/books/${a.id}`, { token: admin.token, body: { price: "99.00", title: "Renamed" } });
		const order = await api("GET", `/orders/${res.body.id}`, { token: user.token });
		expect(order.body).toEqual(res.body);
		await vi.waitFor(async () => {
			const status = await env.DB.prepare("SELECT status FROM payments WHERE order_id = ?")
				.bind(res.body.id)
				.first("status");
			expect(status).toBe("captured");
		});
	});

	it("answers 409 CART_EMPTY for an empty cart", async () => {
		const user = await createUser();
		expectError(await checkout(user), 409, "CART_EMPTY", null);
	});

	it("records a payment_failed order for tok_fail and leaves stock and cart untouched", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { price: "12.00", stock_quantity: 3 });
		await addToCart(user, book.id, 2);
		const res = await checkout(user, { payment_token: "tok_fail" });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ status: "payment_failed", total: "24.00" });
		expect(await stockOf(book.id)).toBe(3);
		expect((await cartOf(user)).items).toHaveLength(1);
		const payment = await env.DB.prepare("SELECT status FROM payments WHERE order_id = ?")
			.bind(res.body.id)
			.first("status");
		expect(payment).toBe("declined");
		// The same cart can then be bought with a working card.
		expect((await checkout(user, { payment_token: "tok_visa" })).body.status).toBe("confirmed");
	});

	it("a multi-line cart with one short line changes nothing (409 naming the book)", async () => {
		const user = await createUser();
		const fine = await createBook(admin.token, { stock_quantity: 5 });
		const short = await createBook(admin.token, { stock_quantity: 3 });
		await addToCart(user, fine.id, 2);
		await addToCart(user, short.id, 3);
		await api("PATCH", `/books/${short.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		const res = await checkout(user);
		expectError(res, 409, "INSUFFICIENT_STOCK", `book_id:${short.id}`);
		expect(res.body.detail).toContain(short.title);
		expect([await stockOf(fine.id), await stockOf(short.id)]).toEqual([5, 2]);
		expect((await cartOf(user)).items).toHaveLength(2);
		expect((await api("GET", "/orders", { token: user.token })).body.items).toEqual([]);
	});

	it("rolls the whole batch back when a line runs short after payment authorization, and voids it", async () => {
		const user = await createUser();
		const fine = await createBook(admin.token, { stock_quantity: 5 });
		const contested = await createBook(admin.token, { stock_quantity: 1 });
		await addToCart(user, fine.id, 2);
		await addToCart(user, contested.id, 1);
		// Another buyer takes the last copy while the payment is being authorized.
		const authorize = testPaymentProvider.authorize.bind(testPaymentProvider);
		vi.spyOn(testPaymentProvider, "authorize").mockImplementation(async (input) => {
			await env.DB.prepare("UPDATE books SET stock_quantity = 0 WHERE id = ?").bind(contested.id).run();
			return authorize(input);
		});
		const voided = vi.spyOn(testPaymentProvider, "void");
		const captured = vi.spyOn(testPaymentProvider, "capture");
		const res = await checkout(user);
		expectError(res, 409, "INSUFFICIENT_STOCK", `book_id:${contested.id}`);
		expect(voided).toHaveBeenCalledTimes(1);
		expect(captured).not.toHaveBeenCalled();
		expect(await stockOf(fine.id)).toBe(5);
		expect((await cartOf(user)).items).toHaveLength(2);
		const orders = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE user_id = ?")
			.bind(user.id)
			.first("n");
		expect(orders).toBe(0);
	});

	it("keeps a committed order when the capture fails, leaving the payment authorized for reconciliation", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 2 });
		await addToCart(user, book.id, 1);
		vi.spyOn(testPaymentProvider, "capture").mockRejectedValue(new Error("provider timeout"));
		const voided = vi.spyOn(testPaymentProvider, "void");
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const res = await checkout(user);
		expect(res.status).toBe(201);
		expect(res.body.status).toBe("confirmed");
		expect(voided).not.toHaveBeenCalled();
		expect(await stockOf(book.id)).toBe(1);
		const payment = await env.DB.prepare("SELECT status FROM payments WHERE order_id = ?")
			.bind(res.body.id)
			.first("status");
		expect(payment).toBe("authorized");
		expect(errors.mock.calls.flat().join("\n")).toContain("checkout_capture_failed");
	});

	it("10 concurrent checkouts of the last copy: exactly one confirmed, the rest 409, stock 0", async () => {
		const book = await createBook(admin.token, { stock_quantity: 1 });
		const buyers = await Promise.all(Array.from({ length: 10 }, () => createUser()));
		for (const buyer of buyers) await addToCart(buyer, book.id, 1);
		const results = await Promise.all(buyers.map((buyer) => checkout(buyer)));
		expect(results.filter((r) => r.status === 201 && r.body.status === "confirmed")).toHaveLength(1);
		const refused = results.filter((r) => r.status === 409);
		expect(refused).toHaveLength(9);
		for (const r of refused) expect(r.body.code).toBe("INSUFFICIENT_STOCK");
		expect(await stockOf(book.id)).toBe(0);
	});

	it("50 concurrent checkouts against stock 5: exactly 5 orders, never oversold", async () => {
		const book = await createBook(admin.token, { stock_quantity: 5 });
		const buyers = await Promise.all(Array.from({ length: 50 }, () => createUser()));
		for (const buyer of buyers) await addToCart(buyer, book.id, 1);
		const results = await Promise.all(buyers.map((buyer) => checkout(buyer)));
		expect(results.filter((r) => r.status === 201)).toHaveLength(5);
		expect(results.filter((r) => r.status === 409)).toHaveLength(45);
		expect(await stockOf(book.id)).toBe(0);
		const sold = await env.DB.prepare(
			"SELECT coalesce(sum(quantity), 0) AS n FROM order_items WHERE book_id = ?",
		)
			.bind(book.id)
			.first("n");
		expect(sold).toBe(5);
	});

	it("honours Idempotency-Key: a replay returns the same order and never charges or decrements twice", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		await addToCart(user, book.id, 2);
		const authorize = vi.spyOn(testPaymentProvider, "authorize");
		const key = { "Idempotency-Key": `order-${crypto.randomUUID()}` };
		const first = await checkout(user, {}, key);
		expect(first.status).toBe(201);
		await addToCart(user, book.id, 1); // a later cart change does not alter the replay
		const replay = await checkout(user, {}, key);
		expect(replay.status).toBe(201);
		expect(replay.body).toEqual(first.body);
		expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
		expect(authorize).toHaveBeenCalledTimes(1);
		expect(await stockOf(book.id)).toBe(8);
		// The same key from another user is another order.
		const other = await createUser();
		await addToCart(other, book.id, 1);
		const theirs = await checkout(other, {}, key);
		expect(theirs.body.id).not.toBe(first.body.id);
		expectError(await checkout(user, {}, { "Idempotency-Key": "has space" }), 422, "VALIDATION_ERROR");
	});

	it("concurrent requests with one Idempotency-Key make one order", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		await addToCart(user, book.id, 1);
		const key = { "Idempotency-Key": `same-${crypto.randomUUID()}` };
		const results = await Promise.all(Array.from({ length: 5 }, () => checkout(user, {}, key)));
		expect(results.every((r) => r.status === 201)).toBe(true);
		expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
		expect(await stockOf(book.id)).toBe(9);
	});
});

describe("orders", () => {
	it("lists the caller's orders newest first, hides other users' (404), and pages", async () => {
		const user = await createUser();
		const other = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		const ids: number[] = [];
		for (let i = 0; i < 3; i++) {
			await addToCart(user, book.id, 1);
			ids.push((await checkout(user)).body.id);
		}
		const page = await api("GET", "/orders?limit=2", { token: user.token });
		expect(page.body.items.map((o: { id: number }) => o.id)).toEqual([ids[2], ids[1]]);
		const next = await api("GET", `/orders?limit=2&cursor=${page.body.next_cursor}`, { token: user.token });
		expect(next.body.items.map((o: { id: number }) => o.id)).toEqual([ids[0]]);
		expectError(await api("GET", `/orders/${ids[0]}`, { token: other.token }), 404, "ORDER_NOT_FOUND");
		expect((await api("GET", "/orders", { token: other.token })).body.items).toEqual([]);
	});

	it("GET /admin/orders lists everyone's orders for admins only, filterable", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 10 });
		await addToCart(user, book.id, 1);
		const order = (await checkout(user)).body;
		const res = await api("GET", `/admin/orders?user_id=${user.id}&status=confirmed`, { token: admin.token });
		expect(res.body.items).toEqual([{ ...order, user_id: user.id }]);
		expectError(await api("GET", "/admin/orders", { token: user.token }), 403, "AUTH_FORBIDDEN");
	});
});

describe("deleting a book", () => {
	it("keeps orders (with their snapshot) and drops its cart lines, wishlist entries and pre-bookings", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 3, price: "8.00" });
		await addToCart(user, book.id, 1);
		const order = (await checkout(user)).body;
		await addToCart(user, book.id, 1);
		await api("POST", "/wishlist", { token: user.token, body: { book_id: book.id } });
		expect((await api("DELETE", `/books/${book.id}`, { token: admin.token })).status).toBe(204);
		const kept = await api("GET", `/orders/${order.id}`, { token: user.token });
		expect(kept.body.items).toEqual([{ book_id: null, title: book.title, unit_price: "8.00", quantity: 1 }]);
		expect((await cartOf(user)).items).toEqual([]);
		expect((await api("GET", "/wishlist", { token: user.token })).body.items).toEqual([]);
	});
});

describe("the whole story", () => {
	it("the last copy is sold, a fan pre-books, the admin restocks, the fan is notified and buys it", async () => {
		const buyer = await createUser();
		const fan = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 1, price: "15.00" });
		await addToCart(buyer, book.id, 1);
		expect((await checkout(buyer)).body.status).toBe("confirmed");
		expect(await stockOf(book.id)).toBe(0);

		expectError(await addToCart(fan, book.id, 1), 409, "INSUFFICIENT_STOCK");
		const prebook = await api("POST", "/prebooks", { token: fan.token, body: { book_id: book.id } });
		expect(prebook.body.status).toBe("waiting");

		const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		const published = sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body));
		expect(published).toEqual([expect.objectContaining({ book_id: book.id, user_ids: [fan.id] })]);
		expect((await api("GET", `/prebooks/${prebook.body.id}`, { token: fan.token })).body.status).toBe(
			"notified",
		);

		await addToCart(fan, book.id, 1);
		const order = await checkout(fan);
		expect(order.body).toMatchObject({ status: "confirmed", total: "15.00" });
		expect(await stockOf(book.id)).toBe(1);
	});
});
