/**
 * `position` and `estimate.ahead` in long lines (API.md, Pre-bookings; docs/allocation.md, "Place in
 * line"): exact up to the cap of members a read counts, the documented answer beyond it, and the rows D1
 * reads for a page bounded by the cap whatever the depth.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { AHEAD_CAP, aheadOf } from "../src/features/allocation/line";
import { toPrebookResponse } from "../src/features/prebooks/prebooks.schemas";
import { bookLine, listPrebooks } from "../src/features/prebooks/prebooks.service";
import { createDb, newD1Usage } from "../src/lib/db";
import { api, bulkUsers, createAdmin, createBook, createUser, d1RoundTrips, type TestUser } from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const LINE = 30_000;
const start = Date.parse("2026-01-01T00:00:00.000Z");
const at = (seconds: number) => new Date(start + seconds * 1000).toISOString();

/**
 * A hold_queue book with `LINE` waiting readers, one a second, and `reader` (with a token) in line after
 * the first `depth` of them.
 */
async function deepLine(reader: TestUser, depth: number) {
	const book = await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" });
	const emails = await bulkUsers(LINE);
	await env.DB.prepare(
		`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
		 SELECT u.id, ?1, 'waiting', strftime('%Y-%m-%dT%H:%M:%fZ', ?2, '+' || (u.id - first.id) || ' seconds')
		 FROM users AS u, (SELECT min(id) AS id FROM users WHERE email LIKE ?3) AS first
		 WHERE u.email LIKE ?3`,
	)
		.bind(book.id, at(0), emails)
		.run();
	const { meta } = await env.DB.prepare(
		"INSERT INTO pre_bookings (user_id, book_id, status, created_at) VALUES (?, ?, 'waiting', ?)",
	)
		.bind(reader.id, book.id, new Date(start + depth * 1000 - 500).toISOString())
		.run();
	return { bookId: book.id, prebookId: meta.last_row_id };
}

/** The reader's page as GET /prebooks reads it, with `cap`, and the rows D1 read for it. */
async function pageWithCap(reader: TestUser, cap: number) {
	const usage = newD1Usage();
	const rows = await listPrebooks(createDb(env.DB, usage), reader.id, { limit: 100 }, cap);
	return { items: rows.map(toPrebookResponse), rowsRead: usage.rowsRead };
}

describe("place in a long line", () => {
	it("is exact at the back of a line deeper than the cap (the waiting counter minus those behind)", async () => {
		const reader = await createUser();
		await deepLine(reader, LINE);
		const res = await api("GET", "/prebooks", { token: reader.token });
		expect(res.status).toBe(200);
		expect(d1RoundTrips(res)).toBe(1);
		expect(LINE).toBeGreaterThan(AHEAD_CAP);
		expect(res.body.items[0]).toMatchObject({
			position: LINE + 1,
			estimate: { ahead: { active: LINE, passed_over: 0 } },
		});
	});

	it("counts exactly below the cap, estimates beyond it, and reads rows bounded by the cap, not the depth", async () => {
		const cap = 1_000;
		const measured: { depth: number; position: number | null; rowsRead: number }[] = [];
		for (const depth of [500, 15_000, LINE - 400]) {
			const reader = await createUser();
			await deepLine(reader, depth);
			const { items, rowsRead } = await pageWithCap(reader, cap);
			measured.push({ depth, position: items[0]?.position ?? null, rowsRead });
		}
		// 500 ahead: counted. 15,000 ahead and 15,000 behind, sign-ups one a second: the members neither
		// walk reached are shared by the time the front and the back span, which is exact at an even pace.
		// 29,600 ahead, 400 behind: the waiting counter minus those behind.
		expect(measured.map((m) => m.position)).toEqual([501, 15_001, LINE - 400 + 1]);
		// Each walk stops at cap + 1 members: index entries and users seeks ahead, index entries behind, and
		// a few seeks (measured: 1,008 / 3,015 / 2,412). Counting every member ahead read 30,010 and 59,210.
		for (const { rowsRead } of measured) expect(rowsRead).toBeLessThanOrEqual(3 * (cap + 1) + 50);
	});

	it("splits an estimated count by the share of the counted members the engine passes over", async () => {
		const reader = await createUser();
		const { bookId } = await deepLine(reader, 15_000);
		// Every fourth reader of the line has turned restock emails off: passed over.
		await env.DB.prepare(
			`UPDATE users SET restock_emails = 0 WHERE id IN (
				SELECT user_id FROM pre_bookings WHERE book_id = ? AND user_id <> ? AND user_id % 4 = 0)`,
		)
			.bind(bookId, reader.id)
			.run();
		const { items } = await pageWithCap(reader, 1_000);
		const ahead = items[0]?.estimate?.ahead;
		expect((ahead?.active ?? 0) + (ahead?.passed_over ?? 0)).toBe(15_000);
		expect(ahead?.passed_over).toBeGreaterThan(3_500);
		expect(ahead?.passed_over).toBeLessThan(4_000);
		expect(items[0]?.position).toBe((ahead?.active ?? 0) + 1);
	});

	it("gives the admin's page deep in the line the same bounded answer, and a CSV export exact positions throughout", async () => {
		const reader = await createUser();
		const { bookId } = await deepLine(reader, LINE);
		const cursorRow = await env.DB.prepare(
			"SELECT created_at AS at, id FROM pre_bookings WHERE book_id = ? ORDER BY created_at, id LIMIT 1 OFFSET 14999",
		)
			.bind(bookId)
			.first<{ at: string; id: number }>();
		if (!cursorRow) throw new Error("no line");
		const usage = newD1Usage();
		const page = await bookLine(createDb(env.DB, usage), bookId, { after: cursorRow, limit: 3 }, 1_000);
		expect(page.slice(0, 3).map((row) => row.position)).toEqual([15_001, 15_002, 15_003]);
		expect(usage.rowsRead).toBeLessThan(3_200);

		const csv = await api("GET", `/admin/books/${bookId}/prebooks`, {
			token: admin.token,
			headers: { Accept: "text/csv" },
		});
		expect(csv.status).toBe(200);
		const lines = String(csv.body).trim().split("\r\n");
		const header = lines[0]?.split(",") ?? [];
		const positions = lines.slice(1).map((line) => Number(line.split(",")[header.indexOf("position")]));
		expect(positions).toEqual(Array.from({ length: LINE + 1 }, (_, i) => i + 1));
	});

	it("counts a work's part beyond the cap as cap + 1, and a work pre-booking takes its best line", () => {
		const line = (own: number, work: number) => ({
			own: { n: own, a: own, edge: null },
			work: { n: work, a: work, edge: null },
			behind: null,
			span: null,
			waiting: own,
			self: 0,
		});
		// 100 of its own ahead and more than the cap of the work's: at least 100 + 1,001.
		expect(aheadOf([line(100, 1_001)], 1_000)).toEqual({ active: 1_101, passed_over: 0 });
		// Two editions: the line with fewer ahead counts.
		expect(aheadOf([line(900, 1_001), line(50, 20)], 1_000)).toEqual({ active: 70, passed_over: 0 });
		expect(aheadOf([], 1_000)).toBeNull();
	});
});
