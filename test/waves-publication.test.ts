/**
 * A `waves` book's restock record is one publication unit for all its waves (one cursor, one
 * `published_at`): a later wave must never confirm the record, or move its cursor, past an earlier wave
 * whose publication failed, and a page that spans two waves must not name a reader in two webhook events.
 * Found by a race hunt: each needs an earlier wave's publication to fail while the next wave commits.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
	api,
	bulkLine,
	createAdmin,
	createBook,
	createUser,
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

const MINUTE = 60_000;
const metadata = { metrics: { backlogCount: 0, backlogBytes: 0 } };

const queueDown = (queue: ReturnType<typeof stubQueue>) => {
	queue.send.mockRejectedValue(new Error("queue down"));
	queue.sendBatch.mockRejectedValue(new Error("queue down"));
};
const queueBack = (queue: ReturnType<typeof stubQueue>) => {
	queue.send.mockResolvedValue({ metadata });
	queue.sendBatch.mockResolvedValue({ metadata });
};

const notifiedOf = async (bookId: number) =>
	(
		await env.DB.prepare(
			"SELECT user_id FROM pre_bookings WHERE book_id = ? AND status = 'notified' ORDER BY user_id",
		)
			.bind(bookId)
			.all<{ user_id: number }>()
	).results.map((row) => row.user_id);

describe("the waves of one restock record, published as one unit", () => {
	it("a wave whose publication failed is still published when the next wave's request succeeds", async () => {
		const queue = stubQueue();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "waves",
			wave_factor: 1,
			wave_minutes: 5,
		});
		await prebookAll(await Promise.all(Array.from({ length: 4 }, () => createUser())), book.id);
		queueDown(queue);
		expect(
			(await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } })).status,
		).toBe(200);
		const firstWave = await notifiedOf(book.id);
		expect(firstWave).toHaveLength(2);
		queueBack(queue);
		// The next wave, then the relay's runs and the steps they queue.
		await runCron(Date.now() + 5 * MINUTE + 1_000);
		await runCron(Date.now() + 7 * MINUTE);
		await queue.publishRest();
		await runCron(Date.now() + 9 * MINUTE);
		await queue.publishRest();
		const everyone = await notifiedOf(book.id);
		expect(everyone).toHaveLength(4);
		expect(new Set(queue.acceptedUserIds())).toEqual(new Set(everyone));
		await expectInvariants();
	});

	it("a long wave's steps do not skip an earlier wave that was never published", async () => {
		const queue = stubQueue();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "waves",
			wave_factor: 1,
			wave_minutes: 5,
		});
		await bulkLine(book.id, 10_600);
		queueDown(queue);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 501 } });
		queueBack(queue);
		// Five minutes on, a change of the book runs the engine: the next wave, now 501 × 20 = 10,020 readers,
		// longer than a page — its request publishes the first page and hands the rest to a step (before any
		// relay runs).
		const later = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 5 * MINUTE + 1_000);
		expect(
			(await api("PATCH", `/books/${book.id}`, { token: admin.token, body: { wave_factor: 20 } })).status,
		).toBe(200);
		later.mockRestore();
		await queue.publishRest();
		await runCron(Date.now() + 8 * MINUTE);
		await queue.publishRest();
		const everyone = await notifiedOf(book.id);
		expect(everyone).toHaveLength(501 + 10_020);
		const sent = new Set(queue.acceptedUserIds());
		expect(everyone.filter((id) => !sent.has(id))).toEqual([]);
		await expectInvariants();
	});

	it("a relay page spanning two waves names each reader in one prebook.notified event", async () => {
		const queue = stubQueue();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "waves",
			wave_factor: 1,
			wave_minutes: 5,
		});
		await bulkLine(book.id, 16_100);
		queueDown(queue);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 8_050 } });
		await runCron(Date.now() + 5 * MINUTE + 1_000);
		queueBack(queue);
		await runCron(Date.now() + 8 * MINUTE);
		await queue.publishRest();
		const { results } = await env.DB.prepare(
			"SELECT payload FROM webhook_events WHERE type = 'prebook.notified' AND payload ->> 'book_id' = ?",
		)
			.bind(book.id)
			.all<{ payload: string }>();
		const named = results.flatMap((row) => (JSON.parse(row.payload) as { user_ids: number[] }).user_ids);
		expect(named).toHaveLength(16_100);
		expect(new Set(named).size).toBe(16_100);
		await expectInvariants();
	});
});
