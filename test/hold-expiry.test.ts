/**
 * The hold queue's work over the whole database: the cron's expiry sweep takes every book's lapsed holds
 * (older first, at most 20 books a run), and the lines at scale leave 150,000 rows. Each test starts from
 * an empty database, so none sweeps, waits on or is slowed by another's rows.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { PUBLICATION_PAGE } from "../src/features/allocation/paged-publication";
import type { PrebookMessage } from "../src/prebook-emails/messages";
import {
	afterHoldOf,
	api,
	bulkUsers,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	holdEndInUtc,
	prebookAll,
	runCron,
	startFromEmptyStorage,
	stubQueue,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";

let admin: TestUser;
beforeEach(async () => {
	await startFromEmptyStorage();
	admin = await createAdmin();
});

const HOUR = 60 * 60 * 1000;

function captureQueue() {
	const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
	return () => sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as PrebookMessage));
}

const holdQueueBook = (fields: Record<string, unknown> = {}) =>
	createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue", hold_hours: 24, ...fields });

const prebookOf = async (user: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: user.token })).body;
const book = async (id: number) => (await api("GET", `/books/${id}`)).body;

async function buy(user: TestUser, bookId: number, quantity = 1) {
	const added = await api("POST", "/cart/items", { token: user.token, body: { book_id: bookId, quantity } });
	if (added.status !== 201) return added;
	return api("POST", "/orders/checkout", { token: user.token, body: {} });
}

describe("the expiry sweep", () => {
	it("offers in line order, sells the held copy to its holder, rolls an expired hold forward, and frees a cancelled one", async () => {
		const messages = captureQueue();
		const title = await holdQueueBook();
		const readers = [await createUser(), await createUser(), await createUser()];
		const [first, second, third] = await prebookAll(readers, title.id);
		expect((await prebookOf(readers[2] as TestUser, third as number)).position).toBe(3);

		const restock = await api("PATCH", `/books/${title.id}/stock`, {
			token: admin.token,
			body: { quantity: 2 },
		});
		expect(restock.status).toBe(200);
		expect(restock.body).toMatchObject({ stock_quantity: 2, held_quantity: 2, available_quantity: 0 });
		expect(d1RoundTrips(restock)).toBe(1);
		const firstHold = await prebookOf(readers[0] as TestUser, first as number);
		expect(firstHold).toMatchObject({ status: "offered", position: null });
		// 24 hours, moved out of the reader's quiet hours (UTC) when it would end in them.
		expect(Date.parse(firstHold.hold_expires_at)).toBe(
			holdEndInUtc(Date.parse(firstHold.offered_at) + 24 * HOUR),
		);
		expect((await prebookOf(readers[1] as TestUser, second as number)).status).toBe("offered");
		expect(await prebookOf(readers[2] as TestUser, third as number)).toMatchObject({
			status: "waiting",
			position: 1,
		});
		const offered = messages().filter((m) => m.type === "prebook.offered");
		expect(offered).toHaveLength(1);
		expect(offered[0]).toMatchObject({ book_id: title.id, hold_expires_at: firstHold.hold_expires_at });
		expect([...(offered[0]?.user_ids ?? [])].sort()).toEqual([readers[0]?.id, readers[1]?.id].sort());

		// Nobody else can buy a held copy; the holder can.
		const stranger = await createUser();
		expectError(await buy(stranger, title.id), 409, "INSUFFICIENT_STOCK");
		const order = await buy(readers[0] as TestUser, title.id);
		expect(order.status).toBe(201);
		expect(order.body.status).toBe("confirmed");
		expect((await prebookOf(readers[0] as TestUser, first as number)).status).toBe("fulfilled");
		expect(await book(title.id)).toMatchObject({
			stock_quantity: 1,
			held_quantity: 1,
			available_quantity: 0,
		});

		// The second lets the hold lapse: the cron expires it and offers the copy to the third.
		await runCron(await afterHoldOf(second as number));
		expect((await prebookOf(readers[1] as TestUser, second as number)).status).toBe("expired");
		expect((await prebookOf(readers[2] as TestUser, third as number)).status).toBe("offered");
		expect(await book(title.id)).toMatchObject({ stock_quantity: 1, held_quantity: 1 });

		// The third cancels: the copy goes back on sale (nobody is waiting).
		expect((await api("DELETE", `/prebooks/${third}`, { token: readers[2]?.token })).status).toBe(204);
		expect(await book(title.id)).toMatchObject({
			stock_quantity: 1,
			held_quantity: 0,
			available_quantity: 1,
		});
		expectError(
			await api("DELETE", `/prebooks/${first}`, { token: readers[0]?.token }),
			409,
			"PREBOOK_CLOSED",
			"id",
		);
		expectError(
			await api("DELETE", `/prebooks/${second}`, { token: readers[1]?.token }),
			409,
			"PREBOOK_CLOSED",
			"id",
		);
		await expectInvariants();
	});

	it("a restock racing the expiry sweep never offers one copy twice", async () => {
		captureQueue();
		const title = await holdQueueBook({ hold_hours: 1 });
		const readers = await Promise.all(Array.from({ length: 30 }, () => createUser()));
		const [first] = await prebookAll(readers, title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 5 } });
		const lapsed = await afterHoldOf(first as number);
		await Promise.all([
			runCron(lapsed),
			...[8, 12, 15].map((quantity) =>
				api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity } }),
			),
		]);
		const state = await book(title.id);
		const offered = await env.DB.prepare(
			"SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'offered'",
		)
			.bind(title.id)
			.first<{ n: number }>();
		expect(state.held_quantity).toBe(offered?.n);
		expect(state.held_quantity).toBeLessThanOrEqual(state.stock_quantity);
		await expectInvariants();
	});
});

describe("at scale", () => {
	it("100,000 waiting, restock of 50,000: 50,000 offered in one request, positions of the rest correct, published within the Queues limits", async () => {
		const queue = stubQueue();
		const title = await holdQueueBook();
		const pattern = await bulkUsers(100_000);
		await env.DB.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			 SELECT id, ?, 'waiting', strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || id || ' seconds')
			 FROM users WHERE email LIKE ? ORDER BY id`,
		)
			.bind(title.id, pattern)
			.run();
		const res = await api("PATCH", `/books/${title.id}/stock`, {
			token: admin.token,
			body: { quantity: 50_000 },
		});
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.body).toMatchObject({ held_quantity: 50_000, available_quantity: 0 });
		// The request published the first page; the publication queue publishes the rest, each reader once.
		const offeredIds = () =>
			(queue.published() as PrebookMessage[])
				.filter((m) => m.type === "prebook.offered")
				.flatMap((m) => m.user_ids);
		expect(offeredIds()).toHaveLength(PUBLICATION_PAGE);
		expect(await queue.publishRest()).toBe(1);
		expect(offeredIds()).toHaveLength(50_000);
		expect(new Set(offeredIds()).size).toBe(50_000);
		const round = await env.DB.prepare("SELECT published_at FROM offer_rounds WHERE book_id = ?")
			.bind(title.id)
			.first<{ published_at: string | null }>();
		expect(round?.published_at).not.toBeNull();
		for (const [batch] of queue.sendBatch.mock.calls) {
			const bodies = [...batch].map((m) => JSON.stringify(m.body));
			expect(bodies.length).toBeLessThanOrEqual(100);
			expect(
				bodies.reduce((sum, body) => sum + new TextEncoder().encode(body).byteLength + 100, 0),
			).toBeLessThanOrEqual(256_000);
		}
		// The 50,001st in line is first among those still waiting, the last is 50,000th.
		const edges = await env.DB.prepare(
			`SELECT min(id) AS next, max(id) AS last FROM pre_bookings WHERE book_id = ? AND status = 'waiting'`,
		)
			.bind(title.id)
			.first<{ next: number; last: number }>();
		const { createDb } = await import("../src/lib/db");
		const { bookLine } = await import("../src/features/prebooks/prebooks.service");
		const head = await bookLine(createDb(env.DB), title.id, { status: "waiting", limit: 1 });
		expect(head[0]).toMatchObject({ id: edges?.next, position: 1 });
		const position = await env.DB.prepare(
			`SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'waiting' AND id <= ?`,
		)
			.bind(title.id, edges?.last)
			.first<{ n: number }>();
		expect(position?.n).toBe(50_000);
	});

	it("the expiry of 50,000 holds completes over successive cron runs, each batch within D1's limits", async () => {
		captureQueue();
		const title = await holdQueueBook({ hold_hours: 1 });
		const pattern = await bulkUsers(50_000);
		await env.DB.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, created_at) SELECT id, ?, 'waiting', '2026-01-01T00:00:00.000Z'
			 FROM users WHERE email LIKE ?`,
		)
			.bind(title.id, pattern)
			.run();
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 50_000 } });
		// One offer round: every hold ends at the same time.
		const [held] = (
			await env.DB.prepare("SELECT id FROM pre_bookings WHERE book_id = ? AND status = 'offered' LIMIT 1")
				.bind(title.id)
				.all<{ id: number }>()
		).results;
		const lapsed = await afterHoldOf(held?.id as number);
		let runs = 0;
		let remaining = 50_000;
		while (remaining > 0 && runs < 10) {
			await runCron(lapsed);
			runs += 1;
			remaining =
				(
					await env.DB.prepare(
						"SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'offered'",
					)
						.bind(title.id)
						.first<{ n: number }>()
				)?.n ?? 0;
		}
		expect(remaining).toBe(0);
		expect(runs).toBeGreaterThan(1);
		expect(await book(title.id)).toMatchObject({
			stock_quantity: 50_000,
			held_quantity: 0,
			available_quantity: 50_000,
		});
		await expectInvariants();
	});
});
