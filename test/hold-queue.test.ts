/**
 * The hold queue (API.md, Pre-bookings rules 5–7): place in line, held copies, expiry and roll-forward.
 * The queue's answer is stubbed (the messages are captured here), so no consumer runs behind a test.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import type { PrebookMessage } from "../src/prebook-emails/messages";
import {
	api,
	bulkUsers,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	prebookAll,
	runCron,
	type TestUser,
} from "./helpers";
import { expectInvariants } from "./invariants";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

function captureQueue() {
	const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
	return () => sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as PrebookMessage));
}

const holdQueueBook = (fields: Record<string, unknown> = {}) =>
	createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue", hold_hours: 24, ...fields });

const prebookOf = async (user: TestUser, id: number) =>
	(await api("GET", `/prebooks/${id}`, { token: user.token })).body;
const book = async (id: number) => (await api("GET", `/books/${id}`)).body;

describe("the hold queue, end to end", () => {
	it("cancelling an offered pre-booking gives its copy to the next in line at once", async () => {
		const messages = captureQueue();
		const title = await holdQueueBook();
		const readers = [await createUser(), await createUser()];
		const [first, second] = await prebookAll(readers, title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const cancel = await api("DELETE", `/prebooks/${first}`, { token: readers[0]?.token });
		expect(cancel.status).toBe(204);
		expect(d1RoundTrips(cancel)).toBe(1);
		expect((await prebookOf(readers[1] as TestUser, second as number)).status).toBe("offered");
		expect(await book(title.id)).toMatchObject({ held_quantity: 1, available_quantity: 0 });
		expect(
			messages()
				.filter((m) => m.type === "prebook.offered")
				.map((m) => m.user_ids),
		).toEqual([[readers[0]?.id], [readers[1]?.id]]);
	});

	it("switching a book to hold_queue offers its available copies to the line", async () => {
		captureQueue();
		const title = await createBook(admin.token, { stock_quantity: 0 });
		const readers = [await createUser(), await createUser(), await createUser()];
		await prebookAll(readers, title.id);
		// Held copies exist only for hold_queue; a notify_all book with readers waiting has no available copy,
		// so give it stock under notify_all first would notify everyone — instead switch, then restock.
		const switched = await api("PATCH", `/books/${title.id}`, {
			token: admin.token,
			body: { allocation: "hold_queue", hold_hours: 2 },
		});
		expect(switched.body).toMatchObject({ allocation: "hold_queue", hold_hours: 2, held_quantity: 0 });
		const restocked = await api("PATCH", `/books/${title.id}/stock`, {
			token: admin.token,
			body: { quantity: 2 },
		});
		expect(restocked.body).toMatchObject({ held_quantity: 2, available_quantity: 0 });
	});

	it("refuses a stock below the held copies (409 STOCK_BELOW_HELD), changing nothing", async () => {
		captureQueue();
		const title = await holdQueueBook();
		await prebookAll([await createUser(), await createUser()], title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 3 } });
		const res = await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		expectError(res, 409, "STOCK_BELOW_HELD", "quantity");
		expect(await book(title.id)).toMatchObject({
			stock_quantity: 3,
			held_quantity: 2,
			available_quantity: 1,
		});
		expect(
			(await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 2 } })).status,
		).toBe(200);
	});

	it("a notify_all book is pre-booked while its available copies are 0 and notifies everyone when they come back", async () => {
		captureQueue();
		const title = await createBook(admin.token, { stock_quantity: 0 });
		expect(title).toMatchObject({ allocation: "notify_all", hold_hours: 48, held_quantity: 0 });
		const readers = [await createUser(), await createUser()];
		const ids = await prebookAll(readers, title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		for (const [i, id] of ids.entries()) {
			expect((await prebookOf(readers[i] as TestUser, id)).status).toBe("notified");
		}
		expect(await book(title.id)).toMatchObject({ held_quantity: 0, available_quantity: 1 });
	});

	it("validates allocation and hold_hours", async () => {
		for (const body of [
			{ allocation: "raffle" },
			{ hold_hours: 0 },
			{ hold_hours: 169 },
			{ hold_hours: 1.5 },
		]) {
			const res = await api("POST", "/books", {
				token: admin.token,
				body: { title: "T", author: "A", price: 1, ...body },
			});
			expectError(res, 422, "VALIDATION_ERROR", Object.keys(body)[0]);
		}
	});
});

describe("the offer-round relay", () => {
	it("republishes a round committed without publication once it is past the grace period, once", async () => {
		const title = await holdQueueBook();
		const readers = [await createUser(), await createUser()];
		await prebookAll(readers, title.id);
		vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockRejectedValue(new Error("queue unavailable"));
		const restock = await api("PATCH", `/books/${title.id}/stock`, {
			token: admin.token,
			body: { quantity: 2 },
		});
		expect(restock.status).toBe(200);
		vi.restoreAllMocks();
		const round = await env.DB.prepare("SELECT id, published_at FROM offer_rounds WHERE book_id = ?")
			.bind(title.id)
			.first<{ id: number; published_at: string | null }>();
		expect(round?.published_at).toBeNull();

		// The relay republishes every unconfirmed round of the file's database: look at this one's.
		const messages = captureQueue();
		const relayedOfThis = () =>
			messages().filter((m) => m.type === "prebook.offered" && m.offer_round_id === round?.id);
		await runCron(Date.now()); // too recent: the request might still be publishing
		expect(relayedOfThis()).toEqual([]);

		await runCron(Date.now() + 5 * 60_000);
		const relayed = relayedOfThis();
		expect(relayed).toHaveLength(1);
		expect(relayed[0]).toMatchObject({ book_id: title.id });
		expect([...(relayed[0]?.user_ids ?? [])].sort()).toEqual(readers.map((r) => r.id).sort());
		const confirmed = await env.DB.prepare("SELECT published_at FROM offer_rounds WHERE id = ?")
			.bind(round?.id)
			.first<{ published_at: string | null }>();
		expect(confirmed?.published_at).toMatch(/Z$/);

		await runCron(Date.now() + 10 * 60_000);
		expect(relayedOfThis()).toHaveLength(1);
	});
});

describe("place in line and the admin's view of it", () => {
	it("GET /prebooks shows each waiting pre-booking's position in one round trip", async () => {
		const reader = await createUser();
		const titles = [await holdQueueBook(), await holdQueueBook()];
		const ahead = await createUser();
		await prebookAll([ahead], titles[0]?.id as number);
		for (const title of titles) await prebookAll([reader], title.id);
		const res = await api("GET", "/prebooks", { token: reader.token });
		expect(d1RoundTrips(res)).toBe(1);
		const positions = Object.fromEntries(
			res.body.items.map((p: { book_id: number; position: number }) => [p.book_id, p.position]),
		);
		expect(positions).toEqual({ [titles[0]?.id as number]: 2, [titles[1]?.id as number]: 1 });
	});

	it("counts the rows ahead in the book's line through its partial index, never the table", async () => {
		const title = await holdQueueBook();
		const pattern = await bulkUsers(300);
		await env.DB.prepare(
			"INSERT INTO pre_bookings (user_id, book_id, status, cancelled_at) SELECT id, ?, 'cancelled', '2026-01-01T00:00:00.000Z' FROM users WHERE email LIKE ?",
		)
			.bind(title.id, pattern)
			.run();
		const reader = await createUser();
		const [id] = await prebookAll([reader], title.id);
		const { createDb, newD1Usage } = await import("../src/lib/db");
		const { getPrebook } = await import("../src/features/prebooks/prebooks.service");
		const { toPrebookResponse } = await import("../src/features/prebooks/prebooks.schemas");
		const usage = newD1Usage();
		const view = await getPrebook(createDb(env.DB, usage), reader.id, id as number);
		expect(toPrebookResponse(view).position).toBe(1);
		expect(usage.rowsRead).toBeLessThan(20);
	});

	it("GET /admin/books/{id}/prebooks lists the line in order with keyset pages, positions and a CSV export", async () => {
		captureQueue();
		const title = await holdQueueBook();
		const readers = [await createUser(), await createUser(), await createUser(), await createUser()];
		await prebookAll(readers, title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const first = await api("GET", `/admin/books/${title.id}/prebooks?limit=2`, { token: admin.token });
		expect(first.status).toBe(200);
		expect(d1RoundTrips(first)).toBe(1);
		expect(
			first.body.items.map((e: { user_id: number; status: string; position: number | null }) => [
				e.user_id,
				e.status,
				e.position,
			]),
		).toEqual([
			[readers[0]?.id, "offered", null],
			[readers[1]?.id, "waiting", 1],
		]);
		const second = await api(
			"GET",
			`/admin/books/${title.id}/prebooks?limit=2&cursor=${first.body.next_cursor}`,
			{ token: admin.token },
		);
		expect(second.body.items.map((e: { position: number }) => e.position)).toEqual([2, 3]);
		expect(second.body.next_cursor).toBeNull();
		expect(second.body.items[0].email).toBe(readers[2]?.email);

		const csv = await api("GET", `/admin/books/${title.id}/prebooks`, {
			token: admin.token,
			headers: { Accept: "text/csv" },
		});
		expect(csv.status).toBe(200);
		expect(csv.headers.get("Content-Type")).toContain("text/csv");
		const lines = (csv.body as string).trim().split("\r\n");
		expect(lines[0]).toBe(
			"id,user_id,email,status,position,on_hold_reason,created_at,notified_at,offered_at,hold_expires_at,fulfilled_at",
		);
		expect(lines).toHaveLength(5);
		expect(lines[2]).toContain(`,${readers[1]?.email},waiting,1,,`);
		// Negotiated as RFC 9110 says: media types in any case; q=0 refuses CSV, the JSON page it is then.
		const typeOf = async (accept: string) =>
			(
				await api("GET", `/admin/books/${title.id}/prebooks`, {
					token: admin.token,
					headers: { Accept: accept },
				})
			).headers.get("Content-Type");
		expect(await typeOf("TEXT/CSV")).toContain("text/csv");
		expect(await typeOf("application/json;q=0.5, text/csv")).toContain("text/csv");
		expect(await typeOf("text/csv;q=0, application/json")).toContain("application/json");
		expect(await typeOf("application/json, text/csv;q=0.2")).toContain("application/json");
		expect(await typeOf("*/*")).toContain("application/json");

		const user = await createUser();
		expectError(
			await api("GET", `/admin/books/${title.id}/prebooks`, { token: user.token }),
			403,
			"AUTH_FORBIDDEN",
		);
		expectError(
			await api("GET", "/admin/books/999999/prebooks", { token: admin.token }),
			404,
			"BOOK_NOT_FOUND",
		);
		const waitingOnly = await api("GET", `/admin/books/${title.id}/prebooks?status=waiting`, {
			token: admin.token,
		});
		expect(waitingOnly.body.items.map((e: { position: number }) => e.position)).toEqual([1, 2, 3]);
	});

	it("the demand ranking shows held copies and offered pre-bookings", async () => {
		captureQueue();
		const title = await holdQueueBook();
		await prebookAll([await createUser(), await createUser(), await createUser()], title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const res = await api("GET", "/admin/prebooks/demand?limit=100", { token: admin.token });
		expect(res.body.items.find((i: { book_id: number }) => i.book_id === title.id)).toMatchObject({
			stock_quantity: 1,
			held_quantity: 1,
			waiting_count: 2,
			offered_count: 1,
		});
	});
});

