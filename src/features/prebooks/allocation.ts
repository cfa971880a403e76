/**
 * The hold queue (API.md, Pre-bookings rules 5–7): how a hold_queue book's copies go to its line.
 *
 * Whenever such a book has available copies (`stock_quantity - held_quantity`) and waiting pre-bookings —
 * after a restock, an expiry, a cancel of a held copy, or a switch of policy — the first
 * `min(available, waiting)` pre-bookings in line (`created_at`, then `id`) become `offered`, with one
 * `offered_at` and `hold_expires_at = offered_at + hold_hours`, recorded as one offer round. The
 * statements below are appended to the batch of the change that freed the copies, so the test "is a copy
 * available?" is evaluated inside that transaction, never read beforehand: two concurrent restocks, a
 * restock racing an expiry, or two cancels serialize in D1 and never offer one copy twice.
 *
 * `held_quantity` is not incremented or decremented by hand: every batch that changes offers recounts it
 * from the offered pre-bookings themselves (`recountHeld`), so `held_quantity = count(offered)` holds by
 * construction, and the triggers of migrations/0012 keep `0 <= held_quantity <= stock_quantity`.
 *
 * Each round's offered users are published as `prebook.offered` messages (one email each, exactly once,
 * through the delivery ledger); `offer_rounds.published_at` confirms it, and the cron relay republishes a
 * round that was committed but never confirmed. The same batch records the round's `prebook.offered`
 * webhook events (and an expiry batch its `prebook.expired` ones: features/webhooks/webhook-events.ts).
 * Lapsed holds expire by cron, each book in its own batch.
 */
