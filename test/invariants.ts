/**
 * The database's invariants, checked after the race tests: whatever interleaving happened, none of these
 * may ever be false. Each query returns the rows that break its rule.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";

const VIOLATIONS: Record<string, string> = {
	"stock is never negative": "SELECT id FROM books WHERE stock_quantity < 0",
	"an order's total is the sum of its items": `SELECT o.id FROM orders AS o
		WHERE o.total_cents <> (SELECT coalesce(sum(i.unit_price_cents * i.quantity), 0) FROM order_items AS i WHERE i.order_id = o.id)`,
	"an order's payment is for its total": `SELECT o.id FROM orders AS o JOIN payments AS p ON p.order_id = o.id
		WHERE p.amount_cents <> o.total_cents`,
	"every order has exactly one payment": `SELECT o.id FROM orders AS o
		WHERE (SELECT count(*) FROM payments AS p WHERE p.order_id = o.id) <> 1`,
	"one waiting pre-booking per user and book": `SELECT user_id, book_id FROM pre_bookings
		WHERE status = 'waiting' GROUP BY user_id, book_id HAVING count(*) > 1`,
	"every notified pre-booking has notified_at and its restock": `SELECT id FROM pre_bookings
		WHERE status = 'notified' AND (notified_at IS NULL OR restock_id IS NULL)`,
	"every cancelled pre-booking has cancelled_at": `SELECT id FROM pre_bookings
		WHERE status = 'cancelled' AND cancelled_at IS NULL`,
	"the store has an active admin": `SELECT 1 WHERE NOT EXISTS
		(SELECT 1 FROM users WHERE role = 'admin' AND is_active = 1)`,
	"0 <= held_quantity <= stock_quantity":
		"SELECT id FROM books WHERE held_quantity < 0 OR held_quantity > stock_quantity",
	"held_quantity is the number of offered pre-bookings": `SELECT b.id FROM books AS b
		WHERE b.held_quantity <> (SELECT count(*) FROM pre_bookings AS p WHERE p.book_id = b.id AND p.status = 'offered')`,
	"no waiting pre-booking on a book with available copies": `SELECT DISTINCT p.book_id FROM pre_bookings AS p
		JOIN books AS b ON b.id = p.book_id WHERE p.status = 'waiting' AND b.stock_quantity > b.held_quantity`,
	"every offered pre-booking has offered_at, hold_expires_at and its round": `SELECT id FROM pre_bookings
		WHERE status = 'offered' AND (offered_at IS NULL OR hold_expires_at IS NULL OR offer_round_id IS NULL)`,
	"one active (waiting or offered) pre-booking per user and book": `SELECT user_id, book_id FROM pre_bookings
		WHERE status IN ('waiting', 'offered') GROUP BY user_id, book_id HAVING count(*) > 1`,
};

export async function expectInvariants(): Promise<void> {
	for (const [rule, query] of Object.entries(VIOLATIONS)) {
		const { results } = await env.DB.prepare(query).all();
		expect(results, rule).toEqual([]);
	}
}
