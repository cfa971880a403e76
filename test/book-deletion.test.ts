import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { PREBOOK_QUEUE_NAME } from "../src/prebook-emails/email-consumer";
import {
	addToCart,
	afterHoldOf,
	api,
	cartOf,
	createAdmin,
	createBook,
	createUser,
	deliver,
	expectError,
	prebookAll,
	runCron,
	sentEmails,
	startFromEmptyStorage,
	stubQueue,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";

// The tests run the cron (relays, expiry sweep), which takes every book's unpublished rounds and lapsed
// holds: each starts from an empty database, so none sweeps or waits on another's.
let admin: TestUser;
beforeEach(async () => {
	await startFromEmptyStorage();
	admin = await createAdmin();
});

const restock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });

/** Rows that still name the book, table by table (a deleted book leaves none behind but order items). */
async function rowsNaming(bookId: number) {
	const counts: Record<string, unknown> = {};
	for (const table of [
		"pre_bookings",
		"offer_rounds",
		"restocks",
		"cart_items",
		"wishlist_items",
		"email_tokens",
	]) {
		counts[table] = (
			await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE book_id = ?`)
				.bind(bookId)
				.first<{ n: number }>()
		)?.n;
	}
	return counts;
}

const noRows = {
	pre_bookings: 0,
	offer_rounds: 0,
	restocks: 0,
	cart_items: 0,
	wishlist_items: 0,
	email_tokens: 0,
};

describe("DELETE /books/{id} of a hold_queue book with held copies and a line", () => {
	it("takes its held and waiting pre-bookings, cart lines and wishlist entries with it, and leaves other books alone", async () => {
		const queue = stubQueue();
		const doomed = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 24,
		});
		const other = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 24,
		});
		const holder = await createUser();
		const secondHolder = await createUser();
		const waiter = await createUser();
		const lastWaiter = await createUser();
		const [held, secondHeld, waiting, lastWaiting] = await prebookAll(
			[holder, secondHolder, waiter, lastWaiter],
			doomed.id,
		);
		// Two of them are in another hold_queue book's line too: the waiter holds a copy there, the holder
		// cancelled and joined again behind it.
		const [otherCancelled, otherHeld] = await prebookAll([holder, waiter], other.id);
		await api("DELETE", `/prebooks/${otherCancelled}`, { token: holder.token });
		const [otherRejoined] = await prebookAll([holder], other.id);
		expect((await restock(other.id, 1)).body).toMatchObject({ held_quantity: 1 });

		const restocked = await restock(doomed.id, 2);
		expect(restocked.body).toMatchObject({ stock_quantity: 2, held_quantity: 2, available_quantity: 0 });
		// The holder puts its held copy in its cart, next to another book; the waiters wish for the book.
		expect((await addToCart(holder, doomed.id, 1)).status).toBe(201);
		const shelf = await createBook(admin.token, { stock_quantity: 5 });
		expect((await addToCart(holder, shelf.id, 2)).status).toBe(201);
		for (const reader of [waiter, lastWaiter]) {
			expect(
				(await api("POST", "/wishlist", { token: reader.token, body: { book_id: doomed.id } })).status,
			).toBe(201);
			expect(
				(await api("POST", "/wishlist", { token: reader.token, body: { book_id: shelf.id } })).status,
			).toBe(201);
		}
		const offerMessages = queue.published().filter((m) => m.book_id === doomed.id);
		expect(offerMessages).toHaveLength(1);
		const otherBefore = await api("GET", `/prebooks/${otherHeld}`, { token: waiter.token });
		expect(otherBefore.body.status).toBe("offered");

		const deleted = await api("DELETE", `/books/${doomed.id}`, { token: admin.token });
		expect(deleted.status).toBe(204);

		// The book is gone everywhere.
		expectError(await api("GET", `/books/${doomed.id}`), 404, "BOOK_NOT_FOUND");
		expectError(await api("DELETE", `/books/${doomed.id}`, { token: admin.token }), 404, "BOOK_NOT_FOUND");
		expectError(await restock(doomed.id, 5), 404, "BOOK_NOT_FOUND");
		expectError(
			await api("GET", `/admin/books/${doomed.id}/prebooks`, { token: admin.token }),
			404,
			"BOOK_NOT_FOUND",
		);
		expectError(
			await api("POST", "/prebooks", { token: waiter.token, body: { book_id: doomed.id } }),
			404,
			"BOOK_NOT_FOUND",
			"book_id",
		);
		const demand = await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token });
		expect(demand.body.items.map((item: { book_id: number }) => item.book_id)).not.toContain(doomed.id);

		// Its readers: the held and the waiting pre-bookings are gone (404 to read or cancel), the others stay.
		for (const [reader, id] of [
			[holder, held],
			[secondHolder, secondHeld],
			[waiter, waiting],
			[lastWaiter, lastWaiting],
		] as const) {
			expectError(await api("GET", `/prebooks/${id}`, { token: reader.token }), 404, "PREBOOK_NOT_FOUND");
			expectError(await api("DELETE", `/prebooks/${id}`, { token: reader.token }), 404, "PREBOOK_NOT_FOUND");
			const mine = await api("GET", "/prebooks", { token: reader.token });
			expect(mine.body.items.map((p: { book_id: number }) => p.book_id)).not.toContain(doomed.id);
		}
		const holderList = await api("GET", "/prebooks", { token: holder.token });
		expect(holderList.body.items.map((p: { id: number; status: string }) => [p.id, p.status])).toEqual([
			[otherRejoined, "waiting"],
			[otherCancelled, "cancelled"],
		]);
		expect((await api("GET", `/prebooks/${otherHeld}`, { token: waiter.token })).body).toEqual(
			otherBefore.body,
		);
		expect((await api("GET", "/prebooks?status=offered", { token: secondHolder.token })).body.items).toEqual(
			[],
		);
		expect((await api("GET", `/books/${other.id}`)).body).toMatchObject({
			stock_quantity: 1,
			held_quantity: 1,
		});

		// Cart and wishlist lose the book's lines only.
		expect(
			(await cartOf(holder)).items.map((line: { book_id: number; quantity: number }) => [
				line.book_id,
				line.quantity,
			]),
		).toEqual([[shelf.id, 2]]);
		for (const reader of [waiter, lastWaiter]) {
			const wishlist = await api("GET", "/wishlist", { token: reader.token });
			expect(wishlist.body.items.map((item: { book_id: number }) => item.book_id)).toEqual([shelf.id]);
		}
		// The holder can still check out what is left.
		const order = await api("POST", "/orders/checkout", { token: holder.token, body: {} });
		expect(order.status).toBe(201);
		expect(order.body.items.map((item: { book_id: number }) => item.book_id)).toEqual([shelf.id]);

		// Nothing in the database names the book any more, and every invariant holds.
		expect(await rowsNaming(doomed.id)).toEqual(noRows);
		await expectInvariants();
	});

	it("no later cron run fails on, expires or relays anything of the deleted book, and its queued offer emails nobody", async () => {
		const queue = stubQueue();
		// The queue refuses the offer round's publication: the round stays unpublished, for the cron relay.
		queue.sendBatch.mockRejectedValue(new Error("queue unavailable"));
		const doomed = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const survivor = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const readers = [await createUser(), await createUser(), await createUser()];
		await prebookAll(readers, doomed.id);
		const [survivorFirst, survivorSecond] = await prebookAll(readers.slice(0, 2), survivor.id);
		expect((await restock(doomed.id, 2)).body).toMatchObject({ held_quantity: 2 });
		const refused = queue.published().filter((m) => m.book_id === doomed.id);
		expect(refused).toHaveLength(1);
		expect(refused[0]?.type).toBe("prebook.offered");
		expect([...(refused[0]?.user_ids ?? [])].sort()).toEqual([readers[0]?.id, readers[1]?.id].sort());
		const unpublished = await env.DB.prepare(
			"SELECT count(*) AS n FROM offer_rounds WHERE book_id = ? AND published_at IS NULL",
		)
			.bind(doomed.id)
			.first<{ n: number }>();
		expect(unpublished?.n).toBe(1);
		queue.sendBatch.mockResolvedValue({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });
		expect((await restock(survivor.id, 1)).body).toMatchObject({ held_quantity: 1 });

		expect((await api("DELETE", `/books/${doomed.id}`, { token: admin.token })).status).toBe(204);
		queue.clear();
		const errors = vi.spyOn(console, "error");

		// The relay's run (the round would be republished a minute later), then the expiry sweep's, after both
		// books' holds lapsed.
		const survivorsHoldEnds = await afterHoldOf(survivorFirst as number);
		await runCron(Date.now() + 5 * 60_000);
		await runCron(survivorsHoldEnds);
		expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([]);
		const published = queue.published();
		expect(published.filter((m) => m.book_id === doomed.id)).toEqual([]);
		// The cron did run: the surviving book's lapsed hold rolled forward to the next in line.
		expect((await api("GET", `/prebooks/${survivorFirst}`, { token: readers[0]?.token })).body.status).toBe(
			"expired",
		);
		expect((await api("GET", `/prebooks/${survivorSecond}`, { token: readers[1]?.token })).body.status).toBe(
			"offered",
		);
		expect(published).toContainEqual(
			expect.objectContaining({ type: "prebook.offered", book_id: survivor.id, user_ids: [readers[1]?.id] }),
		);

		// The offer message that was on its way before the deletion (a redelivery) emails nobody and is acked.
		const already = sentEmails().length;
		const delivery = await deliver(PREBOOK_QUEUE_NAME, refused);
		expect(delivery.result.explicitAcks).toEqual(delivery.ids);
		expect(delivery.result.retryMessages).toEqual([]);
		expect(sentEmails().slice(already)).toEqual([]);

		expect(await rowsNaming(doomed.id)).toEqual(noRows);
		await expectInvariants();
	});

	it("a notify_all book's unpublished restock is not relayed after the book is deleted", async () => {
		const queue = stubQueue();
		queue.sendBatch.mockRejectedValue(new Error("queue unavailable"));
		queue.send.mockRejectedValue(new Error("queue unavailable"));
		const doomed = await createBook(admin.token, { stock_quantity: 0 });
		const reader = await createUser();
		const [prebook] = await prebookAll([reader], doomed.id);
		expect((await restock(doomed.id, 3)).status).toBe(200);
		expect((await api("GET", `/prebooks/${prebook}`, { token: reader.token })).body.status).toBe("notified");
		queue.sendBatch.mockResolvedValue({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });
		queue.send.mockResolvedValue({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });

		expect((await api("DELETE", `/books/${doomed.id}`, { token: admin.token })).status).toBe(204);
		queue.clear();
		const errors = vi.spyOn(console, "error");
		await runCron(Date.now() + 5 * 60_000);
		expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([]);
		expect(queue.published().filter((m) => m.book_id === doomed.id)).toEqual([]);
		expectError(await api("GET", `/prebooks/${prebook}`, { token: reader.token }), 404, "PREBOOK_NOT_FOUND");
		expect(await rowsNaming(doomed.id)).toEqual(noRows);
		await expectInvariants();
	});
});
