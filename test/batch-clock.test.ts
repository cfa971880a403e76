/**
 * Every engine batch has a time of its own (src/lib/clock.ts): the engine finds what its batch did by it
 * (the wave, offer round, notice it created "at now"). A Worker's clock does not advance while it runs, so
 * two requests of one isolate often read the same millisecond; another isolate may use it too. Found by a
 * tester: two restocks of a `waves` book in one millisecond notified readers under a restock nothing
 * counted or published.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
	api,
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

const restock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });

/** The book's pre-bookings' statuses, and the notified ones' restock records with their counts. */
async function line(bookId: number) {
	const { results } = await env.DB.prepare(
		`SELECT p.status, r.notified_count, r.id AS restock_id FROM pre_bookings AS p
		 LEFT JOIN restocks AS r ON r.id = p.restock_id WHERE p.book_id = ? ORDER BY p.id`,
	)
		.bind(bookId)
		.all<{ status: string; notified_count: number | null; restock_id: number | null }>();
	return results;
}

describe("a batch's time is its own", () => {
	it("two restocks of a waves book in one frozen millisecond notify one wave, counted and published", async () => {
		const queue = stubQueue();
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "waves", wave_factor: 1 });
		const readers = await Promise.all(Array.from({ length: 5 }, () => createUser()));
		await prebookAll(readers, book.id);
		const frozen = Date.now();
		vi.spyOn(Date, "now").mockReturnValue(frozen);
		const results = await Promise.all([restock(book.id, 1), restock(book.id, 2)]);
		vi.restoreAllMocks();
		expect(results.map((res) => res.status)).toEqual([200, 200]);

		// 0 → 1 is the restock that takes the copies from 0: one wave of 1 (the other waits for the next).
		const rows = await line(book.id);
		const notified = rows.filter((row) => row.status === "notified");
		expect(notified).toHaveLength(1);
		// Every notified reader is counted under its restock record and on the queue.
		expect(notified.every((row) => row.notified_count === 1)).toBe(true);
		expect(queue.published().flatMap((message) => message.user_ids)).toHaveLength(1);
		const stamps = await env.DB.prepare("SELECT created_at FROM restocks WHERE book_id = ? ORDER BY id")
			.bind(book.id)
			.all<{ created_at: string }>();
		expect(new Set(stamps.results.map((row) => row.created_at)).size).toBe(2);
		await expectInvariants();
	});

	it("a time another isolate already used is not reused: the batch runs again a millisecond later", async () => {
		stubQueue();
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "waves", wave_factor: 1 });
		await prebookAll([await createUser(), await createUser()], book.id);
		// Another isolate's batches took the next 3 milliseconds (this one's clock is frozen before them).
		const frozen = Date.now() + 1_000;
		for (let ms = 0; ms <= 3; ms++) {
			await env.DB.prepare("INSERT INTO batch_clock (at) VALUES (?)")
				.bind(new Date(frozen + ms).toISOString())
				.run();
		}
		vi.spyOn(Date, "now").mockReturnValue(frozen);
		const res = await restock(book.id, 1);
		vi.restoreAllMocks();
		expect(res.status).toBe(200);
		const [record] = (
			await env.DB.prepare("SELECT created_at FROM restocks WHERE book_id = ?").bind(book.id).all<{
				created_at: string;
			}>()
		).results;
		expect(Date.parse(record?.created_at ?? "")).toBeGreaterThan(frozen + 3);
		expect((await line(book.id)).map((row) => row.status)).toEqual(["notified", "waiting"]);
		await expectInvariants();
	});

	it("the cron forgets claims over an hour old, and keeps the recent ones", async () => {
		const old = new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString();
		const recent = new Date(Date.now() - 60 * 1000).toISOString();
		await env.DB.prepare("INSERT INTO batch_clock (at) VALUES (?), (?)").bind(old, recent).run();
		await runCron(Date.now());
		const { results } = await env.DB.prepare("SELECT at FROM batch_clock WHERE at IN (?, ?)")
			.bind(old, recent)
			.all<{ at: string }>();
		expect(results).toEqual([{ at: recent }]);
	});
});
