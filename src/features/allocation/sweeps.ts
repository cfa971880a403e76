/**
 * The engine's cron work, each unit its own batch (a failure is logged and retried next minute):
 *  - lapsed holds expire and their copies go to the next in line (rule 7), one batch per book and
 *    `EXPIRY_BATCH` holds;
 *  - lapsed pauses end and the engine runs for their lines (rule 4), one batch per book;
 *  - `waves` books whose last wave is `wave_minutes` old get their next wave (rule 6), one batch per book;
 *  - lottery draws left closing (never scored) are completed, and missing draws opened (lottery-draws.ts);
 *  - notices and offer rounds committed but never confirmed as published are republished (the relay).
 */
import { and, asc, eq, gt, isNotNull, isNull, lt, lte, sql } from "drizzle-orm";
import { offerRounds, preBookings, restocks } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import type { Effects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { relayCutoff, relayUnconfirmed } from "../../lib/relay.ts";
import { eventIdsOf, prebookExpiredEvents } from "../webhooks/webhook-events.ts";
import { allocate, allocateBook, linesOf } from "./engine.ts";
import { lineParts } from "./line.ts";
import { completeDraw, openDraws } from "./lottery-draws.ts";
import { outcomeOf } from "./outcome.ts";
import {
	continueLater,
	type PublicationQueues,
	type PublicationUnit,
	publishPages,
} from "./paged-publication.ts";
import { publishOutcome } from "./publish-outcome.ts";

const [ownPart, workPart] = lineParts(sql.raw("p"), sql.raw("b"));

/** Holds expired per batch: a batch stays far inside D1's 30 s and statement limits at any line length. */
const EXPIRY_BATCH = 1_000;
/** Batches per cron run (per sweep); a run that hits this leaves the rest to the next minute. */
const SWEEP_BATCHES_PER_RUN = 20;

/**
 * Runs `sweepBook` for the book `nextBook` names until none is left or the run's batches are spent. Each
 * batch is its own unit of work: a failure is logged and ends this run (the next minute retries).
 */
async function sweep(
	name: string,
	nextBook: () => Promise<number | undefined>,
	sweepBook: (bookId: number) => Promise<Record<string, number>>,
	keyName = "book_id",
): Promise<{ batches: number; bookIds: number[] }> {
	const done = { batches: 0, bookIds: [] as number[] };
	while (done.batches < SWEEP_BATCHES_PER_RUN) {
		const bookId = await nextBook();
		if (bookId === undefined) break;
		done.batches += 1;
		try {
			const counts = await sweepBook(bookId);
			if (!done.bookIds.includes(bookId)) done.bookIds.push(bookId);
			logEvent("info", name, { [keyName]: bookId, ...counts });
		} catch (err) {
			logEvent("error", `${name}_failed`, { [keyName]: bookId, error: describeError(err) });
			break;
		}
	}
	return done;
}

/** Cron: expires lapsed holds and gives the freed copies to the book's line, whatever its policy now. */
export function expireLapsedHolds(db: Db, effects: Effects, now: Date) {
	const at = now.toISOString();
	return sweep(
		"holds_expired",
		// Served by idx_pre_bookings_hold_expiry: the oldest lapsed hold names the next book to sweep (an offer
		// always has its edition: a work pre-booking gets it when offered).
		async () =>
			(
				await db
					.select({ bookId: preBookings.bookId })
					.from(preBookings)
					.where(and(eq(preBookings.status, "offered"), lte(preBookings.holdExpiresAt, at)))
					.orderBy(asc(preBookings.holdExpiresAt))
					.limit(1)
			)[0]?.bookId ?? undefined,
		async (bookId) => {
			// `id` breaks ties, so the webhook events' selection and the UPDATE's are the same rows.
			const lapsed = sql`SELECT id FROM pre_bookings
				WHERE book_id = ${bookId} AND status = 'offered' AND hold_expires_at <= ${at}
				ORDER BY hold_expires_at, id LIMIT ${EXPIRY_BATCH}`;
			// Lapsed by the run's time; stamped with the batch's own (src/lib/clock.ts).
			const { expiredEvents, expired, allocation } = await withUniqueNow(
				(time) =>
					batch(db, {
						expiredEvents: prebookExpiredEvents(lapsed, time),
						expired: rawQuery<{ id: number }>(sql`
						UPDATE pre_bookings SET status = 'expired', expired_at = ${time}
						WHERE id IN (${lapsed})
						RETURNING id`),
						allocation: allocateBook(bookId, "expiry", time),
					}),
				now,
			);
			await publishOutcome(
				effects,
				outcomeOf(allocation, { webhookEventIds: eventIdsOf(expiredEvents), catalogBookIds: [bookId] }),
			);
			return { expired: expired.length, offered: allocation.offers.length };
		},
	);
}

/**
 * Cron: pauses that reached their `paused_until` end, and the engine serves their lines (rule 4): one
 * batch per book line, or per work pre-booking (whose lines are every edition it accepts).
 */
export function endLapsedPauses(db: Db, effects: Effects, now: Date) {
	const at = now.toISOString();
	return sweep(
		"pauses_ended",
		// Served by idx_pre_bookings_pause_lapse: the oldest lapsed pause names the next line to sweep.
		async () =>
			(
				await db
					.select({ id: preBookings.id })
					.from(preBookings)
					.where(
						and(
							eq(preBookings.status, "waiting"),
							isNotNull(preBookings.pausedUntil),
							lte(preBookings.pausedUntil, at),
						),
					)
					.orderBy(asc(preBookings.pausedUntil))
					.limit(1)
			)[0]?.id,
		async (prebookId) => {
			// That pre-booking and the lapsed pauses of its book's own line.
			const lapsed = sql`SELECT id FROM pre_bookings WHERE status = 'waiting' AND paused_until <= ${at}
				AND (id = ${prebookId} OR book_id = (SELECT book_id FROM pre_bookings WHERE id = ${prebookId}))`;
			const { ended, allocation } = await withUniqueNow(
				(time) =>
					batch(db, {
						ended: rawQuery<{ id: number }>(sql`UPDATE pre_bookings SET paused_until = NULL
						WHERE id IN (${lapsed})
						RETURNING id`),
						allocation: allocate(linesOf(sql`SELECT ${prebookId}`), "eligible", time),
					}),
				now,
			);
			await publishOutcome(effects, allocation);
			return { ended: ended.length, offered: allocation.offers.length };
		},
		"prebook_id",
	);
}

/**
 * Cron: the next wave of every `waves` book whose last wave is `wave_minutes` old while copies remain
 * (rule 6): the engine, one batch per book, decides and re-checks the stock inside its statements.
 */
export function notifyNextWaves(db: Db, effects: Effects, now: Date) {
	const at = now.toISOString();
	let after = 0;
	return sweep(
		"wave_notified",
		// Served by idx_books_waves; `after` walks the books once a run (one whose line is all passed over
		// gets no wave and is not retried until the next minute).
		async () => {
			const [next] = await db.all<{ id: number }>(sql`SELECT b.id FROM books AS b
				WHERE b.allocation = 'waves' AND b.id > ${after} AND b.stock_quantity > b.held_quantity
					AND (EXISTS (SELECT 1 FROM pre_bookings AS p WHERE ${ownPart})
						OR EXISTS (SELECT 1 FROM pre_bookings AS p WHERE ${workPart}))
					AND coalesce((SELECT max(w.created_at) FROM notice_waves AS w WHERE w.book_id = b.id)
						<= strftime('%Y-%m-%dT%H:%M:%fZ', ${at}, '-' || b.wave_minutes || ' minutes'), 1)
				ORDER BY b.id LIMIT 1`);
			after = next?.id ?? after;
			return next?.id;
		},
		async (bookId) => {
			const { allocation } = await withUniqueNow(
				(time) => batch(db, { allocation: allocateBook(bookId, "wave", time) }),
				now,
			);
			await publishOutcome(effects, allocation);
			return { notified: allocation.notices.reduce((sum, notice) => sum + notice.count, 0) };
		},
	);
}

/** Draws completed (or opened) per cron run; the rest wait for the next minute. */
const DRAWS_PER_RUN = 20;

/**
 * Cron (the relay pattern for lottery draws): completes draws left `closing` for over a minute by a
 * Worker that died between the two steps, and opens a draw for every lottery book without one.
 */
export async function finishDraws(db: Db, effects: Effects, now: Date): Promise<void> {
	const stuck = await db.all<{ id: number }>(sql`SELECT id FROM draws
		WHERE status = 'closing' AND closing_at <= ${relayCutoff(now)} ORDER BY id LIMIT ${DRAWS_PER_RUN}`);
	for (const draw of stuck) {
		try {
			await publishOutcome(effects, await completeDraw(db, draw.id, now));
			logEvent("warn", "draw_completed_by_cron", { draw_id: draw.id });
		} catch (err) {
			logEvent("error", "draw_completion_failed", { draw_id: draw.id, error: describeError(err) });
		}
	}
	// Served by idx_books_lottery.
	const drawless = await db.all<{ id: number }>(sql`SELECT b.id FROM books AS b
		WHERE b.allocation = 'lottery'
			AND NOT EXISTS (SELECT 1 FROM draws AS d WHERE d.book_id = b.id AND d.status IN ('open', 'closing'))
		ORDER BY b.id LIMIT ${DRAWS_PER_RUN}`);
	if (drawless.length > 0) {
		await publishOutcome(
			effects,
			await openDraws(
				db,
				drawless.map((book) => book.id),
				now,
			),
		);
	}
}

/**
 * The relay's step for one unit: a page from where its publication got (its cursor), and the rest handed
 * to `prebook-publication`.
 */
async function republish(db: Db, queues: PublicationQueues, unit: PublicationUnit): Promise<number> {
	const { state, published } = await publishPages(db, queues, unit, 1);
	if (state === "more") await continueLater(queues.publicationQueue, unit);
	return published;
}

/**
 * Cron: republishes notices (restock records, waves included) whose publication was never confirmed and
 * has not moved for the grace period, from their cursor (each its own unit).
 */
export function relayUnpublishedNotices(db: Db, queues: PublicationQueues, now: Date) {
	return relayUnconfirmed(
		{
			name: "restock",
			findUnconfirmed: (before, limit) =>
				db
					.select({ id: restocks.id })
					.from(restocks)
					.where(
						and(
							isNull(restocks.publishedAt),
							gt(restocks.notifiedCount, 0),
							lt(sql`coalesce(${restocks.publishMovedAt}, ${restocks.createdAt})`, before),
						),
					)
					.orderBy(asc(restocks.id))
					.limit(limit),
			republish: (restock) => republish(db, queues, { kind: "notice", id: restock.id }),
		},
		now,
	);
}

/** Cron: the same for offer rounds. */
export function relayUnpublishedOfferRounds(db: Db, queues: PublicationQueues, now: Date) {
	return relayUnconfirmed(
		{
			name: "offer_round",
			findUnconfirmed: (before, limit) =>
				db
					.select({ id: offerRounds.id })
					.from(offerRounds)
					.where(
						and(
							isNull(offerRounds.publishedAt),
							lt(sql`coalesce(${offerRounds.publishMovedAt}, ${offerRounds.createdAt})`, before),
						),
					)
					.orderBy(asc(offerRounds.id))
					.limit(limit),
			republish: (round) => republish(db, queues, { kind: "offer_round", id: round.id }),
		},
		now,
	);
}
