import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { publishOutcome } from "../src/features/allocation/publish-outcome";
import { listPrebooks } from "../src/features/prebooks/prebooks.service";
import { setStock } from "../src/features/restocks/restocks.service";
import { createDb, newD1Usage } from "../src/lib/db";
import type { Effects } from "../src/lib/effects";
import {
	api,
	bulkUsers,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	stubQueue,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const outOfStockBook = () => createBook(admin.token, { stock_quantity: 0 });
const prebook = (user: TestUser, bookId: unknown) =>
	api("POST", "/prebooks", { token: user.token, body: { book_id: bookId } });
const restock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });
const statusOf = async (user: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: user.token })).body;

describe("POST /prebooks", () => {
	it("pre-books an out-of-stock book (201, waiting) in one round trip", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		const res = await prebook(user, book.id);
		expect(res.status).toBe(201);
		expect(res.body).toEqual({
			id: expect.any(Number),
			book_id: book.id,
			work_id: null,
			formats: null,
			book_title: book.title,
			book_author: "Test Author",
			status: "waiting",
			position: 1,
			paused_until: null,
			passes_left: 2,
			on_hold_reason: null,
			estimate: { expected_by: null, basis: "none", ahead: { active: 0, passed_over: 0 } },
			draw: null,
			created_at: expect.stringMatching(/Z$/),
			notified_at: null,
			offered_at: null,
			hold_expires_at: null,
			fulfilled_at: null,
			expired_at: null,
			cancelled_at: null,
		});
		expect(d1RoundTrips(res)).toBe(1);
	});

	it("refuses a book in stock (409 PREBOOK_BOOK_IN_STOCK)", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 2 });
		expectError(await prebook(user, book.id), 409, "PREBOOK_BOOK_IN_STOCK", "book_id");
	});

	it("refuses a second waiting pre-booking of the same book (409 PREBOOK_DUPLICATE)", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		await prebook(user, book.id);
		expectError(await prebook(user, book.id), 409, "PREBOOK_DUPLICATE", "book_id");
	});

	it("answers 404 BOOK_NOT_FOUND for an unknown book", async () => {
		const user = await createUser();
		expectError(await prebook(user, 999999), 404, "BOOK_NOT_FOUND", "book_id");
	});

	it("requires a token (401)", async () => {
		const book = await outOfStockBook();
		expectError(await api("POST", "/prebooks", { body: { book_id: book.id } }), 401, "AUTH_REQUIRED");
	});

	it("caps a user at 100 waiting pre-bookings (409 PREBOOK_LIMIT_REACHED)", async () => {
		const user = await createUser();
		const bookIds: number[] = [];
		for (let i = 0; i < 101; i++) bookIds.push((await outOfStockBook()).id);
		// 100 rows straight into D1: the limit, not the setup, is under test.
		await env.DB.batch(
			bookIds
				.slice(0, 100)
				.map((bookId) =>
					env.DB.prepare("INSERT INTO pre_bookings (user_id, book_id, status) VALUES (?, ?, 'waiting')").bind(
						user.id,
						bookId,
					),
				),
		);
		expectError(await prebook(user, bookIds[100]), 409, "PREBOOK_LIMIT_REACHED", "book_id");
		// A cancel frees a slot.
		const first = await api("GET", "/prebooks?limit=1", { token: user.token });
		await api("DELETE", `/prebooks/${first.body.items[0].id}`, { token: user.token });
		expect((await prebook(user, bookIds[100])).status).toBe(201);
	});

	it("applies the error precedence: unknown book, in stock, duplicate, limit", async () => {
		const user = await createUser();
		const books = [];
		for (let i = 0; i < 100; i++) books.push(await outOfStockBook());
		await env.DB.batch(
			books.map((book) =>
				env.DB.prepare("INSERT INTO pre_bookings (user_id, book_id, status) VALUES (?, ?, 'waiting')").bind(
					user.id,
					book.id,
				),
			),
		);
		// At the limit and already waiting for this book: the duplicate wins.
		expectError(await prebook(user, books[0]?.id), 409, "PREBOOK_DUPLICATE");
		// At the limit, waiting for it, and it is back in stock: in-stock wins.
		await env.DB.prepare("UPDATE books SET stock_quantity = 3 WHERE id = ?").bind(books[1]?.id).run();
		expectError(await prebook(user, books[1]?.id), 409, "PREBOOK_BOOK_IN_STOCK");
		expectError(await prebook(user, 999999), 404, "BOOK_NOT_FOUND");
	});

	it.each([["1"], [0], [-4], [1.5], [null], ["1 OR 1=1"], [{ id: 1 }]])(
		"rejects book_id %j with 422",
		async (bookId) => {
			const user = await createUser();
			expectError(await prebook(user, bookId), 422, "VALIDATION_ERROR", "book_id");
		},
	);

	it("ignores user_id and status in the body (no mass assignment)", async () => {
		const user = await createUser();
		const victim = await createUser();
		const book = await outOfStockBook();
		const res = await api("POST", "/prebooks", {
			token: user.token,
			body: {
				book_id: book.id,
				user_id: victim.id,
				status: "notified",
				notified_at: "2020-01-01T00:00:00.000Z",
			},
		});
		expect(res.body).toMatchObject({ status: "waiting", notified_at: null });
		expect((await api("GET", "/prebooks", { token: victim.token })).body.items).toEqual([]);
		expect((await api("GET", "/prebooks", { token: user.token })).body.items).toHaveLength(1);
	});

	it("refuses deactivated users on every pre-booking endpoint (403)", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		const created = await prebook(user, book.id);
		await api("PATCH", `/admin/users/${user.id}`, { token: admin.token, body: { is_active: false } });
		expectError(await prebook(user, book.id), 403, "AUTH_ACCOUNT_DEACTIVATED");
		expectError(await api("GET", "/prebooks", { token: user.token }), 403, "AUTH_ACCOUNT_DEACTIVATED");
		expectError(
			await api("GET", `/prebooks/${created.body.id}`, { token: user.token }),
			403,
			"AUTH_ACCOUNT_DEACTIVATED",
		);
		expectError(
			await api("DELETE", `/prebooks/${created.body.id}`, { token: user.token }),
			403,
			"AUTH_ACCOUNT_DEACTIVATED",
		);
	});
});

