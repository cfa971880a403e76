import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { noticesOfThisBatch, prebookNotifiedEvents } from "../src/features/webhooks/webhook-events";
import { batch } from "../src/lib/batch";
import { createDb, newD1Usage } from "../src/lib/db";
import {
	afterHoldOf,
	api,
	bulkUsers,
	createAdmin,
	createBook,
	createUser,
	holdEndInUtc,
	PASSWORD,
	prebookAll,
	runCron,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";
import { captureWebhookQueue, eventsOf, registerWebhook } from "./webhooks-helpers";

const ALL_EVENTS = [
	"prebook.notified",
	"prebook.offered",
	"prebook.expired",
	"prebook.fulfilled",
	"restock.created",
];
const HOUR = 60 * 60 * 1000;

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});
let queue: ReturnType<typeof captureWebhookQueue>;
beforeEach(() => {
	// Publications are captured: no consumer runs behind these tests.
	queue = captureWebhookQueue();
	vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
});
afterEach(async () => {
	vi.restoreAllMocks();
	await env.DB.prepare("DELETE FROM webhook_endpoints").run();
});

async function buy(reader: TestUser, bookId: number) {
	expect(
		(await api("POST", "/cart/items", { token: reader.token, body: { book_id: bookId, quantity: 1 } }))
			.status,
	).toBe(201);
	const order = await api("POST", "/orders/checkout", { token: reader.token, body: {} });
	expect(order.status).toBe(201);
	return order.body as { id: number };
}

/**
 * Waits for the publications that follow the responses to put the endpoint's `count` deliveries on the
 * queue (and checks it has no others).
 */
async function expectQueued(endpointId: number, count: number) {
	await vi.waitFor(async () => {
		const { results } = await env.DB.prepare(
			"SELECT id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id",
		)
			.bind(endpointId)
			.all<{ id: number }>();
		expect(results).toHaveLength(count);
		expect(queue.ids()).toEqual(expect.arrayContaining(results.map((row) => row.id)));
	});
}

const ofBook = (bookId: number) => ["json_extract(payload, '$.book_id') = ?", bookId] as const;

