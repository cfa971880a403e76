/**
 * A line of 100,000 (API.md rule 14): the restock's batch marks it notified and reads back only its count
 * and first page; the request publishes that page and hands the rest to `prebook-publication`, whose steps
 * page through the line from a cursor. Every reader is put on the queue once, and a publication that stops
 * is taken over by the cron relay from where it got, not from the start. The readers' `prebook.notified`
 * webhook events are recorded with the pages (the restock's batch does not build 100,000 readers' events):
 * each reader in exactly one event, whoever published its page.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { PAGES_PER_STEP, PUBLICATION_PAGE } from "../src/features/allocation/paged-publication";
import {
	api,
	bulkUsers,
	createAdmin,
	createBook,
	d1RoundTrips,
	runCron,
	startFromEmptyStorage,
	stubQueue,
	type TestUser,
} from "./helpers";

const LINE = 100_000;

let admin: TestUser;
beforeEach(async () => {
	await startFromEmptyStorage();
	admin = await createAdmin();
});

/** A notify_all book with `LINE` waiting readers; returns it and the readers' ids. */
async function longLine() {
	const book = await createBook(admin.token, { stock_quantity: 0 });
	const pattern = await bulkUsers(LINE);
	await env.DB.prepare(
		"INSERT INTO pre_bookings (user_id, book_id, status) SELECT id, ?, 'waiting' FROM users WHERE email LIKE ?",
	)
		.bind(book.id, pattern)
		.run();
	return book;
}

/** Every reader named by a `prebook.notified` event of the restock, and the largest event. */
async function notifiedEvents(restockId: number | undefined) {
	const { results } = await env.DB.prepare(
		"SELECT payload FROM webhook_events WHERE type = 'prebook.notified' AND payload ->> 'restock_id' = ?",
	)
		.bind(restockId)
		.all<{ payload: string }>();
	const userIds = results.map((row) => (JSON.parse(row.payload) as { user_ids: number[] }).user_ids);
	return { readers: userIds.flat(), largest: Math.max(0, ...userIds.map((ids) => ids.length)) };
}

/** Each of the `LINE` readers is named by exactly one event of at most 100 readers. */
async function expectEachReaderInOneEvent(restockId: number | undefined) {
	const events = await notifiedEvents(restockId);
	expect(events.readers).toHaveLength(LINE);
	expect(new Set(events.readers).size).toBe(LINE);
	expect(events.largest).toBe(100);
}

const restockOf = (bookId: number) =>
	env.DB.prepare("SELECT id, notified_count, published_at FROM restocks WHERE book_id = ?")
		.bind(bookId)
		.first<{ id: number; notified_count: number; published_at: string | null }>();

describe("a restock of a line of 100,000", () => {
	it("answers after one round trip and the first page; the steps publish every other reader once", async () => {
		const book = await longLine();
		const queue = stubQueue();
		const res = await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 5 } });
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);

		const notified = () => queue.published().flatMap((m) => m.user_ids);
		expect(notified()).toHaveLength(PUBLICATION_PAGE);
		const restock = await restockOf(book.id);
		expect(restock).toMatchObject({ notified_count: LINE, published_at: null });
		expect((await notifiedEvents(restock?.id)).readers).toEqual([]);
		// The rest is one step away, starting after the request's page.
		expect(queue.steps()).toEqual([
			{ kind: "notice", id: restock?.id, after: { at: expect.any(String), userId: expect.any(Number) } },
		]);

		expect(await queue.publishRest()).toBe(Math.ceil((LINE / PUBLICATION_PAGE - 1) / PAGES_PER_STEP));
		const ids = notified();
		expect(ids).toHaveLength(LINE);
		expect(new Set(ids).size).toBe(LINE);
		const waitingBefore = await env.DB.prepare(
			"SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'notified' AND restock_id = ?",
		)
			.bind(book.id, restock?.id)
			.first<{ n: number }>();
		expect(waitingBefore?.n).toBe(LINE);
		expect((await restockOf(book.id))?.published_at).toMatch(/Z$/);
		await expectEachReaderInOneEvent(restock?.id);
		// Confirmed: the relay leaves it alone.
		queue.clear();
		await runCron(Date.now() + 5 * 60_000);
		expect(queue.published().filter((m) => m.restock_id === restock?.id)).toEqual([]);
	});

	it("a publication step makes one D1 round trip a page: each cursor move reads the next page", async () => {
		const book = await longLine();
		const queue = stubQueue();
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 5 } });
		const restock = await restockOf(book.id);
		const { createDb, newD1Usage } = await import("../src/lib/db");
		const { publishPages } = await import("../src/features/allocation/paged-publication");
		const usage = newD1Usage();
		// From the cursor (the request did not move it): the request's page again, then two more.
		const step = await publishPages(
			createDb(env.DB, usage),
			{
				notificationQueue: env.PREBOOK_QUEUE,
				publicationQueue: env.PUBLICATION_QUEUE,
				webhookQueue: env.WEBHOOK_QUEUE,
			},
			{ kind: "notice", id: restock?.id as number },
			3,
		);
		expect(step).toMatchObject({ state: "more", published: 3 * PUBLICATION_PAGE });
		// The first page's read, then three moves, the first two reading the next page.
		expect(usage.roundTrips).toBe(4);
		// Each page reads its own readers' index entries, a few times over (the page, its events' probe and
		// chunks): about 5 rows a reader, whatever the notice's length — not the whole notice per page.
		expect(usage.rowsRead).toBeLessThan(6 * 4 * PUBLICATION_PAGE);
		expect(queue.published().flatMap((m) => m.user_ids)).toHaveLength(4 * PUBLICATION_PAGE);
	});

	it("a step that fails part-way is taken over by the relay from its cursor: still every reader once", async () => {
		const book = await longLine();
		const queue = stubQueue();
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 5 } });
		// The step publishes one page (the request's was the first), then the queue refuses the next.
		queue.sendBatch.mockResolvedValueOnce({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });
		queue.sendBatch.mockRejectedValueOnce(new Error("queue unavailable"));
		expect(await queue.publishRest()).toBe(1);
		const published = () => queue.published().flatMap((m) => m.user_ids);
		// Two pages accepted (the refused batch is recorded by the spy but was not accepted).
		const accepted = queue.acceptedUserIds;
		expect(published()).toHaveLength(3 * PUBLICATION_PAGE);
		expect(accepted()).toHaveLength(2 * PUBLICATION_PAGE);

		// Too recent for the relay: the publication moved a moment ago.
		await runCron(Date.now());
		expect(accepted()).toHaveLength(2 * PUBLICATION_PAGE);
		// The step's retry is lost; a minute later the relay goes on from the cursor and hands on the rest.
		await runCron(Date.now() + 5 * 60_000);
		expect(accepted()).toHaveLength(3 * PUBLICATION_PAGE);
		await queue.publishRest();
		const ids = accepted();
		expect(ids).toHaveLength(LINE);
		expect(new Set(ids).size).toBe(LINE);
		const restock = await restockOf(book.id);
		expect(restock?.published_at).toMatch(/Z$/);
		await expectEachReaderInOneEvent(restock?.id);
	});
});

