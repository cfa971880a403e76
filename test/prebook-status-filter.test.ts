import { beforeEach, describe, expect, it } from "vitest";
import { PREBOOK_STATUSES, type PrebookStatus } from "../src/db/schema";
import {
	afterHoldOf,
	api,
	buy,
	createAdmin,
	createBook,
	createUser,
	expectError,
	runCron,
	startFromEmptyStorage,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";

// The tests run the cron's expiry sweep, which takes every book's lapsed holds: each starts from an empty
// database, so none sweeps or waits on another's.
let admin: TestUser;
beforeEach(async () => {
	await startFromEmptyStorage();
	admin = await createAdmin();
});

async function prebook(reader: TestUser, bookId: number): Promise<number> {
	const res = await api("POST", "/prebooks", { token: reader.token, body: { book_id: bookId } });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body.id;
}

const restock = async (bookId: number, quantity: number) =>
	expect(
		(await api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } })).status,
	).toBe(200);

const statusOf = async (reader: TestUser, id: number): Promise<PrebookStatus> =>
	(await api("GET", `/prebooks/${id}`, { token: reader.token })).body.status;

/** Runs the cron at `at`, which expires the pre-booking. */
async function expireByCron(reader: TestUser, id: number, at: number) {
	await runCron(at);
	expect(await statusOf(reader, id)).toBe("expired");
}

/** An invalid status, with the whole envelope the contract gives a validation failure. */
async function expectInvalidStatus(path: string, token: string) {
	const res = await api("GET", path, { token });
	expectError(res, 422, "VALIDATION_ERROR", "status");
	expect(res.body.request_id).toBe(res.headers.get("X-Request-Id"));
	expect(res.body.errors).toEqual([{ field: "status", detail: expect.any(String) }]);
}

const INVALID_STATUSES = ["pending", "WAITING", "Offered", "active", "waiting,offered", "", "0"];

describe("GET /prebooks?status=", () => {
	it("returns exactly the caller's pre-bookings in each status, newest first", async () => {
		const reader = await createUser();
		const other = await createUser();
		const byStatus = {} as Record<PrebookStatus, number[]>;
		for (const status of PREBOOK_STATUSES) byStatus[status] = [];

		// waiting (two, to check the order): notify_all books still out of stock.
		for (let i = 0; i < 2; i++) {
			const book = await createBook(admin.token, { stock_quantity: 0 });
			byStatus.waiting.unshift(await prebook(reader, book.id));
			await prebook(other, book.id);
		}
		// notified: a notify_all book restocked.
		const restocked = await createBook(admin.token, { stock_quantity: 0 });
		byStatus.notified.push(await prebook(reader, restocked.id));
		await prebook(other, restocked.id);
		await restock(restocked.id, 5);
		// offered: a hold_queue book restocked; its hold lasts a week, so the expiry sweep below does not end it.
		const held = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 168,
		});
		byStatus.offered.push(await prebook(reader, held.id));
		await prebook(other, held.id);
		await restock(held.id, 1);
		// fulfilled: a held copy bought by its holder.
		const bought = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 168,
		});
		byStatus.fulfilled.push(await prebook(reader, bought.id));
		await restock(bought.id, 1);
		await buy(reader, bought.id);
		// expired: a one-hour hold the cron sweep ends two hours later (the copy goes to `other`, next in line).
		const lapsed = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		byStatus.expired.push(await prebook(reader, lapsed.id));
		await prebook(other, lapsed.id);
		await restock(lapsed.id, 1);
		await expireByCron(
			reader,
			byStatus.expired[0] as number,
			await afterHoldOf(byStatus.expired[0] as number),
		);
		// cancelled: a waiting pre-booking the reader cancelled, and an offered one.
		const dropped = await createBook(admin.token, { stock_quantity: 0 });
		const droppedId = await prebook(reader, dropped.id);
		expect((await api("DELETE", `/prebooks/${droppedId}`, { token: reader.token })).status).toBe(204);
		const droppedHold = await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" });
		const droppedHoldId = await prebook(reader, droppedHold.id);
		await restock(droppedHold.id, 1);
		expect((await api("DELETE", `/prebooks/${droppedHoldId}`, { token: reader.token })).status).toBe(204);
		byStatus.cancelled.push(droppedHoldId, droppedId);

		const all = await api("GET", "/prebooks", { token: reader.token });
		expect(all.status).toBe(200);
		expect(all.body.next_cursor).toBeNull();
		// Created one after another: newest first is the reverse of creation, i.e. ids descending.
		const everyId = Object.values(byStatus).flat();
		expect(all.body.items.map((p: { id: number }) => p.id)).toEqual([...everyId].sort((a, b) => b - a));

		for (const status of PREBOOK_STATUSES) {
			const filtered = await api("GET", `/prebooks?status=${status}`, { token: reader.token });
			expect(filtered.status).toBe(200);
			expect(filtered.body.next_cursor).toBeNull();
			expect(
				filtered.body.items.map((p: { id: number; status: string }) => [p.id, p.status]),
				status,
			).toEqual(byStatus[status].map((id) => [id, status]));
			// Each row carries the timestamp of the state it is in, and a position only while waiting.
			for (const item of filtered.body.items) {
				const reached = {
					waiting: "created_at",
					notified: "notified_at",
					offered: "hold_expires_at",
					fulfilled: "fulfilled_at",
					expired: "expired_at",
					cancelled: "cancelled_at",
				}[status];
				expect(item[reached], `${status}: ${reached}`).toMatch(/Z$/);
				expect(item.position === null, `${status}: position`).toBe(status !== "waiting");
			}
		}
		// A filtered list pages like the whole one.
		const firstPage = await api("GET", "/prebooks?status=waiting&limit=1", { token: reader.token });
		expect(firstPage.body.items.map((p: { id: number }) => p.id)).toEqual([byStatus.waiting[0]]);
		const secondPage = await api(
			"GET",
			`/prebooks?status=waiting&limit=1&cursor=${firstPage.body.next_cursor}`,
			{
				token: reader.token,
			},
		);
		expect(secondPage.body.items.map((p: { id: number }) => p.id)).toEqual([byStatus.waiting[1]]);
		expect(secondPage.body.next_cursor).toBeNull();

		// The other reader sees only its own rows, whatever the filter.
		const others = await api("GET", "/prebooks", { token: other.token });
		expect(others.body.items).toHaveLength(5);
		expect(others.body.items.filter((p: { id: number }) => everyId.includes(p.id))).toEqual([]);
		expect(
			(await api("GET", "/prebooks?status=offered", { token: other.token })).body.items.map(
				(p: { book_id: number }) => p.book_id,
			),
		).toEqual([lapsed.id]);
		await expectInvariants();
	});

	it("answers an unknown status with 422 VALIDATION_ERROR (field status, every problem listed)", async () => {
		const reader = await createUser();
		for (const status of INVALID_STATUSES) {
			await expectInvalidStatus(`/prebooks?status=${encodeURIComponent(status)}`, reader.token);
		}
	});
});

