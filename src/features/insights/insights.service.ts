/**
 * Pre-booking insights, read from counters the triggers keep rather than from the whole history.
 * - The funnel (API.md, Insights; `prebookInsights`): the daily counters (the migration
 *   prebook_insight_triggers, `prebookDaily` in db/schema.ts), never the pre-bookings themselves — at most
 *   a row per day of its period (and the purchase-hours histogram of those days), whatever the history, in
 *   one round trip.
 * - The demand report (API.md, Pre-bookings: `GET /admin/prebooks/demand`; `waitingDemand`): books ranked
 *   by their lines' waiting counters (`book_demand`), with the buy signal, whose conversion rate comes from
 *   the same daily counters.
 */ import { and, asc, between, eq, type SQL, sql } from "drizzle-orm";
import { prebookDaily } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { bookNotFound } from "../../lib/errors.ts";
import {
	conversionRate as conversionRateOf,
	type DailyCounters,
	type DemandView,
} from "./insights.schemas.ts";

/**
 * The counters' `book_id` of the whole store: every transition is counted under its book and under this
 * one; a pre-booking without a book (a work's, while it waits) under this one only (the view
 * `prebook_tally` of the migration prebook_insight_triggers decides it).
 */
const STORE_BOOK_ID = 0;

/** The book's counters (or the store's) of the days of a period. */
const dailyCounters = (db: Db, bookId: number, from: string, to: string) =>
	db
		.select({
			day: prebookDaily.day,
			signups: prebookDaily.signups,
			cancelled: prebookDaily.cancelled,
			notified: prebookDaily.notified,
			offered: prebookDaily.offered,
			expired: prebookDaily.expired,
			passed: prebookDaily.passed,
			fulfilled: prebookDaily.fulfilled,
			revenue_cents: prebookDaily.revenueCents,
		})
		.from(prebookDaily)
		.where(and(eq(prebookDaily.bookId, bookId), between(prebookDaily.day, from, to)))
		.orderBy(asc(prebookDaily.day));

/**
 * The median of the period's purchase hours from the histogram: the hours are summed per value over the
 * days, then the value at the lower and the upper middle position of the cumulative counts (the same one
 * for an odd count) are averaged. NULL without purchases.
 */
const medianHours = (bookId: number, from: string, to: string) =>
	rawQuery<{ median: number | null }>(sql`
		SELECT (min(CASE WHEN upto >= (total + 1) / 2 THEN hours END)
			+ min(CASE WHEN upto >= total / 2 + 1 THEN hours END)) / 2.0 AS median
		FROM (SELECT hours, sum(n) OVER (ORDER BY hours) AS upto, sum(n) OVER () AS total
			FROM (SELECT hours, sum(purchases) AS n FROM prebook_daily_purchase_hours
				WHERE book_id = ${bookId} AND day BETWEEN ${from} AND ${to} GROUP BY hours))`);

export async function prebookInsights(
	db: Db,
	query: { from: string; to: string; bookId?: number },
): Promise<{ days: DailyCounters[]; medianHours: number | null }> {
	const scope = query.bookId ?? STORE_BOOK_ID;
	const { book, days, median } = await batch(db, {
		book: rawQuery<{ id: number }>(sql`SELECT id FROM books WHERE id = ${query.bookId ?? null}`),
		days: dailyCounters(db, scope, query.from, query.to),
		median: medianHours(scope, query.from, query.to),
	});
	if (query.bookId !== undefined && !book[0]) throw bookNotFound("book_id");
	return { days, medianHours: median[0]?.median ?? null };
}

/** The demand report's conversion rate is the book's over the last this many days (today included)… */
export const CONVERSION_WINDOW_DAYS = 365;
/** …when the book had at least this many readers notified or offered then; else the store's. */
export const MIN_OWN_CONVERSION_HISTORY = 20;

/**
 * max(0, ceil(waiting × conversion_rate) − available − inbound) (API.md), with the rate as shown (4
 * decimals) and in integers, so a client recomputes the same number from the report and no float rounding
 * turns 7.0000000001 into 8.
 */
export function suggestedOrderQuantity(input: {
	waiting: number;
	conversionRate: number;
	available: number;
	inbound: number;
}): number {
	const rate = Math.round(input.conversionRate * 10_000);
	// waiting × rate is an integer: divided by 10,000 it is exact or at least 1/10,000 from an integer.
	const expected = Math.ceil((input.waiting * rate) / 10_000);
	return Math.max(0, expected - input.available - input.inbound);
}