describe("an offer round longer than a page", () => {
	it("puts every reader on the queue once with their own hold end, on every page: quiet hours split a round by zone", async () => {
		const readers = 2 * PUBLICATION_PAGE + 5_000;
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const pattern = await bulkUsers(readers);
		// Alternating readers in two zones, whatever the time: for one, the hold's end (an hour from now) is in
		// the night, for the other in the day.
		const inAnHour = new Date(Date.now() + 3600_000);
		const offsetTo = (localHour: number) => {
			const minutes = (((localHour - inAnHour.getUTCHours()) % 24) + 24) % 24;
			return (minutes > 12 ? minutes - 24 : minutes) * 60;
		};
		await env.DB.prepare(
			`UPDATE users SET utc_offset_minutes = CASE WHEN id % 2 = 0 THEN ? ELSE ? END WHERE email LIKE ?`,
		)
			.bind(offsetTo(2), offsetTo(14), pattern)
			.run();
		await env.DB.prepare(
			"INSERT INTO pre_bookings (user_id, book_id, status) SELECT id, ?, 'waiting' FROM users WHERE email LIKE ?",
		)
			.bind(book.id, pattern)
			.run();
		const queue = stubQueue();

		const res = await api("PATCH", `/books/${book.id}/stock`, {
			token: admin.token,
			body: { quantity: readers },
		});
		expect(res.status).toBe(200);
		await queue.publishRest();

		const { results } = await env.DB.prepare(
			"SELECT user_id, hold_expires_at FROM pre_bookings WHERE book_id = ? AND status = 'offered'",
		)
			.bind(book.id)
			.all<{ user_id: number; hold_expires_at: string }>();
		expect(results).toHaveLength(readers);
		const holdOf = new Map(results.map((row) => [row.user_id, row.hold_expires_at]));
		expect(new Set(holdOf.values()).size).toBe(2);
		const told = new Map<number, string>();
		for (const message of queue.published() as unknown as { hold_expires_at: string; user_ids: number[] }[]) {
			for (const userId of message.user_ids) {
				expect(told.has(userId), `reader ${userId} published twice`).toBe(false);
				told.set(userId, message.hold_expires_at);
			}
		}
		expect(told.size).toBe(readers);
		const wrong = [...told].filter(([userId, end]) => holdOf.get(userId) !== end);
		expect(wrong).toEqual([]);
		// Packed together: a page of two hold ends is still about a page's worth of messages and calls.
		expect(queue.published().length).toBeLessThanOrEqual(readers / 100 + 2 * 3);
		// One call a page (a call per hold end would make two).
		expect(queue.sendBatch.mock.calls.length).toBe(Math.ceil(readers / PUBLICATION_PAGE));
	});
});
