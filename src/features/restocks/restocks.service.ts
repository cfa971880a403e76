/**
 * The restock, top to bottom: `PATCH /books/{id}/stock` → one D1 batch that sets the stock and notifies
 * the waiting pre-bookings → the notified ids published to the queue → the publication confirmed. The
 * queue consumer (notifications/consumer.ts) emails each user once; the cron relay below republishes
 * whatever was committed but never confirmed.
 *
 * The batch (rules 4 and 5 of API.md, Pre-bookings), one transaction:
 *  1. a `restocks` record when the stock rises (before/after, admin, how many it notifies);
 *  2. notify_all: every waiting pre-booking of the book becomes `notified` with one shared `notified_at`
 *     and the restock's id — only if the available copies *inside the transaction* are 0 and become more;
 *  3. the new stock (never below the held copies: 409 STOCK_BELOW_HELD);
 *  4. hold_queue: the newly available copies are offered to the first in line (features/prebooks/allocation.ts).
 * Next to 1 and 2, the webhook outbox records `restock.created` and `prebook.notified` (when an endpoint
 * subscribes; features/webhooks/webhook-events.ts), published after the response.
 * The old stock is never read in a separate round trip: two concurrent restocks from 0 serialize in D1
 * and only the first sees 0, so the waiting users are notified once. 0→0, n→m and decreases notify
 * nobody; rows in any other state are never touched.
 *
 * Nothing is lost between commit and enqueue: `restocks.published_at` is set only once the queue accepted
 * every id. A Worker that dies in between leaves it null, and the cron relay republishes; a republish may
 * repeat ids that were already emailed, which the delivery ledger makes harmless.
 */
