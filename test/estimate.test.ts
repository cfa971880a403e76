/**
 * Wait estimates (API.md, Pre-bookings rule 12) and the expected supply they come from
 * (`/admin/books/{id}/inbound`).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	prebookAll,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const DAY = 24 * 60 * 60 * 1000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const addInbound = (bookId: number, quantity: number, expectedAt: string) =>
	api("POST", `/admin/books/${bookId}/inbound`, {
		token: admin.token,
		body: { quantity, expected_at: expectedAt },
	});
const estimateOf = async (reader: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: reader.token })).body.estimate;

describe("estimates", () => {
	it("from the expected supply: each reader's p50 is the delivery that covers their place", async () => {
		const [first, second] = [await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" });
		const [firstId, secondId] = (await prebookAll([first, second], book.id)) as [number, number];
		const soon = inDays(7);
		const later = inDays(30);
		expect((await addInbound(book.id, 1, soon)).body).toMatchObject({
			book_id: book.id,
			quantity: 1,
			received_at: null,
		});
		await addInbound(book.id, 1, later);

		expect(await estimateOf(first, firstId)).toEqual({
			expected_by: { p50: soon, p90: soon },
			basis: "inbound",
			ahead: { active: 0, passed_over: 0 },
		});
		const mine = await estimateOf(second, secondId);
		expect(mine).toEqual({
			expected_by: { p50: later, p90: later },
			basis: "inbound",
			ahead: { active: 1, passed_over: 0 },
		});
		const page = await api("GET", "/prebooks", { token: second.token });
		expect(d1RoundTrips(page)).toBe(1);
	});

	it("an overdue shipment promises nothing: the estimate never lies in the past", async () => {
		const reader = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" });
		const [id] = (await prebookAll([reader], book.id)) as [number];
		// Expected two days ago and never received.
		await env.DB.prepare(
			"INSERT INTO inbound_shipments (book_id, quantity, expected_at, created_at) VALUES (?, 3, ?, ?)",
		)
			.bind(book.id, inDays(-2), inDays(-9))
			.run();
		expect(await estimateOf(reader, id)).toMatchObject({ expected_by: null, basis: "none" });
		const later = inDays(20);
		await addInbound(book.id, 1, later);
		expect(await estimateOf(reader, id)).toMatchObject({
			expected_by: { p50: later, p90: later },
			basis: "inbound",
		});
	});

	it("from the book's restock history when the supply does not cover the place, else none", async () => {
		const reader = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const [id] = (await prebookAll([reader], book.id)) as [number];
		expect(await estimateOf(reader, id)).toMatchObject({ expected_by: null, basis: "none" });
		// Two restocks 30 and 10 days ago, two copies each: one every 20 days.
		await env.DB.prepare(
			`INSERT INTO restocks (book_id, quantity_before, quantity_after, reason, created_at)
			 VALUES (?, 0, 2, 'restock', ?), (?, 0, 2, 'restock', ?)`,
		)
			.bind(book.id, inDays(-30), book.id, inDays(-10))
			.run();
		const estimate = await estimateOf(reader, id);
		expect(estimate.basis).toBe("history");
		const p50 = Date.parse(estimate.expected_by.p50);
		expect(p50).toBeGreaterThan(Date.now() + 9 * DAY);
		expect(p50).toBeLessThan(Date.now() + 11 * DAY);
		expect(Date.parse(estimate.expected_by.p90)).toBeGreaterThan(p50);
	});

	it("a restock marks the supply expected up to 7 days after it as received", async () => {
		const reader = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await prebookAll([reader], book.id);
		const near = (await addInbound(book.id, 2, inDays(5))).body;
		const far = (await addInbound(book.id, 2, inDays(20))).body;
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		const items = (await api("GET", `/admin/books/${book.id}/inbound`, { token: admin.token })).body.items;
		expect(items.find((item: { id: number }) => item.id === near.id).received_at).not.toBeNull();
		expect(items.find((item: { id: number }) => item.id === far.id).received_at).toBeNull();
		expect(
			(await api("DELETE", `/admin/books/${book.id}/inbound/${far.id}`, { token: admin.token })).status,
		).toBe(204);
		expectError(
			await api("DELETE", `/admin/books/${book.id}/inbound/${far.id}`, { token: admin.token }),
			404,
			"INBOUND_NOT_FOUND",
		);
	});

	it("validates the expected supply and refuses an unknown book", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		expectError(await addInbound(book.id, 0, inDays(3)), 422, "VALIDATION_ERROR", "quantity");
		expectError(await addInbound(book.id, 100_001, inDays(3)), 422, "VALIDATION_ERROR", "quantity");
		expectError(await addInbound(book.id, 1, "next week"), 422, "VALIDATION_ERROR", "expected_at");
		expectError(await addInbound(999_999, 1, inDays(3)), 404, "BOOK_NOT_FOUND");
		const reader = await createUser();
		expectError(
			await api("GET", `/admin/books/${book.id}/inbound`, { token: reader.token }),
			403,
			"AUTH_FORBIDDEN",
		);
	});
});
