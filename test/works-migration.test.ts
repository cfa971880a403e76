/**
 * The works migration rebuilds `pre_bookings` (its `book_id` becomes nullable): what referenced the old
 * table — the email ledger and the draw entries — must come through whole, and the books already there
 * become editions of format `other` without a work. Its own file: it migrates an empty database in two
 * steps, then leaves the file's database migrated and empty again.
 */
import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { startFromEmptyStorage } from "./helpers";

afterAll(startFromEmptyStorage);

describe("the works migration", () => {
	it("keeps pre-bookings, their email ledger and draw entries; existing books are format other, no work", async () => {
		await reset();
		const at = env.TEST_MIGRATIONS.findIndex((migration) =>
			migration.name.endsWith("_works_formats_and_insights.sql"),
		);
		expect(at).toBeGreaterThan(0);
		await applyD1Migrations(env.DB, env.TEST_MIGRATIONS.slice(0, at));
		await env.DB.batch(
			[
				"INSERT INTO users (id, email, password_hash) VALUES (1, 'reader@example.com', 'x')",
				"INSERT INTO books (id, title, author, price_cents) VALUES (1, 'Emma', 'Jane Austen', 999)",
				"INSERT INTO restocks (id, book_id, quantity_before, quantity_after) VALUES (1, 1, 0, 3)",
				`INSERT INTO pre_bookings (id, user_id, book_id, status, restock_id, notified_at)
					VALUES (1, 1, 1, 'notified', 1, '2026-01-01T00:00:00.000Z')`,
				"INSERT INTO email_deliveries (prebook_id, restock_id, user_id, status) VALUES (1, 1, 1, 'sent')",
				`INSERT INTO draws (id, book_id, status, seed, seed_commitment, opened_at)
					VALUES (1, 1, 'closed', 's', 'c', '2026-01-01T00:00:00.000Z')`,
				"INSERT INTO draw_entries (draw_id, prebook_id, score, won) VALUES (1, 1, 'ab', 1)",
			].map((statement) => env.DB.prepare(statement)),
		);

		await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

		const row = (query: string) => env.DB.prepare(query).first();
		expect(
			await row("SELECT id, book_id, work_id, formats_mask, status, restock_id FROM pre_bookings"),
		).toEqual({
			id: 1,
			book_id: 1,
			work_id: null,
			formats_mask: null,
			status: "notified",
			restock_id: 1,
		});
		expect(await row("SELECT prebook_id, restock_id, status FROM email_deliveries")).toEqual({
			prebook_id: 1,
			restock_id: 1,
			status: "sent",
		});
		expect(await row("SELECT draw_id, prebook_id, score, won FROM draw_entries")).toEqual({
			draw_id: 1,
			prebook_id: 1,
			score: "ab",
			won: 1,
		});
		expect(await row("SELECT work_id, format FROM books")).toEqual({ work_id: null, format: "other" });
		// The ledger and the entries still follow their pre-booking (ON DELETE CASCADE).
		await env.DB.prepare("DELETE FROM pre_bookings WHERE id = 1").run();
		expect(await row("SELECT count(*) AS n FROM email_deliveries")).toEqual({ n: 0 });
		expect(await row("SELECT count(*) AS n FROM draw_entries")).toEqual({ n: 0 });
		// A format outside the list is refused by the database too.
		await expect(env.DB.prepare("UPDATE books SET format = 'scroll' WHERE id = 1").run()).rejects.toThrow(
			/ck_books_format/,
		);
	});
});
