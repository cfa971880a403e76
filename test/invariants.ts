/**
 * The database's invariants, checked after the race tests: whatever interleaving happened, none of these
 * may ever be false. Each query returns the rows that break its rule.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { aliases, prebookOnHoldReason } from "../src/features/allocation/line";
import { createDb } from "../src/lib/db";

const VIOLATIONS: Record<string, string> = {
	"stock is never negative": "SELECT id FROM books WHERE stock_quantity < 0",
	"an order's total is the sum of its items": `SELECT o.id FROM orders AS o
		WHERE o.total_cents <> (SELECT coalesce(sum(i.unit_price_cents * i.quantity), 0) FROM order_items AS i WHERE i.order_id = o.id)`,
	"an order's payment is for its total": `SELECT o.id FROM orders AS o JOIN payments AS p ON p.order_id = o.id
		WHERE p.amount_cents <> o.total_cents`,
	"every order has exactly one payment": `SELECT o.id FROM orders AS o
		WHERE (SELECT count(*) FROM payments AS p WHERE p.order_id = o.id) <> 1`,
	"one waiting pre-booking per user and book": `SELECT user_id, book_id FROM pre_bookings
		WHERE status = 'waiting' AND book_id IS NOT NULL GROUP BY user_id, book_id HAVING count(*) > 1`,
	"every notified pre-booking has notified_at and its restock": `SELECT id FROM pre_bookings
		WHERE status = 'notified' AND (notified_at IS NULL OR restock_id IS NULL)`,
	"every cancelled pre-booking has cancelled_at": `SELECT id FROM pre_bookings
		WHERE status = 'cancelled' AND cancelled_at IS NULL`,
	"the store has an active admin": `SELECT 1 WHERE NOT EXISTS
		(SELECT 1 FROM users WHERE role = 'admin' AND is_active = 1)`,
	"0 <= held_quantity <= stock_quantity":
		"SELECT id FROM books WHERE held_quantity < 0 OR held_quantity > stock_quantity",
	"held_quantity is the copies held for offers and for draws being closed": `SELECT b.id FROM books AS b
		WHERE b.held_quantity <> (SELECT count(*) FROM pre_bookings AS p WHERE p.book_id = b.id AND p.status = 'offered')
			+ (SELECT coalesce(sum(d.copies), 0) FROM draws AS d WHERE d.book_id = b.id AND d.status = 'closing')`,
	"one open draw per lottery book": `SELECT b.id FROM books AS b WHERE b.allocation = 'lottery'
		AND (SELECT count(*) FROM draws AS d WHERE d.book_id = b.id AND d.status = 'open') > 1`,
	// Rule 11, from the contract's words rather than the engine's SQL: passed over are paused members and,
	// except under notify_all, members whose reader cannot be told. (Under waves the rest wait their wave.)
	"no waiting pre-booking that is not passed over on a book with available copies": `SELECT DISTINCT p.book_id
		FROM pre_bookings AS p JOIN books AS b ON b.id = p.book_id JOIN users AS u ON u.id = p.user_id
		WHERE p.status = 'waiting' AND b.stock_quantity > b.held_quantity AND b.allocation <> 'waves'
			AND (p.paused_until IS NULL OR p.paused_until <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
			AND (b.allocation = 'notify_all' OR (u.email_verified = 1 AND u.restock_emails = 1 AND u.is_active = 1))`,
	"every offered pre-booking has offered_at, hold_expires_at and its round": `SELECT id FROM pre_bookings
		WHERE status = 'offered' AND (offered_at IS NULL OR hold_expires_at IS NULL OR offer_round_id IS NULL)`,
	// A work pre-booking offered an edition counts for that book too.
	"one active (waiting or offered) pre-booking per user and book": `SELECT user_id, book_id FROM pre_bookings
		WHERE status IN ('waiting', 'offered') AND book_id IS NOT NULL GROUP BY user_id, book_id HAVING count(*) > 1`,
	"one active (waiting or offered) pre-booking per user and work": `SELECT user_id, work_id FROM pre_bookings
		WHERE status IN ('waiting', 'offered') AND work_id IS NOT NULL GROUP BY user_id, work_id HAVING count(*) > 1`,
	"never a waiting work pre-booking beside an active pre-booking of an edition it accepts": `SELECT w.id
		FROM pre_bookings AS w JOIN books AS e ON e.work_id = w.work_id
			AND (w.formats_mask & (CASE e.format WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4
				WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 ELSE 32 END)) <> 0
		JOIN pre_bookings AS o ON o.user_id = w.user_id AND o.book_id = e.id AND o.status IN ('waiting', 'offered')
		WHERE w.status = 'waiting' AND w.book_id IS NULL`,
	"a work pre-booking has no edition while it waits, and one once served": `SELECT id FROM pre_bookings
		WHERE work_id IS NOT NULL AND ((status = 'waiting') <> (book_id IS NULL)) AND status <> 'cancelled'`,
	// Rule 11 for the lines of work pre-bookings: waiting in the line of every edition it accepts.
	"no waiting work pre-booking that is not passed over beside an accepted edition with available copies": `
		SELECT DISTINCT p.id FROM pre_bookings AS p JOIN books AS b ON b.work_id = p.work_id
			AND (p.formats_mask & (CASE b.format WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4
				WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 ELSE 32 END)) <> 0
		JOIN users AS u ON u.id = p.user_id
		WHERE p.status = 'waiting' AND p.book_id IS NULL AND b.stock_quantity > b.held_quantity
			AND b.allocation <> 'waves'
			AND (p.paused_until IS NULL OR p.paused_until <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
			AND (b.allocation = 'notify_all' OR (u.email_verified = 1 AND u.restock_emails = 1 AND u.is_active = 1))`,
	// The demand alert's counter (book_demand, kept by triggers and by the engine per notice and round) is
	// the book's waiting line, whatever moved it.
	"each book's waiting counter equals its waiting pre-bookings": `
		SELECT b.id, coalesce(d.waiting_count, 0) AS counted,
			(SELECT count(*) FROM pre_bookings AS p WHERE p.book_id = b.id AND p.status = 'waiting') AS waiting
		FROM books AS b LEFT JOIN book_demand AS d ON d.book_id = b.id
		WHERE coalesce(d.waiting_count, 0) <> (SELECT count(*) FROM pre_bookings AS p
			WHERE p.book_id = b.id AND p.status = 'waiting')`,
	// Its work part (the alert compares the sum with the threshold): the waiting work pre-bookings that
	// accept the book.
	"each book's work counter equals the waiting work pre-bookings that accept it": `
		SELECT b.id, coalesce(d.work_waiting_count, 0) AS counted
		FROM books AS b LEFT JOIN book_demand AS d ON d.book_id = b.id
		WHERE coalesce(d.work_waiting_count, 0) <> (SELECT count(*) FROM pre_bookings AS p
			WHERE p.work_id = b.work_id AND p.book_id IS NULL AND p.status = 'waiting'
				AND (p.formats_mask & (CASE b.format WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4
					WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 ELSE 32 END)) <> 0)`,
};

/**
 * `on_hold_reason` as the app computes it (features/allocation/line.ts) against the contract's definition,
 * for every waiting pre-booking: the reason the engine acts on is the one readers are shown.
 */