describe("events are born in the batch of their change", () => {
	it("a notify_all restock records restock.created and prebook.notified; the purchase records prebook.fulfilled", async () => {
		const hook = await registerWebhook(admin.token, ALL_EVENTS);
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const readers = [await createUser(), await createUser()];
		const [first] = await prebookAll(readers, book.id);
		expect(
			(await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 5 } })).status,
		).toBe(200);
		const [restocked] = await eventsOf("restock.created", ...ofBook(book.id));
		expect(restocked?.data).toMatchObject({
			book_id: book.id,
			quantity_before: 0,
			quantity_after: 5,
			notified_count: 2,
		});
		const [notified] = await eventsOf("prebook.notified", ...ofBook(book.id));
		expect(notified?.data.restock_id).toBe(restocked?.data.restock_id);

		// A rise from 5 to 6 is a restock too (the stock rose), but notifies nobody.
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 6 } });
		expect(await eventsOf("restock.created", ...ofBook(book.id))).toHaveLength(2);
		expect(await eventsOf("prebook.notified", ...ofBook(book.id))).toHaveLength(1);
		// A decrease is no restock.
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 4 } });
		expect(await eventsOf("restock.created", ...ofBook(book.id))).toHaveLength(2);

		const order = await buy(readers[0] as TestUser, book.id);
		const [fulfilled] = await eventsOf("prebook.fulfilled", ...ofBook(book.id));
		expect(fulfilled?.data).toMatchObject({
			prebook_id: first,
			book_id: book.id,
			user_id: readers[0]?.id,
			order_id: order.id,
			restock_id: restocked?.data.restock_id,
			offer_round_id: null,
		});
		// Each is published right after its response.
		await expectQueued(hook.id, 4);
	});

	it("a hold_queue book records prebook.offered (restock, cancel, expiry), prebook.expired and prebook.fulfilled", async () => {
		await registerWebhook(admin.token, ALL_EVENTS);
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const readers = [await createUser(), await createUser(), await createUser(), await createUser()];
		const [first, second, third, fourth] = await prebookAll(readers, book.id);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		const [restockOffer] = await eventsOf("prebook.offered", ...ofBook(book.id));
		expect(restockOffer?.data).toMatchObject({ book_id: book.id, reason: "restock" });
		expect([...(restockOffer?.data.prebook_ids ?? [])].sort()).toEqual([first, second].sort());
		// An hour, unless it ends in the (UTC) readers' quiet hours (rule 13).
		expect(Date.parse(restockOffer?.data.hold_expires_at)).toBe(
			holdEndInUtc(Date.parse(restockOffer?.data.offered_at) + HOUR),
		);

		// The first holder cancels: the copy goes to the third at once.
		expect((await api("DELETE", `/prebooks/${first}`, { token: readers[0]?.token })).status).toBe(204);
		const cancelOffer = (await eventsOf("prebook.offered", ...ofBook(book.id)))[1];
		expect(cancelOffer?.data).toMatchObject({
			reason: "cancel",
			user_ids: [readers[2]?.id],
			prebook_ids: [third],
		});

		// The third buys the held copy.
		const order = await buy(readers[2] as TestUser, book.id);
		const [fulfilled] = await eventsOf("prebook.fulfilled", ...ofBook(book.id));
		expect(fulfilled?.data).toMatchObject({
			prebook_id: third,
			order_id: order.id,
			offer_round_id: cancelOffer?.data.offer_round_id,
		});

		// The second lets the hold lapse: the cron expires it and offers the copy to the fourth.
		await runCron(await afterHoldOf(second as number));
		const [expired] = await eventsOf("prebook.expired", ...ofBook(book.id));
		expect(expired?.data).toMatchObject({
			book_id: book.id,
			user_ids: [readers[1]?.id],
			prebook_ids: [second],
		});
		const expiryOffer = (await eventsOf("prebook.offered", ...ofBook(book.id)))[2];
		expect(expiryOffer?.data).toMatchObject({ reason: "expiry", prebook_ids: [fourth] });
		await expectInvariants();
	});

	it("an erased account's held copies go to the next in line with prebook.offered (reason cancel)", async () => {
		await registerWebhook(admin.token, ["prebook.offered"]);
		const books = [
			await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" }),
			await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" }),
		];
		const [holder, next] = [await createUser(), await createUser()];
		for (const book of books) {
			await prebookAll([holder as TestUser, next as TestUser], book.id);
			await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		}
		const erased = await api("DELETE", "/users/me", { token: holder?.token, body: { password: PASSWORD } });
		expect(erased.status).toBe(204);
		for (const book of books) {
			const offers = await eventsOf("prebook.offered", ...ofBook(book.id));
			expect(offers.map((event) => [event.data.reason, event.data.user_ids])).toEqual([
				["restock", [holder?.id]],
				["cancel", [next?.id]],
			]);
			// Published right after the erasure's response (the batch's results say which events it recorded).
			for (const event of offers) expect(event.published_at).toMatch(/Z$/);
		}
		await expectInvariants();
	});

	it("records every event, subscribed or not, and delivers only to the enabled endpoints that subscribe", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await prebookAll([await createUser()], book.id);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const [restocked] = await eventsOf("restock.created", ...ofBook(book.id));
		const [notified] = await eventsOf("prebook.notified", ...ofBook(book.id));
		// Nobody subscribes to prebook.notified: recorded for the feed, born published, never delivered.
		expect(notified?.published_at).toMatch(/Z$/);
		await expectQueued(hook.id, 1);
		const { results } = await env.DB.prepare("SELECT event_id FROM webhook_deliveries WHERE endpoint_id = ?")
			.bind(hook.id)
			.all<{ event_id: number }>();
		expect(results).toEqual([{ event_id: restocked?.id }]);
		await api("PATCH", `/admin/webhooks/${hook.id}`, { token: admin.token, body: { enabled: false } });
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		const events = await eventsOf("restock.created", ...ofBook(book.id));
		expect(events).toHaveLength(2);
		expect(events[1]?.published_at).toMatch(/Z$/);
		await expectQueued(hook.id, 1);
	});
});