describe("GET /prebooks", () => {
	it("is empty for a new user", async () => {
		const user = await createUser();
		const res = await api("GET", "/prebooks", { token: user.token });
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ items: [], next_cursor: null });
		expect(d1RoundTrips(res)).toBe(1);
	});

	it("lists two pre-bookings newest first", async () => {
		const user = await createUser();
		const first = await prebook(user, (await outOfStockBook()).id);
		const second = await prebook(user, (await outOfStockBook()).id);
		const res = await api("GET", "/prebooks", { token: user.token });
		expect(res.body.items.map((p: { id: number }) => p.id)).toEqual([second.body.id, first.body.id]);
	});

	it("shows only the caller's pre-bookings", async () => {
		const alice = await createUser();
		const bob = await createUser();
		const book = await outOfStockBook();
		await prebook(alice, book.id);
		await prebook(bob, book.id);
		const res = await api("GET", "/prebooks", { token: alice.token });
		expect(res.body.items).toHaveLength(1);
		expect(res.body.items[0].book_id).toBe(book.id);
		const bobs = await api("GET", "/prebooks", { token: bob.token });
		expect(bobs.body.items[0].id).not.toBe(res.body.items[0].id);
	});

	it("reads a user's page from idx_pre_bookings_user_created, without sorting", async () => {
		const user = await createUser();
		// The app's own query, as GET /prebooks runs it.
		const { sql, params } = listPrebooks(createDb(env.DB), user.id, { limit: 50 }).toSQL();
		const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
			.bind(...params)
			.all<{ detail: string }>();
		const steps = plan.results.map((step) => step.detail).join("\n");
		expect(steps).toContain("idx_pre_bookings_user_created");
		expect(steps).not.toContain("TEMP B-TREE");
	});

	it("pages newest first with a keyset cursor, also across equal timestamps", async () => {
		const user = await createUser();
		const books = [];
		for (let i = 0; i < 5; i++) books.push(await outOfStockBook());
		// Same created_at for all five: the id breaks the tie.
		await env.DB.batch(
			books.map((book) =>
				env.DB.prepare(
					"INSERT INTO pre_bookings (user_id, book_id, status, created_at) VALUES (?, ?, 'waiting', '2026-01-01T00:00:00.000Z')",
				).bind(user.id, book.id),
			),
		);
		const seen: number[] = [];
		let cursor: string | null = null;
		do {
			const res: { body: { items: { id: number }[]; next_cursor: string | null } } = await api(
				"GET",
				`/prebooks?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
				{ token: user.token },
			);
			seen.push(...res.body.items.map((p) => p.id));
			cursor = res.body.next_cursor;
		} while (cursor);
		expect(seen).toHaveLength(5);
		expect(seen).toEqual([...seen].sort((a, b) => b - a));
	});
});

describe("GET /prebooks/{id}", () => {
	it("returns the caller's pre-booking and hides another user's (404)", async () => {
		const owner = await createUser();
		const other = await createUser();
		const created = await prebook(owner, (await outOfStockBook()).id);
		const res = await api("GET", `/prebooks/${created.body.id}`, { token: owner.token });
		expect(res.body).toEqual(created.body);
		expectError(
			await api("GET", `/prebooks/${created.body.id}`, { token: other.token }),
			404,
			"PREBOOK_NOT_FOUND",
		);
		expectError(await api("GET", "/prebooks/999999", { token: owner.token }), 404, "PREBOOK_NOT_FOUND");
		expectError(await api("GET", "/prebooks/abc", { token: owner.token }), 422, "VALIDATION_ERROR", "id");
	});
});

describe("DELETE /prebooks/{id}", () => {
	it("cancels (204): the row stays, status cancelled with cancelled_at", async () => {
		const user = await createUser();
		const created = await prebook(user, (await outOfStockBook()).id);
		const res = await api("DELETE", `/prebooks/${created.body.id}`, { token: user.token });
		expect(res.status).toBe(204);
		expect(d1RoundTrips(res)).toBe(1);
		const after = await statusOf(user, created.body.id);
		expect(after.status).toBe("cancelled");
		expect(after.cancelled_at).toMatch(/Z$/);
	});

	it("answers 409 PREBOOK_ALREADY_CANCELLED the second time", async () => {
		const user = await createUser();
		const created = await prebook(user, (await outOfStockBook()).id);
		await api("DELETE", `/prebooks/${created.body.id}`, { token: user.token });
		expectError(
			await api("DELETE", `/prebooks/${created.body.id}`, { token: user.token }),
			409,
			"PREBOOK_ALREADY_CANCELLED",
		);
	});

	it("answers 404 for an unknown id and for another user's pre-booking (which stays waiting)", async () => {
		const owner = await createUser();
		const other = await createUser();
		const created = await prebook(owner, (await outOfStockBook()).id);
		expectError(await api("DELETE", "/prebooks/999999", { token: owner.token }), 404, "PREBOOK_NOT_FOUND");
		expectError(
			await api("DELETE", `/prebooks/${created.body.id}`, { token: other.token }),
			404,
			"PREBOOK_NOT_FOUND",
		);
		expect((await statusOf(owner, created.body.id)).status).toBe("waiting");
	});

	it("lets the user pre-book the same book again after cancelling", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		const first = await prebook(user, book.id);
		await api("DELETE", `/prebooks/${first.body.id}`, { token: user.token });
		const again = await prebook(user, book.id);
		expect(again.status).toBe(201);
		expect(again.body.id).not.toBe(first.body.id);
	});
});

describe("restock notifies waiting pre-bookings", () => {
	it("0→5 notifies both waiting users with the same notified_at, in one round trip", async () => {
		const alice = await createUser();
		const bob = await createUser();
		const book = await outOfStockBook();
		const a = await prebook(alice, book.id);
		const b = await prebook(bob, book.id);
		const res = await restock(book.id, 5);
		expect(res.status).toBe(200);
		expect(res.body.stock_quantity).toBe(5);
		expect(d1RoundTrips(res)).toBe(1);
		const [pa, pb] = [await statusOf(alice, a.body.id), await statusOf(bob, b.body.id)];
		expect([pa.status, pb.status]).toEqual(["notified", "notified"]);
		expect(pa.notified_at).toMatch(/Z$/);
		expect(pb.notified_at).toBe(pa.notified_at);
	});

	it("5→10 does not notify again, and a new pre-booking is refused while in stock", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		const created = await prebook(user, book.id);
		await restock(book.id, 5);
		const firstNotifiedAt = (await statusOf(user, created.body.id)).notified_at;
		const queue = stubQueue();
		queue.clear();
		await restock(book.id, 10);
		expect((await statusOf(user, created.body.id)).notified_at).toBe(firstNotifiedAt);
		expect(queue.published()).toEqual([]);
		expectError(await prebook(user, book.id), 409, "PREBOOK_BOOK_IN_STOCK");
	});

	it("leaves cancelled pre-bookings cancelled", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		const created = await prebook(user, book.id);
		await api("DELETE", `/prebooks/${created.body.id}`, { token: user.token });
		await restock(book.id, 5);
		const after = await statusOf(user, created.body.id);
		expect(after).toMatchObject({ status: "cancelled", notified_at: null });
	});

	it("0→0 leaves them waiting, and so do decreases, even to 0", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		const created = await prebook(user, book.id);
		const queue = stubQueue();
		await restock(book.id, 0);
		expect((await statusOf(user, created.body.id)).status).toBe("waiting");
		const restocks = await env.DB.prepare("SELECT count(*) AS n FROM restocks WHERE book_id = ?")
			.bind(book.id)
			.first("n");
		expect(restocks).toBe(0);
		// The only reader who can wait beside copies of a notify_all book is a paused one (rule 11): paused
		// through a restock, it gives the decreases someone they must not notify.
		await env.DB.prepare("UPDATE pre_bookings SET paused_until = '2999-01-01T00:00:00.000Z' WHERE id = ?")
			.bind(created.body.id)
			.run();
		await restock(book.id, 6);
		expect((await restock(book.id, 2)).body.stock_quantity).toBe(2);
		expect((await restock(book.id, 0)).body.stock_quantity).toBe(0);
		expect(await statusOf(user, created.body.id)).toMatchObject({ status: "waiting", notified_at: null });
		expect(queue.published()).toEqual([]);
		// Still waiting for the next real restock, which notifies them once the pause is over.
		await env.DB.prepare("UPDATE pre_bookings SET paused_until = NULL WHERE id = ?")
			.bind(created.body.id)
			.run();
		await restock(book.id, 1);
		expect((await statusOf(user, created.body.id)).status).toBe("notified");
		expect(queue.published()).toEqual([expect.objectContaining({ book_id: book.id, user_ids: [user.id] })]);
	});

	it("a sold-out book re-stocked later notifies only the users waiting since", async () => {
		const early = await createUser();
		const late = await createUser();
		const book = await outOfStockBook();
		const first = await prebook(early, book.id);
		await restock(book.id, 2);
		const earlyNotifiedAt = (await statusOf(early, first.body.id)).notified_at;
		await restock(book.id, 0);
		const second = await prebook(late, book.id);
		const queue = stubQueue();
		queue.clear();
		await restock(book.id, 4);
		expect(queue.published()).toEqual([expect.objectContaining({ book_id: book.id, user_ids: [late.id] })]);
		const [e, l] = [await statusOf(early, first.body.id), await statusOf(late, second.body.id)];
		expect(e).toMatchObject({ status: "notified", notified_at: earlyNotifiedAt });
		expect(l.status).toBe("notified");
		expect(l.notified_at > e.notified_at).toBe(true);
	});

	it("records the restock and links every notified pre-booking to it", async () => {
		const users = [await createUser(), await createUser()];
		const book = await outOfStockBook();
		for (const user of users) await prebook(user, book.id);
		await restock(book.id, 3);
		await restock(book.id, 1);
		const { results: restocks } = await env.DB.prepare(
			"SELECT id, admin_id, quantity_before, quantity_after, notified_count FROM restocks WHERE book_id = ?",
		)
			.bind(book.id)
			.all();
		// Only the increase is a restock; the decrease to 1 is not.
		expect(restocks).toEqual([
			{
				id: expect.any(Number),
				admin_id: admin.id,
				quantity_before: 0,
				quantity_after: 3,
				notified_count: 2,
			},
		]);
		const { results: links } = await env.DB.prepare(
			"SELECT DISTINCT restock_id FROM pre_bookings WHERE book_id = ?",
		)
			.bind(book.id)
			.all();
		expect(links).toEqual([{ restock_id: restocks[0]?.id }]);
	});

	it("publishes the notified user ids to the queue", async () => {
		const users = [await createUser(), await createUser()];
		const book = await outOfStockBook();
		for (const user of users) await prebook(user, book.id);
		const queue = stubQueue();
		await restock(book.id, 1);
		expect(queue.published()).toEqual([
			{
				type: "prebook.notified",
				book_id: book.id,
				restock_id: expect.any(Number),
				notified_at: expect.stringMatching(/Z$/),
				user_ids: expect.arrayContaining(users.map((u) => u.id)),
			},
		]);
	});

	it("publishes nothing when nobody was waiting", async () => {
		const book = await outOfStockBook();
		const queue = stubQueue();
		await restock(book.id, 3);
		expect(queue.sendBatch).not.toHaveBeenCalled();
		expect(queue.send).not.toHaveBeenCalled();
	});

	it("reads only the book's waiting rows (partial index, no table scan)", async () => {
		const book = await outOfStockBook();
		const elsewhere = await outOfStockBook();
		// A large table in which the book's 10 waiting pre-bookings are a small fraction: 3,000 rows waiting
		// for another book, and 1,000 of this book's own, notified by an earlier restock.
		const crowd = await bulkUsers(3000);
		await env.DB.prepare(
			"INSERT INTO pre_bookings (user_id, book_id, status) SELECT id, ?, 'waiting' FROM users WHERE email LIKE ?",
		)
			.bind(elsewhere.id, crowd)
			.run();
		await env.DB.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, notified_at)
			 SELECT id, ?, 'notified', '2026-01-01T00:00:00.000Z' FROM users WHERE email LIKE ? LIMIT 1000`,
		)
			.bind(book.id, crowd)
			.run();
		const waiting = await bulkUsers(10);
		const { results: waitingIds } = await env.DB.prepare(
			"INSERT INTO pre_bookings (user_id, book_id, status) SELECT id, ?, 'waiting' FROM users WHERE email LIKE ? RETURNING user_id",
		)
			.bind(book.id, waiting)
			.all<{ user_id: number }>();
		expect(waitingIds).toHaveLength(10);

		// The app's restock, as PATCH /books/{id}/stock runs it, on a metered client.
		const queue = stubQueue();
		const usage = newD1Usage();
		const afterResponse: Promise<unknown>[] = [];
		const effects: Effects = {
			notificationQueue: env.PREBOOK_QUEUE,
			publicationQueue: env.PUBLICATION_QUEUE,
			webhookQueue: env.WEBHOOK_QUEUE,
			afterResponse: (work) => afterResponse.push(work),
			systemDb: createDb(env.DB),
			usage,
			mailer: { send: async () => {} },
			forgetCatalog: async () => {},
		};
		const updated = await setStock(createDb(env.DB, usage), admin.id, book.id, 5);
		await publishOutcome(effects, updated.outcome);
		await Promise.all(afterResponse);

		expect(updated.book.stockQuantity).toBe(5);
		const byId = (a: number, b: number) => a - b;
		expect(
			queue
				.published()
				.flatMap((m) => m.user_ids)
				.sort(byId),
		).toEqual(waitingIds.map((row) => row.user_id).sort(byId));
		expect(usage.roundTrips).toBe(1);
		// Measured: about 7 rows per waiting pre-booking (the row and its index entries, for the count and
		// the update) and 17 for the book and the restock, about 4 per notified pre-booking and a few more for
		// the webhook outbox statements, which record every event (the event feed) by reading the rows this
		// batch notified, and the engine's other policies, which stop at the book (292 in all; up to 330 by the database's state). Without
		// idx_pre_bookings_book_waiting the count and the update each scan the table: over 6,000.
		expect(usage.rowsRead).toBeLessThanOrEqual(15 * waitingIds.length + 200);
	});

	it("is refused to non-admins and validates the quantity", async () => {
		const user = await createUser();
		const book = await outOfStockBook();
		await prebook(user, book.id);
		expectError(
			await api("PATCH", `/books/${book.id}/stock`, { token: user.token, body: { quantity: 5 } }),
			403,
			"AUTH_FORBIDDEN",
		);
		expectError(await restock(book.id, -5), 422, "VALIDATION_ERROR", "quantity");
		expect((await api("GET", "/prebooks", { token: user.token })).body.items[0].status).toBe("waiting");
	});
});