describe("the hold email", () => {
	it("tells the holder until when the copy is held, once, even when the message is delivered twice", async () => {
		const messages = captureQueue();
		const sent: { subject: string; text: string; to: string }[] = [];
		vi.spyOn(env.EMAIL, "send").mockImplementation(async (message) => {
			sent.push(message as { subject: string; text: string; to: string });
			return { messageId: crypto.randomUUID() };
		});
		const title = await holdQueueBook({ title: `Hold Me ${crypto.randomUUID().slice(0, 6)}` });
		const reader = await createUser();
		await prebookAll([reader], title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const offer = messages().find((m) => m.type === "prebook.offered");
		expect(offer).toBeDefined();
		for (let round = 0; round < 2; round++) {
			const batch = createMessageBatch("prebook-notifications", [
				{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: offer },
			]);
			const ctx = createExecutionContext();
			await worker.queue(batch, env);
			await getQueueResult(batch, ctx);
		}
		const holds = sent.filter((email) => email.subject.startsWith("A copy is held"));
		expect(holds).toHaveLength(1);
		expect(holds[0]?.to).toBe(reader.email);
		expect(holds[0]?.subject).toBe(`A copy is held for you: ${title.title}`);
		expect(holds[0]?.text).toContain("held for you until");
		expect(holds[0]?.text).toContain(`/books/${title.id}`);
	});
});

describe("races, with the invariants checked afterwards", () => {
	it("20 non-holders and the holder buy the last held copy at once: the holder always gets it, nobody else", async () => {
		captureQueue();
		const title = await holdQueueBook();
		const holder = await createUser();
		await prebookAll([holder], title.id);
		// Strangers put the book in their carts while it is still in stock for them.
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 0 } });
		const strangers = await Promise.all(Array.from({ length: 20 }, () => createUser()));
		await env.DB.prepare("UPDATE books SET stock_quantity = 1 WHERE id = ?").bind(title.id).run();
		for (const stranger of strangers) {
			expect(
				(
					await api("POST", "/cart/items", {
						token: stranger.token,
						body: { book_id: title.id, quantity: 1 },
					})
				).status,
			).toBe(201);
		}
		await env.DB.prepare("UPDATE books SET stock_quantity = 0 WHERE id = ?").bind(title.id).run();
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		expect(await book(title.id)).toMatchObject({ held_quantity: 1, available_quantity: 0 });
		await api("POST", "/cart/items", { token: holder.token, body: { book_id: title.id, quantity: 1 } });
		const results = await Promise.all(
			[holder, ...strangers].map((user) => api("POST", "/orders/checkout", { token: user.token, body: {} })),
		);
		expect(results[0]?.status).toBe(201);
		expect(results[0]?.body.status).toBe("confirmed");
		for (const res of results.slice(1)) expectError(res, 409, "INSUFFICIENT_STOCK");
		expect(await book(title.id)).toMatchObject({ stock_quantity: 0, held_quantity: 0 });
		await expectInvariants();
	});

	it("the database itself refuses to sell a held copy to anyone else, or to set the stock below it", async () => {
		captureQueue();
		const title = await holdQueueBook();
		await prebookAll([await createUser()], title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		// What a checkout that read the cart before the hold was made would run: the trigger aborts it.
		for (const statement of [
			"UPDATE books SET stock_quantity = stock_quantity - 1 WHERE id = ?",
			"UPDATE books SET held_quantity = held_quantity + 5 WHERE id = ?",
			"UPDATE books SET held_quantity = -1 WHERE id = ?",
		]) {
			await expect(env.DB.prepare(statement).bind(title.id).run()).rejects.toThrow(/CHECK constraint failed/);
		}
		expect(await book(title.id)).toMatchObject({ stock_quantity: 1, held_quantity: 1 });
	});

	it("10 parallel cancels of offered pre-bookings pass each copy on exactly once", async () => {
		captureQueue();
		const title = await holdQueueBook();
		const readers = await Promise.all(Array.from({ length: 20 }, () => createUser()));
		const ids = await prebookAll(readers, title.id);
		await api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 10 } });
		const results = await Promise.all(
			ids.slice(0, 10).map((id, i) => api("DELETE", `/prebooks/${id}`, { token: readers[i]?.token })),
		);
		expect(results.map((res) => res.status)).toEqual(Array(10).fill(204));
		const statuses = await env.DB.prepare(
			"SELECT status, count(*) AS n FROM pre_bookings WHERE book_id = ? GROUP BY status ORDER BY status",
		)
			.bind(title.id)
			.all<{ status: string; n: number }>();
		expect(statuses.results).toEqual([
			{ status: "cancelled", n: 10 },
			{ status: "offered", n: 10 },
		]);
		expect(await book(title.id)).toMatchObject({ stock_quantity: 10, held_quantity: 10 });
		await expectInvariants();
	});

	it("pre-bookings racing a restock of a hold_queue book: none is left waiting while a copy is available", async () => {
		captureQueue();
		const title = await holdQueueBook();
		const readers = await Promise.all(Array.from({ length: 25 }, () => createUser()));
		const results = await Promise.all([
			...readers.map((reader) =>
				api("POST", "/prebooks", { token: reader.token, body: { book_id: title.id } }),
			),
			api("PATCH", `/books/${title.id}/stock`, { token: admin.token, body: { quantity: 10 } }),
		]);
		const created = results.slice(0, -1).filter((res) => res.status === 201).length;
		for (const res of results.slice(0, -1)) {
			if (res.status !== 201) expectError(res, 409, "PREBOOK_BOOK_IN_STOCK");
		}
		const state = await book(title.id);
		expect(state.held_quantity).toBe(Math.min(10, created));
		await expectInvariants();
	});
});