async function onHoldReasonViolations(): Promise<unknown[]> {
	const now = new Date().toISOString();
	const row = aliases("p", "u", "b");
	return createDb(env.DB).all<{ id: number }>(sql`
		SELECT p.id FROM pre_bookings AS p LEFT JOIN books AS b ON b.id = p.book_id JOIN users AS u ON u.id = p.user_id
		WHERE p.status = 'waiting' AND coalesce(${prebookOnHoldReason(row, now)}, '-') <> CASE
			WHEN p.paused_until > ${now} THEN 'paused'
			WHEN p.book_id IS NOT NULL AND b.allocation = 'notify_all' THEN '-'
			-- A work pre-booking: passed over for its emails by every edition it accepts that is not notify_all.
			WHEN p.book_id IS NULL AND NOT EXISTS (SELECT 1 FROM books AS e WHERE e.work_id = p.work_id
				AND (p.formats_mask & (CASE e.format WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4
					WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 ELSE 32 END)) <> 0
				AND e.allocation <> 'notify_all') THEN '-'
			WHEN u.email_verified = 0 THEN 'email_unverified'
			WHEN u.restock_emails = 0 THEN 'emails_off'
			WHEN u.is_active = 0 THEN 'account_deactivated'
			ELSE '-' END`);
}

export async function expectInvariants(): Promise<void> {
	for (const [rule, query] of Object.entries(VIOLATIONS)) {
		const { results } = await env.DB.prepare(query).all();
		expect(results, rule).toEqual([]);
	}
	expect(await onHoldReasonViolations(), "on_hold_reason follows rule 4").toEqual([]);
}
