/**
 * The engine's walk for a set of books (a cancel, a pass, an erasure, a reader eligible again run it for
 * the lines of one pre-booking) is linear in the members it serves: it was quadratic, and a cancel that
 * released a wave of 10,000 took over 20 seconds.
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

describe("the engine for a set of books", () => {
	it("a cancel that releases a wave of 10,020 serves it whole (the engine's walk for a set of books is linear)", async () => {
		const queue = stubQueue();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "waves",
			wave_factor: 1,
			wave_minutes: 5,
		});
		await bulkLine(book.id, 10_600);
		const last = await createUser();
		const [lastId] = await prebookAll([last], book.id);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 501 } });
		await env.DB.prepare("UPDATE books SET wave_factor = 20 WHERE id = ?").bind(book.id).run();
		// Six minutes on, the last reader cancels: the engine runs for the lines of that pre-booking (a set of
		// books) and the next wave, 501 × 20, goes out in that batch.
		const later = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 6 * MINUTE);
		expect((await api("DELETE", `/prebooks/${lastId}`, { token: last.token })).status).toBe(204);
		later.mockRestore();
		const notified = await env.DB.prepare(
			"SELECT count(*) AS n FROM pre_bookings WHERE book_id = ? AND status = 'notified'",
		)
			.bind(book.id)
			.first<{ n: number }>();
		expect(notified?.n).toBe(501 + 10_020);
		await expectInvariants();
		await queue.publishRest();
		expect(new Set(queue.published().flatMap((message) => message.user_ids)).size).toBe(501 + 10_020);
	});
});