describe("GET /admin/prebooks/demand", () => {
	it("ranks books by waiting pre-bookings, most first, for admins only", async () => {
		const readers = [await createUser(), await createUser(), await createUser()];
		const popular = await outOfStockBook();
		const niche = await outOfStockBook();
		for (const reader of readers) await prebook(reader, popular.id);
		const cancelled = await prebook(readers[0] as TestUser, niche.id);
		await prebook(readers[1] as TestUser, niche.id);
		await prebook(readers[2] as TestUser, niche.id);
		await api("DELETE", `/prebooks/${cancelled.body.id}`, { token: readers[0]?.token });
		const res = await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token });
		expect(res.status).toBe(200);
		const ranked = res.body.items.filter((i: { book_id: number }) =>
			[popular.id, niche.id].includes(i.book_id),
		);
		expect(ranked).toEqual([
			{
				book_id: popular.id,
				title: popular.title,
				author: "Test Author",
				stock_quantity: 0,
				held_quantity: 0,
				waiting_count: 3,
				offered_count: 0,
				inbound_quantity: 0,
				overdue_inbound_quantity: 0,
				// The buy signal's arithmetic: test/insights.test.ts.
				conversion_rate: expect.any(Number),
				suggested_order_quantity: expect.any(Number),
			},
			{
				book_id: niche.id,
				title: niche.title,
				author: "Test Author",
				stock_quantity: 0,
				held_quantity: 0,
				waiting_count: 2,
				offered_count: 0,
				inbound_quantity: 0,
				overdue_inbound_quantity: 0,
				// The buy signal's arithmetic: test/insights.test.ts.
				conversion_rate: expect.any(Number),
				suggested_order_quantity: expect.any(Number),
			},
		]);
		const counts = res.body.items.map((i: { waiting_count: number }) => i.waiting_count);
		expect(counts).toEqual([...counts].sort((a, b) => b - a));
		expectError(
			await api("GET", "/admin/prebooks/demand", { token: readers[0]?.token }),
			403,
			"AUTH_FORBIDDEN",
		);
		expectError(
			await api("GET", "/admin/prebooks/demand?limit=500", { token: admin.token }),
			422,
			"VALIDATION_ERROR",
		);
	});
});
