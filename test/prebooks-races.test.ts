import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, createAdmin, createBook, createUser, stubQueue, type TestUser } from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const restock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });

describe("races", () => {
	it("20 concurrent identical pre-bookings: exactly one 201 and nineteen 409", async () => {
		const user = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const results = await Promise.all(
			Array.from({ length: 20 }, () =>
				api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } }),
			),
		);
		expect(results.filter((r) => r.status === 201)).toHaveLength(1);
		const conflicts = results.filter((r) => r.status === 409);
		expect(conflicts).toHaveLength(19);
		expect(new Set(conflicts.map((r) => r.body.code))).toEqual(new Set(["PREBOOK_DUPLICATE"]));
		const { results: rows } = await env.DB.prepare("SELECT status FROM pre_bookings WHERE user_id = ?")
			.bind(user.id)
			.all();
		expect(rows).toEqual([{ status: "waiting" }]);
	});

	it("concurrent restocks from 0 notify the waiting users once", async () => {
		const users = await Promise.all([createUser(), createUser(), createUser()]);
		const book = await createBook(admin.token, { stock_quantity: 0 });
		for (const user of users)
			await api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } });
		const queue = stubQueue();
		const results = await Promise.all([3, 5, 7, 9, 11].map((quantity) => restock(book.id, quantity)));
		expect(results.every((r) => r.status === 200)).toBe(true);
		const { results: notifying } = await env.DB.prepare(
			"SELECT id FROM restocks WHERE book_id = ? AND notified_count > 0",
		)
			.bind(book.id)
			.all();
		expect(notifying).toHaveLength(1);
		const { results: rows } = await env.DB.prepare(
			"SELECT DISTINCT status, notified_at, restock_id FROM pre_bookings WHERE book_id = ?",
		)
			.bind(book.id)
			.all();
		expect(rows).toEqual([
			{ status: "notified", notified_at: expect.any(String), restock_id: notifying[0]?.id },
		]);
		const published = queue.published().flatMap((message) => message.user_ids);
		expect(published.sort()).toEqual(users.map((u) => u.id).sort());
	});

	it("pre-bookings racing a restock never leave a waiting row on an in-stock book", async () => {
		const users = await Promise.all(Array.from({ length: 12 }, () => createUser()));
		for (let round = 0; round < 3; round++) {
			const book = await createBook(admin.token, { stock_quantity: 0 });
			const attempts = users.map((user) =>
				api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } }),
			);
			const restocking = restock(book.id, 4);
			const results = await Promise.all(attempts);
			expect((await restocking).status).toBe(200);
			for (const res of results) {
				expect([201, 409]).toContain(res.status);
				if (res.status === 409) expect(res.body.code).toBe("PREBOOK_BOOK_IN_STOCK");
			}
			const waiting = await env.DB.prepare(
				"SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'waiting'",
			)
				.bind(book.id)
				.first("n");
			expect(waiting).toBe(0);
			const notified = await env.DB.prepare(
				"SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'notified'",
			)
				.bind(book.id)
				.first("n");
			expect(notified).toBe(results.filter((r) => r.status === 201).length);
		}
	});
});