/**
 * Books by number of waiting pre-bookings, most first, with the buy signal (API.md, the demand report).
 * A book's count is its line's: its own waiting pre-bookings plus the waiting work pre-bookings that accept
 * it — a work pre-booking counts once for each edition it accepts (it would take a copy of any of them).
 * One statement: the ranking reads each book's two waiting counters (`book_demand`: its own waiting
 * pre-bookings and the waiting work pre-bookings that accept it, kept by triggers in the batch of every
 * change, test/invariants.ts) — a row per book, never the pre-bookings — and keeps the top `limit`; only
 * those books then read their offers, pending inbound supply and the last 365 days of their daily insight
 * counters (a row per day at most), and the store's counters are read once. Pending supply is split at
 * now: entries still due count as `inbound_quantity` (they lower the suggestion), entries whose
 * `expected_at` has passed unreceived as `overdue_inbound_quantity` (a late shipment covers nobody yet).
 */
export async function waitingDemand(db: Db, limit: number): Promise<DemandView[]> {
	const now = new Date().toISOString();
	const since = new Date(Date.now() - (CONVERSION_WINDOW_DAYS - 1) * 24 * 60 * 60 * 1000)
		.toISOString()
		.slice(0, 10);
	const told = (bookId: SQL) =>
		sql`(SELECT coalesce(sum(notified + offered), 0) FROM prebook_daily WHERE book_id = ${bookId} AND day >= ${since})`;
	const bought = (bookId: SQL) =>
		sql`(SELECT coalesce(sum(fulfilled), 0) FROM prebook_daily WHERE book_id = ${bookId} AND day >= ${since})`;
	const store = sql`${STORE_BOOK_ID}`;
	const { rows } = await batch(db, {
		rows: rawQuery<{
			book_id: number;
			title: string;
			author: string;
			stock_quantity: number;
			held_quantity: number;
			waiting_count: number;
			offered_count: number;
			inbound_quantity: number;
			overdue_inbound_quantity: number;
			told: number;
			bought: number;
			store_told: number;
			store_bought: number;
		}>(sql`SELECT b.id AS book_id, b.title, b.author, b.stock_quantity, b.held_quantity, top.waiting_count,
				(SELECT count(*) FROM pre_bookings AS o WHERE o.book_id = b.id AND o.status = 'offered') AS offered_count,
				(SELECT coalesce(sum(quantity), 0) FROM inbound_shipments
					WHERE book_id = b.id AND received_at IS NULL AND expected_at >= ${now}) AS inbound_quantity,
				(SELECT coalesce(sum(quantity), 0) FROM inbound_shipments
					WHERE book_id = b.id AND received_at IS NULL AND expected_at < ${now}) AS overdue_inbound_quantity,
				${told(sql`b.id`)} AS told, ${bought(sql`b.id`)} AS bought,
				store.told AS store_told, store.bought AS store_bought
			FROM (SELECT book_id, waiting_count + work_waiting_count AS waiting_count FROM book_demand
					WHERE waiting_count + work_waiting_count > 0
					ORDER BY waiting_count + work_waiting_count DESC, book_id LIMIT ${limit}) AS top
				JOIN books AS b ON b.id = top.book_id
				CROSS JOIN (SELECT ${told(store)} AS told, ${bought(store)} AS bought) AS store
			ORDER BY top.waiting_count DESC, b.id`),
	});
	return rows.map((row) => {
		// The book's own rate once it has enough history, else the store's (API.md).
		const own = row.told >= MIN_OWN_CONVERSION_HISTORY;
		const conversionRate = own
			? conversionRateOf(row.bought, row.told)
			: conversionRateOf(row.store_bought, row.store_told);
		const availableQuantity = row.stock_quantity - row.held_quantity;
		return {
			bookId: row.book_id,
			title: row.title,
			author: row.author,
			stockQuantity: row.stock_quantity,
			heldQuantity: row.held_quantity,
			waitingCount: row.waiting_count,
			offeredCount: row.offered_count,
			inboundQuantity: row.inbound_quantity,
			overdueInboundQuantity: row.overdue_inbound_quantity,
			conversionRate,
			suggestedOrderQuantity: suggestedOrderQuantity({
				waiting: row.waiting_count,
				conversionRate,
				available: availableQuantity,
				inbound: row.inbound_quantity,
			}),
		};
	});
}
