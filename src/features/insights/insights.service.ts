/**
 * Pre-booking insights (API.md, Insights): read from the daily counters the transition triggers keep
 * (the migration prebook_insight_triggers, `prebookDaily` in db/schema.ts), never from the pre-bookings themselves: a report reads
 * at most a row per day of its period (and the purchase-hours histogram of those days), whatever the
 * history, in one round trip.
 */
import { and, asc, between, eq, sql } from "drizzle-orm";
import { prebookDaily } from "../../db/schema.ts";
import { batch, type Db, rawQuery } from "../../lib/db.ts";
import { bookNotFound } from "../../lib/errors.ts";
import type { DailyCounters } from "./insights.schemas.ts";

/**
 * The counters' `book_id` of the whole store: every transition is counted under its book and under this
 * one; a pre-booking without a book (a work's, while it waits) under this one only (the view
 * `prebook_tally` of the migration prebook_insight_triggers decides it).
 */
export const STORE_BOOK_ID = 0;

/** The book's counters (or the store's) of the days of a period. */
export const dailyCounters = (db: Db, bookId: number, from: string, to: string) =>
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
