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
};

export async function expectInvariants(): Promise<void> {
	for (const [rule, query] of Object.entries(VIOLATIONS)) {
		const { results } = await env.DB.prepare(query).all();
		expect(results, rule).toEqual([]);
	}
}