import { and, asc, desc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { type BookRow, books, preBookings, restocks } from "../../db/schema.ts";
import { batch, constraintViolation, type Db, rawQuery } from "../../lib/db.ts";
import type { Effects } from "../../lib/effects.ts";
import { AppError, describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { reviveDeadDeliveries } from "../../notifications/delivery-ledger.ts";
import { publishPrebookNotified } from "../../notifications/prebook-message.ts";
import { relayUnconfirmed } from "../../notifications/relay.ts";
import { publishWebhookEventsLater } from "../../notifications/webhook-publication.ts";
import { type OfferRound, offerHeldCopies, offerRoundOf, publishOfferRound } from "../prebooks/allocation.ts";
import { eventIdsOf, prebookNotifiedEvents, restockCreatedEvent } from "../webhooks/webhook-events.ts";
import type { RestockView } from "./restocks.schemas.ts";

interface Notification {
	restockId: number;
	notifiedAt: string;
	userIds: number[];
}

/** The batch: one round trip, whatever the number of waiting pre-bookings. */
async function restockBatch(
	db: Db,
	adminId: number,
	bookId: number,
	quantity: number,
): Promise<{
	book: BookRow;
	notification?: Notification;
	offers: OfferRound | null;
	webhookEventIds: number[];
}> {
	const now = new Date().toISOString();
	// Rule 4 (notify_all): the book's available copies go from 0 to more than 0 — evaluated on the stock
	// and holds inside this transaction, before the stock UPDATE changes the stock.
	const notifies = sql`(SELECT allocation = 'notify_all' AND stock_quantity - held_quantity = 0
		AND ${quantity} - held_quantity > 0 FROM books WHERE id = ${bookId})`;
	const results = await batch(db, [
		rawQuery<{ id: number }>(sql`
			INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, notified_count, created_at)
			SELECT id, ${adminId}, stock_quantity, ${quantity},
				CASE WHEN ${notifies}
					THEN (SELECT count(*) FROM pre_bookings WHERE book_id = books.id AND status = 'waiting')
					ELSE 0 END,
				${now}
			FROM books WHERE id = ${bookId} AND stock_quantity < ${quantity}
			RETURNING id`),
		// Statement 1 inserted this book's newest restock exactly when this one can match (the stock rose).
		rawQuery<{ user_id: number }>(sql`
			UPDATE pre_bookings
			SET status = 'notified', notified_at = ${now},
				restock_id = (SELECT max(id) FROM restocks WHERE book_id = ${bookId})
			WHERE book_id = ${bookId} AND status = 'waiting' AND ${notifies}
			RETURNING user_id`),
		// The webhook outbox, reading what statements 1 and 2 did.
		restockCreatedEvent(bookId, now),
		prebookNotifiedEvents(bookId, now),
		// Below the held copies, the trigger books_held_within_stock_update aborts the whole batch.
		db.update(books).set({ stockQuantity: quantity, updatedAt: now }).where(eq(books.id, bookId)),
		// Rule 5 (hold_queue): the copies this restock made available go to the first in line.
		...offerHeldCopies(bookId, "restock", now),
		db.select().from(books).where(eq(books.id, bookId)),
	]).catch((err: unknown) => {
		if (constraintViolation(err)?.kind === "check") {
			throw new AppError(
				"STOCK_BELOW_HELD",
				"The stock cannot go below the copies held for readers in line (held_quantity)",
				"quantity",
			);
		}
		throw err;
	});
	const [restock, notified, restockEvents, notifiedEvents, , round, offered, offeredEvents, , updated] =
		results;
	const book = updated[0];
	if (!book) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "id");
	const offers = offerRoundOf(round, offered, offeredEvents);
	const webhookEventIds = eventIdsOf(restockEvents, notifiedEvents);
	const restockId = restock[0]?.id;
	if (restockId === undefined || notified.length === 0) return { book, offers, webhookEventIds };
	return {
		book,
		offers,
		webhookEventIds,
		notification: { restockId, notifiedAt: now, userIds: notified.map((row) => row.user_id) },
	};
}

/** Marks a restock's notification as accepted by the queue (the relay then leaves it alone). */
export async function confirmPublished(db: Db, restockId: number): Promise<void> {
	await db
		.update(restocks)
		.set({ publishedAt: new Date().toISOString() })
		.where(and(eq(restocks.id, restockId), isNull(restocks.publishedAt)));
}

/** Publishes a notification; a failure is logged, not thrown (the stock change has committed). */
async function publish(queue: Queue, bookId: number, notification: Notification): Promise<boolean> {
	try {
		const sent = await publishPrebookNotified(
			queue,
			{ book_id: bookId, restock_id: notification.restockId, notified_at: notification.notifiedAt },
			notification.userIds,
		);
		logEvent("info", "restock_published", {
			restock_id: notification.restockId,
			book_id: bookId,
			recipients: notification.userIds.length,
			...sent,
		});
		return true;
	} catch (err) {
		logEvent("error", "restock_publish_failed", {
			restock_id: notification.restockId,
			book_id: bookId,
			error: describeError(err),
		});
		return false;
	}
}

/**
 * `PATCH /books/{id}/stock`: the batch, then the publication before answering (the response time
 * includes the fan-out, see `npm run bench`), then the confirmation after the response.
 */
export async function setStock(
	db: Db,
	effects: Effects,
	adminId: number,
	bookId: number,
	quantity: number,
): Promise<BookRow> {
	const { book, notification, offers, webhookEventIds } = await restockBatch(db, adminId, bookId, quantity);
	publishWebhookEventsLater(effects, webhookEventIds);
	await publishOfferRound(effects, offers);
	if (!notification) return book;
	if (await publish(effects.queue, bookId, notification)) {
		effects.afterResponse(confirmPublished(effects.systemDb, notification.restockId));
	}
	logEvent("info", "restock_notified", {
		book_id: bookId,
		restock_id: notification.restockId,
		notified: notification.userIds.length,
		d1_round_trips: effects.usage.roundTrips,
		d1_rows_read: effects.usage.rowsRead,
		d1_rows_written: effects.usage.rowsWritten,
	});
	return book;
}

/**
 * Cron: republishes every notifying restock older than the grace period whose publication was never
 * confirmed (notifications/relay.ts: each restock its own unit, logged `restock_relayed` or
 * `restock_relay_failed` and then retried next minute).
 */
export function relayUnpublishedRestocks(db: Db, queue: Queue, now: Date) {
	return relayUnconfirmed(
		{
			name: "restock",
			findUnconfirmed: (createdBefore, limit) =>
				db
					.select({ id: restocks.id, bookId: restocks.bookId, createdAt: restocks.createdAt })
					.from(restocks)
					.where(
						and(
							isNull(restocks.publishedAt),
							gt(restocks.notifiedCount, 0),
							lt(restocks.createdAt, createdBefore),
						),
					)
					.orderBy(asc(restocks.id))
					.limit(limit),
			recipientsOf: (restock) =>
				db
					.select({ userId: preBookings.userId, notifiedAt: preBookings.notifiedAt })
					.from(preBookings)
					.where(eq(preBookings.restockId, restock.id)),
			publish: (restock, notified) =>
				publishPrebookNotified(
					queue,
					{
						book_id: restock.bookId,
						restock_id: restock.id,
						notified_at: notified[0]?.notifiedAt ?? restock.createdAt,
					},
					notified.map((row) => row.userId),
				),
			confirm: (restock) => confirmPublished(db, restock.id),
		},
		now,
	);
}

/** Counts one delivery status of a restock through idx_email_deliveries_restock_status. */
const deliveries = (status: string) =>
	sql<number>`(SELECT count(*) FROM email_deliveries AS d WHERE d.restock_id = ${restocks.id} AND d.status = ${status})`;

export function listRestocks(db: Db, query: { beforeId?: number; limit: number }): Promise<RestockView[]> {
	return db
		.select({
			id: restocks.id,
			bookId: restocks.bookId,
			bookTitle: books.title,
			quantityBefore: restocks.quantityBefore,
			quantityAfter: restocks.quantityAfter,
			notifiedCount: restocks.notifiedCount,
			sentCount: deliveries("sent"),
			failedCount: deliveries("failed"),
			deadCount: deliveries("dead"),
			skippedCount: deliveries("skipped"),
			// Conversion: the users this restock notified who then bought the book (rule 6).
			fulfilledCount: sql<number>`(SELECT count(*) FROM pre_bookings AS p
				WHERE p.restock_id = ${restocks.id} AND p.status = 'fulfilled')`,
			createdAt: restocks.createdAt,
			publishedAt: restocks.publishedAt,
		})
		.from(restocks)
		.innerJoin(books, eq(books.id, restocks.bookId))
		.where(query.beforeId !== undefined ? lt(restocks.id, query.beforeId) : undefined)
		.orderBy(desc(restocks.id))
		.limit(query.limit + 1);
}

/**
 * Replay: the restock's dead deliveries become claimable again and the restock goes back to the relay
 * (`published_at` cleared) in one batch; then its revived users are published and the restock confirmed.
 * If publishing fails, nothing is stranded: the cron relay publishes it within a minute or two.
 */
export async function replayDeadDeliveries(db: Db, effects: Effects, restockId: number): Promise<number> {
	const { restock, userIds } = await reviveDeadDeliveries(db, restockId, new Date());
	if (!restock) throw new AppError("RESTOCK_NOT_FOUND", "No restock with this id", "id");
	if (userIds.length === 0) return 0;
	const published = await publish(effects.queue, restock.bookId, {
		restockId,
		notifiedAt: restock.createdAt,
		userIds,
	});
	if (published) effects.afterResponse(confirmPublished(effects.systemDb, restockId));
	return userIds.length;
}