import { and, asc, eq, isNull, lt, lte, type SQL, sql } from "drizzle-orm";
import { offerRounds, preBookings } from "../../db/schema.ts";
import { batch, type Db, rawQuery } from "../../lib/db.ts";
import type { Effects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { publishPrebookOffered } from "../../notifications/prebook-message.ts";
import { relayUnconfirmed } from "../../notifications/relay.ts";
import { publishWebhookEventsLater } from "../../notifications/webhook-publication.ts";
import { eventIdsOf, prebookExpiredEvents, prebookOfferedEvents } from "../webhooks/webhook-events.ts";

export type OfferReason = "restock" | "expiry" | "cancel" | "policy";

/** What one batch offered: the round and its readers, to publish once the batch committed. */
export interface OfferRound {
	bookId: number;
	roundId: number;
	holdExpiresAt: string;
	userIds: number[];
	/** The round's `prebook.offered` webhook events (none when no endpoint subscribes). */
	webhookEventIds: number[];
}

/** `bookId` as SQL: a number, or an expression evaluated inside the batch (a cancel knows the pre-booking). */
const bookRef = (bookId: number | SQL) => (typeof bookId === "number" ? sql`${bookId}` : sql`(${bookId})`);

/** Sets `held_quantity` to the book's offered pre-bookings, if it differs. */
export const recountHeld = (bookId: number | SQL) => {
	const id = bookRef(bookId);
	// Counted once (over idx_pre_bookings_book_offered), not once in SET and again in WHERE.
	return rawQuery(sql`UPDATE books SET held_quantity = offered.n
		FROM (SELECT count(*) AS n FROM pre_bookings WHERE book_id = ${id} AND status = 'offered') AS offered
		WHERE books.id = ${id} AND books.held_quantity <> offered.n`);
};

/**
 * The statements that offer a hold_queue book's available copies to the first in line, for the end of a
 * batch that may have freed copies. They do nothing for a notify_all book, without available copies, or
 * with nobody waiting. Results: [the round (if any), the offered users, the round's webhook events, —].
 */
export function offerHeldCopies(bookId: number | SQL, reason: OfferReason, now: string) {
	const id = bookRef(bookId);
	const latestRound = sql`(SELECT max(id) FROM offer_rounds WHERE book_id = ${id})`;
	return [
		rawQuery<{ id: number; book_id: number; hold_expires_at: string }>(sql`
			INSERT INTO offer_rounds (book_id, reason, offered_at, hold_expires_at, created_at)
			SELECT b.id, ${reason}, ${now}, strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+' || b.hold_hours || ' hours'), ${now}
			FROM books AS b
			WHERE b.id = ${id} AND b.allocation = 'hold_queue' AND b.stock_quantity > b.held_quantity
				AND EXISTS (SELECT 1 FROM pre_bookings WHERE book_id = b.id AND status = 'waiting')
			RETURNING id, book_id, hold_expires_at`),
		// The line order is idx_pre_bookings_book_line: the first `available` waiting rows, nothing more.
		rawQuery<{ user_id: number }>(sql`
			UPDATE pre_bookings
			SET status = 'offered', offered_at = ${now}, offer_round_id = ${latestRound},
				hold_expires_at = (SELECT hold_expires_at FROM offer_rounds WHERE id = ${latestRound})
			WHERE id IN (
				SELECT id FROM pre_bookings WHERE book_id = ${id} AND status = 'waiting'
				ORDER BY created_at, id
				LIMIT coalesce((SELECT max(0, stock_quantity - held_quantity) FROM books
					WHERE id = ${id} AND allocation = 'hold_queue'), 0))
			RETURNING user_id`),
		prebookOfferedEvents(latestRound, now),
		recountHeld(bookId),
	] as const;
}

/** The round a batch's `offerHeldCopies` results describe, or null when it offered nothing. */
export function offerRoundOf(
	round: { id: number; book_id: number; hold_expires_at: string }[],
	offered: { user_id: number }[],
	webhookEvents: { id: number }[],
): OfferRound | null {
	const made = round[0];
	if (!made || offered.length === 0) return null;
	return {
		bookId: made.book_id,
		roundId: made.id,
		holdExpiresAt: made.hold_expires_at,
		userIds: offered.map((row) => row.user_id),
		webhookEventIds: eventIdsOf(webhookEvents),
	};
}

/**
 * `recountHeld` and `offerHeldCopies` for several books (a batch that released copies on each), with the
 * reader of their results: give it the batch's results from `offset`, where these statements start.
 */
export function offerHeldCopiesOnBooks(bookIds: number[], reason: OfferReason, now: string) {
	const statements = bookIds.flatMap((bookId) => [
		recountHeld(bookId),
		...offerHeldCopies(bookId, reason, now),
	]);
	const roundsOf = (results: readonly unknown[], offset: number): OfferRound[] =>
		bookIds
			.map((_, i) => {
				// Per book: recount, round, offered, webhook events, recount — the layout of the statements above.
				const at = offset + i * 5;
				return offerRoundOf(
					results[at + 1] as { id: number; book_id: number; hold_expires_at: string }[],
					results[at + 2] as { user_id: number }[],
					results[at + 3] as { id: number }[],
				);
			})
			.filter((round): round is OfferRound => round !== null);
	return { statements, roundsOf };
}

/** Marks a round's publication as accepted by the queue (the relay then leaves it alone). */
export async function confirmOfferPublished(db: Db, roundId: number): Promise<void> {
	await db
		.update(offerRounds)
		.set({ publishedAt: new Date().toISOString() })
		.where(and(eq(offerRounds.id, roundId), isNull(offerRounds.publishedAt)));
}

/**
 * Publishes a committed round's holds and confirms it after the response. A failure is logged, not
 * thrown: the offers have committed and stay committed; the relay republishes the round.
 */
export async function publishOfferRound(effects: Effects, round: OfferRound | null): Promise<void> {
	if (!round) return;
	publishWebhookEventsLater(effects, round.webhookEventIds);
	try {
		const sent = await publishPrebookOffered(
			effects.queue,
			{ book_id: round.bookId, offer_round_id: round.roundId, hold_expires_at: round.holdExpiresAt },
			round.userIds,
		);
		logEvent("info", "offer_round_published", {
			book_id: round.bookId,
			offer_round_id: round.roundId,
			offered: round.userIds.length,
			...sent,
		});
		effects.afterResponse(confirmOfferPublished(effects.systemDb, round.roundId));
	} catch (err) {
		logEvent("error", "offer_round_publish_failed", {
			book_id: round.bookId,
			offer_round_id: round.roundId,
			error: describeError(err),
		});
	}
}

/** Holds expired per batch: a batch stays far inside D1's 30 s and statement limits at any line length. */
export const EXPIRY_BATCH = 1_000;
/** Batches per cron run; a run that hits this leaves the rest to the next minute. */
export const EXPIRY_BATCHES_PER_RUN = 20;

/**
 * Cron: expires lapsed holds and offers the freed copies to the next in line, one batch per book (and per
 * `EXPIRY_BATCH` holds), each batch its own unit of work: a failure is logged and retried next minute.
 */
export async function expireLapsedHolds(
	db: Db,
	effects: Effects,
	now: Date,
): Promise<{ expired: number; offered: number; batches: number; bookIds: number[] }> {
	const at = now.toISOString();
	// bookIds: the books whose holds changed (their cached catalog entries are stale).
	const totals = { expired: 0, offered: 0, batches: 0, bookIds: [] as number[] };
	while (totals.batches < EXPIRY_BATCHES_PER_RUN) {
		// Served by idx_pre_bookings_hold_expiry: the oldest lapsed hold names the next book to sweep.
		const [next] = await db
			.select({ bookId: preBookings.bookId })
			.from(preBookings)
			.where(and(eq(preBookings.status, "offered"), lte(preBookings.holdExpiresAt, at)))
			.orderBy(asc(preBookings.holdExpiresAt))
			.limit(1);
		if (!next) break;
		totals.batches += 1;
		// The lapsed holds this batch expires (`id` breaks ties, so the webhook events' selection and the
		// UPDATE's are the same rows).
		const lapsed = sql`SELECT id FROM pre_bookings
			WHERE book_id = ${next.bookId} AND status = 'offered' AND hold_expires_at <= ${at}
			ORDER BY hold_expires_at, id LIMIT ${EXPIRY_BATCH}`;
		try {
			const [expiredEvents, expired, , round, offered, offeredEvents] = await batch(db, [
				prebookExpiredEvents(lapsed, at),
				rawQuery<{ user_id: number }>(sql`
					UPDATE pre_bookings SET status = 'expired', expired_at = ${at}
					WHERE id IN (${lapsed})
					RETURNING user_id`),
				recountHeld(next.bookId),
				...offerHeldCopies(next.bookId, "expiry", at),
			]);
			const made = offerRoundOf(round, offered, offeredEvents);
			publishWebhookEventsLater(effects, eventIdsOf(expiredEvents));
			totals.expired += expired.length;
			if (!totals.bookIds.includes(next.bookId)) totals.bookIds.push(next.bookId);
			totals.offered += made?.userIds.length ?? 0;
			logEvent("info", "holds_expired", {
				book_id: next.bookId,
				expired: expired.length,
				offered: made?.userIds.length ?? 0,
			});
			await publishOfferRound(effects, made);
		} catch (err) {
			logEvent("error", "hold_expiry_failed", { book_id: next.bookId, error: describeError(err) });
			break;
		}
	}
	return totals;
}

/** Cron: republishes offer rounds committed but never confirmed (notifications/relay.ts: each its own unit). */
export function relayUnpublishedOfferRounds(db: Db, effects: Effects, now: Date) {
	return relayUnconfirmed(
		{
			name: "offer_round",
			findUnconfirmed: (createdBefore, limit) =>
				db
					.select({
						id: offerRounds.id,
						bookId: offerRounds.bookId,
						holdExpiresAt: offerRounds.holdExpiresAt,
					})
					.from(offerRounds)
					.where(and(isNull(offerRounds.publishedAt), lt(offerRounds.createdAt, createdBefore)))
					.orderBy(asc(offerRounds.id))
					.limit(limit),
			recipientsOf: (round) =>
				db
					.select({ userId: preBookings.userId })
					.from(preBookings)
					.where(eq(preBookings.offerRoundId, round.id)),
			publish: (round, offered) =>
				publishPrebookOffered(
					effects.queue,
					{ book_id: round.bookId, offer_round_id: round.id, hold_expires_at: round.holdExpiresAt },
					offered.map((row) => row.userId),
				),
			confirm: (round) => confirmOfferPublished(db, round.id),
		},
		now,
	);
}