describe("GET /admin/books/{id}/prebooks?status=", () => {
	it("returns exactly the book's pre-bookings in each status, in line order, also as CSV", async () => {
		// One book passes through both policies, so its line holds every status: notify_all first (a restock
		// notifies), then sold out and switched to hold_queue (a restock offers, a holder buys, a hold lapses).
		const title = await createBook(admin.token, { stock_quantity: 0 });
		const notified = await createUser();
		const fulfilled = await createUser();
		const expired = await createUser();
		const cancelled = await createUser();
		const offered = await createUser();
		const waiting = await createUser();
		const ids = new Map<TestUser, number>();
		ids.set(notified, await prebook(notified, title.id));
		await restock(title.id, 1);
		await restock(title.id, 0);
		const switched = await api("PATCH", `/books/${title.id}`, {
			token: admin.token,
			body: { allocation: "hold_queue", hold_hours: 1 },
		});
		expect(switched.body).toMatchObject({ allocation: "hold_queue", held_quantity: 0 });
		for (const reader of [fulfilled, expired, cancelled, offered, waiting])
			ids.set(reader, await prebook(reader, title.id));
		await restock(title.id, 2);
		await buy(fulfilled, title.id);
		expect((await api("DELETE", `/prebooks/${ids.get(cancelled)}`, { token: cancelled.token })).status).toBe(
			204,
		);
		await expireByCron(expired, ids.get(expired) as number, await afterHoldOf(ids.get(expired) as number));
		const expected: Record<PrebookStatus, TestUser> = {
			notified,
			fulfilled,
			expired,
			cancelled,
			offered,
			waiting,
		};

		const line = async (query: string) => {
			const res = await api("GET", `/admin/books/${title.id}/prebooks${query}`, { token: admin.token });
			expect(res.status).toBe(200);
			return res.body.items.map((e: { id: number; user_id: number; email: string; status: string }) => [
				e.id,
				e.user_id,
				e.email,
				e.status,
			]);
		};
		const row = (status: PrebookStatus) => {
			const reader = expected[status];
			return [ids.get(reader), reader.id, reader.email, status];
		};
		// The whole line, in line order: the notified reader first, then the hold_queue readers as they came.
		expect(await line("")).toEqual(
			(["notified", "fulfilled", "expired", "cancelled", "offered", "waiting"] as const).map(row),
		);
		for (const status of PREBOOK_STATUSES) {
			expect(await line(`?status=${status}`), status).toEqual([row(status)]);
		}
		const waitingEntry = await api("GET", `/admin/books/${title.id}/prebooks?status=waiting`, {
			token: admin.token,
		});
		expect(waitingEntry.body.items[0]).toMatchObject({ position: 1, offered_at: null });
		const offeredEntry = await api("GET", `/admin/books/${title.id}/prebooks?status=offered`, {
			token: admin.token,
		});
		expect(offeredEntry.body.items[0]).toMatchObject({
			position: null,
			offered_at: expect.stringMatching(/Z$/),
		});

		const csv = await api("GET", `/admin/books/${title.id}/prebooks?status=expired`, {
			token: admin.token,
			headers: { Accept: "text/csv" },
		});
		expect(csv.status).toBe(200);
		const lines = (csv.body as string).trim().split("\r\n");
		expect(lines).toHaveLength(2);
		expect(lines[1]).toMatch(new RegExp(`^${ids.get(expired)},${expired.id},${expired.email},expired,,`));

		for (const status of INVALID_STATUSES) {
			await expectInvalidStatus(
				`/admin/books/${title.id}/prebooks?status=${encodeURIComponent(status)}`,
				admin.token,
			);
		}
		await expectInvariants();
	});
});
