import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { testPaymentProvider } from "../src/features/orders/payment";
import {
	addToCart,
	api,
	cartOf,
	checkout,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	stockOf,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const paymentStatusOf = (orderId: number) =>
	env.DB.prepare("SELECT status FROM payments WHERE order_id = ?").bind(orderId).first("status");

describe("checkout", () => {
	it("confirms an order: stock decremented, prices snapshotted, cart emptied, payment captured", async () => {
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
		// The capture is recorded after the response; `api` returns once that work is done.
		expect(await paymentStatusOf(res.body.id)).toBe("captured");
		expect([await stockOf(a.id), await stockOf(b.id)]).toEqual([2, 1]);
		expect((await cartOf(user)).items).toEqual([]);
		// The order keeps what was paid even when the book changes later.
		await api("PATCH", `/books/${a.id}`, { token: admin.token, body: { price: "99.00", title: "Renamed" } });
		const order = await api("GET", `/orders/${res.body.id}`, { token: user.token });
		expect(order.body).toEqual(res.body);
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
		expect(await paymentStatusOf(res.body.id)).toBe("declined");
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
		const authorize = vi.spyOn(testPaymentProvider, "authorize");
		const res = await checkout(user);
		expectError(res, 409, "INSUFFICIENT_STOCK", `book_id:${short.id}`);
		expect(res.body.detail).toContain(short.title);
		expect(authorize).not.toHaveBeenCalled();
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

	it("a provider that does not answer is 503 with Retry-After: nothing ordered or charged, no decline counted", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 2 });
		await addToCart(user, book.id, 1);
		const signals: AbortSignal[] = [];
		vi.spyOn(testPaymentProvider, "authorize").mockImplementation(async ({ signal }) => {
			signals.push(signal);
			throw new Error("provider unreachable");
		});
		vi.spyOn(console, "error").mockImplementation(() => {});
		for (let i = 0; i < 4; i++) {
			const res = await checkout(user);
			expectError(res, 503, "SERVICE_UNAVAILABLE");
			expect(res.headers.get("Retry-After")).toBe("30");
		}
		// The provider was given a live deadline to give up by.
		expect(signals.every((signal) => signal instanceof AbortSignal && !signal.aborted)).toBe(true);
		expect(await stockOf(book.id)).toBe(2);
		expect((await api("GET", "/orders", { token: user.token })).body.items).toEqual([]);
		const attempts = await env.DB.prepare(
			"SELECT count(*) AS n, sum(pending) AS pending, sum(declined) AS declined FROM checkout_attempts WHERE user_id = ?",
		)
			.bind(user.id)
			.first();
		expect(attempts).toEqual({ n: 4, pending: 0, declined: 0 });
		// Four outages are no three declines: the provider back, the purchase goes through.
		vi.mocked(testPaymentProvider.authorize).mockRestore();
		const res = await checkout(user);
		expect(res.status).toBe(201);
		expect(res.body.status).toBe("confirmed");
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
		expect(await paymentStatusOf(res.body.id)).toBe("authorized");
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
});