describe("fan-out", () => {
	/** A book with `count` bulk users waiting on it (inserted straight into D1: no password hashing). */
	async function bookWithLine(count: number) {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const pattern = await bulkUsers(count);
		await env.DB.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			 SELECT id, ?, 'waiting', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM users WHERE email LIKE ?`,
		)
			.bind(book.id, pattern)
			.run();
		return book;
	}

	it("a restock notifying 1,000 readers records events of at most 100 user ids each, every reader once", async () => {
		const hook = await registerWebhook(admin.token, ["prebook.notified"]);
		const book = await bookWithLine(1_000);
		expect(
			(await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } })).status,
		).toBe(200);
		const events = await eventsOf("prebook.notified", ...ofBook(book.id));
		expect(events).toHaveLength(10);
		const userIds = events.flatMap((event) => event.data.user_ids as number[]);
		for (const event of events) {
			expect(event.data.user_ids.length).toBeLessThanOrEqual(100);
			expect(event.data.prebook_ids).toHaveLength(event.data.user_ids.length);
			expect(new Blob([event.payload]).size).toBeLessThan(4_000);
		}
		expect(new Set(userIds).size).toBe(1_000);
		// prebook_ids[i] is user_ids[i]'s pre-booking.
		const pairs = events.flatMap((event) =>
			(event.data.user_ids as number[]).map((userId, i) => ({
				user_id: userId,
				id: event.data.prebook_ids[i],
			})),
		);
		const { results } = await env.DB.prepare("SELECT id, user_id FROM pre_bookings WHERE book_id = ?")
			.bind(book.id)
			.all<{ id: number; user_id: number }>();
		const sortById = (rows: { id: number; user_id: number }[]) => [...rows].sort((a, b) => a.id - b.id);
		expect(sortById(pairs)).toEqual(sortById(results));
		// One delivery per event: 10 POSTs, not 1,000.
		await expectQueued(hook.id, 10);
	});

	it("costs a store without subscribers the batch's own rows, once: events recorded for the feed, nothing published", async () => {
		const book = await bookWithLine(1_000);
		queue.sendBatch.mockClear();
		expect(
			(await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } })).status,
		).toBe(200);
		const events = await eventsOf("prebook.notified", ...ofBook(book.id));
		expect(events).toHaveLength(10);
		// Born published: no publication, no delivery, nothing on the queue.
		for (const event of events) expect(event.published_at).toMatch(/Z$/);
		expect(queue.sendBatch).not.toHaveBeenCalled();
		const notifiedAt = (
			await env.DB.prepare("SELECT notified_at FROM pre_bookings WHERE book_id = ? LIMIT 1")
				.bind(book.id)
				.first<{ notified_at: string }>()
		)?.notified_at as string;
		await env.DB.prepare(
			"DELETE FROM webhook_events WHERE type = 'prebook.notified' AND json_extract(payload, '$.book_id') = ?",
		)
			.bind(book.id)
			.run();
		// The same statement the restock ran, alone, metered: it reads the notification's 1,000 index entries
		// (what the batch itself wrote) and chunks them (the window and the grouping count their rows too):
		// about 4 reads per notified reader, whatever the book's or the outbox's history.
		const usage = newD1Usage();
		await batch(createDb(env.DB, usage), {
			events: prebookNotifiedEvents(noticesOfThisBatch(sql`SELECT ${book.id}`, notifiedAt), notifiedAt),
		});
		expect(usage.rowsRead).toBeGreaterThanOrEqual(1_000);
		expect(usage.rowsRead).toBeLessThan(5_000);
		// A subscriber changes nothing in what the statement reads.
		await env.DB.prepare(
			"DELETE FROM webhook_events WHERE type = 'prebook.notified' AND json_extract(payload, '$.book_id') = ?",
		)
			.bind(book.id)
			.run();
		await registerWebhook(admin.token, ["prebook.notified"]);
		const subscribed = newD1Usage();
		await batch(createDb(env.DB, subscribed), {
			events: prebookNotifiedEvents(noticesOfThisBatch(sql`SELECT ${book.id}`, notifiedAt), notifiedAt),
		});
		expect(subscribed.rowsRead).toBeLessThan(5_000);
		const again = await eventsOf("prebook.notified", ...ofBook(book.id));
		expect(again).toHaveLength(10);
		for (const event of again) expect(event.published_at).toBeNull();
	});
});

describe("retention", () => {
	/** An event recorded `daysAgo` days ago, with a succeeded delivery to the endpoint. */
	async function pastEvent(endpointId: number, daysAgo: number): Promise<number> {
		const at = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-${daysAgo} days')`;
		const event = await env.DB.prepare(
			`INSERT INTO webhook_events (type, payload, source_key, created_at, published_at)
			 VALUES ('restock.created', '{}', ?, ${at}, ${at}) RETURNING id`,
		)
			.bind(`retention:${crypto.randomUUID()}`)
			.first<{ id: number }>();
		await env.DB.prepare(
			"INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, status) VALUES (?, ?, 'restock.created', 'succeeded')",
		)
			.bind(endpointId, event?.id)
			.run();
		return event?.id as number;
	}

	const remaining = async (eventId: number) =>
		env.DB.prepare(
			`SELECT (SELECT count(*) FROM webhook_events WHERE id = ?1) AS events,
				(SELECT count(*) FROM webhook_deliveries WHERE event_id = ?1) AS deliveries`,
		)
			.bind(eventId)
			.first();

	it("the cron drops events older than 30 days with their deliveries, and secrets past their rotation grace", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const old = await pastEvent(hook.id, 31);
		const recent = await pastEvent(hook.id, 29);
		await api("POST", `/admin/webhooks/${hook.id}/rotate-secret`, { token: admin.token });
		await env.DB.prepare(
			"UPDATE webhook_secrets SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 second') WHERE endpoint_id = ? AND expires_at IS NOT NULL",
		)
			.bind(hook.id)
			.run();
		await runCron(Date.now());
		expect(await remaining(old)).toEqual({ events: 0, deliveries: 0 });
		expect(await remaining(recent)).toEqual({ events: 1, deliveries: 1 });
		const secrets = await env.DB.prepare("SELECT count(*) AS n FROM webhook_secrets WHERE endpoint_id = ?")
			.bind(hook.id)
			.first<{ n: number }>();
		expect(secrets?.n).toBe(1);
	});

	it("keeps the newest event however old, so an event id (webhook-id) is never given twice", async () => {
		const hook = await registerWebhook(admin.token, ["restock.created"]);
		const older = await pastEvent(hook.id, 41);
		const newest = await pastEvent(hook.id, 40);
		await runCron(Date.now());
		expect(await remaining(older)).toEqual({ events: 0, deliveries: 0 });
		expect(await remaining(newest)).toEqual({ events: 1, deliveries: 1 });
		const next = await pastEvent(hook.id, 0);
		expect(next).toBeGreaterThan(newest);
	});
});
