/**
 * A restock sends only the engine's statements of its book's policy, behind the allocation guard
 * (src/features/allocation/expected-policy.ts): the isolate expects the policy it last saw the book follow
 * (a book it never saw gets every policy's statements).
 * A book whose policy changed where this isolate did not see it (another isolate, a migration) aborts the
 * first batch — nothing written — and is restocked with its policy in a second round trip, never
 * allocated by the wrong one; two restocks racing a policy switch leave the database's invariants true.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { forgetPolicies } from "../src/features/allocation/expected-policy";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	prebookAll,
	recordD1Sessions,
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

/** Changes a book's policy in D1 behind the app's back (as another isolate would). */
const switchBehindTheIsolate = (bookId: number, allocation: string) =>
	env.DB.prepare("UPDATE books SET allocation = ? WHERE id = ?").bind(allocation, bookId).run();

const restock = (bookId: number, quantity: number) =>
	api("PATCH", `/books/${bookId}/stock`, { token: admin.token, body: { quantity } });

const statuses = async (bookId: number) =>
	(
		await env.DB.prepare("SELECT status FROM pre_bookings WHERE book_id = ? ORDER BY id")
			.bind(bookId)
			.all<{ status: string }>()
	).results.map((row) => row.status);

describe("a restock sends only its book's policy", () => {
	it("a notify_all book's restock carries none of the other policies' statements, in one round trip", async () => {
		stubQueue();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await prebookAll([await createUser(), await createUser()], book.id);
		const statements = recordD1Sessions().statements;
		const res = await restock(book.id, 2);
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);
		expect(await statuses(book.id)).toEqual(["notified", "notified"]);
		const sent = statements.join("\n");
		expect(sent).toContain("INSERT INTO allocation_guard");
		for (const other of ["notice_waves", "offer_rounds", "draw_entries"]) expect(sent).not.toContain(other);
	});

	it("a book switched where the isolate did not see it is restocked by its new policy, in two round trips", async () => {
		const queue = stubQueue();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const [first, second] = [await createUser(), await createUser()];
		await prebookAll([first as TestUser, second as TestUser], book.id);
		await switchBehindTheIsolate(book.id, "hold_queue");

		const res = await restock(book.id, 1);
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(2);
		// Held for the first in line, as hold_queue does; notify_all would have told both.
		expect(await statuses(book.id)).toEqual(["offered", "waiting"]);
		expect(res.body).toMatchObject({ allocation: "hold_queue", held_quantity: 1 });
		expect(queue.published().map((message) => [message.type, message.user_ids])).toEqual([
			["prebook.offered", [first?.id]],
		]);
		const restocks = await env.DB.prepare("SELECT count(*) AS n FROM restocks WHERE book_id = ?")
			.bind(book.id)
			.first<{ n: number }>();
		expect(restocks?.n).toBe(1);
		// Now the isolate knows: the next restock is one round trip again.
		expect(d1RoundTrips(await restock(book.id, 2))).toBe(1);
		expect(await statuses(book.id)).toEqual(["offered", "offered"]);
		await expectInvariants();
	});

	it("a book the isolate never saw gets every policy's statements, then only its own", async () => {
		stubQueue();
		const book = await createBook(admin.token, { stock_quantity: 0, allocation: "waves", wave_factor: 1 });
		await prebookAll([await createUser(), await createUser(), await createUser()], book.id);
		forgetPolicies();
		const statements = recordD1Sessions().statements;
		const first = await restock(book.id, 1);
		expect(d1RoundTrips(first)).toBe(1);
		expect(await statuses(book.id)).toEqual(["notified", "waiting", "waiting"]);
		expect(statements.join("\n")).toContain("offer_rounds");
		expect(statements.join("\n")).not.toContain("allocation_guard");
		statements.length = 0;
		const second = await restock(book.id, 0);
		expect(d1RoundTrips(second)).toBe(1);
		expect(statements.join("\n")).toContain("INSERT INTO allocation_guard");
		expect(statements.join("\n")).not.toContain("offer_rounds");
		await expectInvariants();
	});

	it("restocks racing policy switches never allocate a copy by a policy the book no longer follows", async () => {
		stubQueue();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const readers = await Promise.all(Array.from({ length: 6 }, () => createUser()));
		await prebookAll(readers, book.id);
		const results = await Promise.all([
			restock(book.id, 1),
			switchBehindTheIsolate(book.id, "hold_queue"),
			restock(book.id, 2),
			switchBehindTheIsolate(book.id, "notify_all"),
			restock(book.id, 3),
		]);
		for (const res of results.filter((result) => "status" in result && typeof result.status === "number")) {
			expect((res as { status: number }).status).toBe(200);
		}
		await expectInvariants();
	});
});
