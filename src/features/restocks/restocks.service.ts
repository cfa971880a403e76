/**
 * The restock, top to bottom: `PATCH /books/{id}/stock` → one D1 batch that sets the stock and notifies
 * the waiting pre-bookings → the notified ids published to the queue → the publication confirmed. The
 * queue consumer (notifications/consumer.ts) emails each user once; the cron relay below republishes
 * whatever was committed but never confirmed.
 *
 * The batch (rule 4 of API.md, Pre-bookings), one transaction:
 *  1. a `restocks` record when the stock rises (before/after, admin, how many it notifies);
 *  2. every waiting pre-booking of the book becomes `notified` with one shared `notified_at` and the
 *     restock's id — only if the stock *inside the transaction* is 0 and the new quantity is above 0;
 *  3. the new stock.
 * The old stock is never read in a separate round trip: two concurrent restocks from 0 serialize in D1
 * and only the first sees 0, so the waiting users are notified once. 0→0, n→m and decreases notify
 * nobody; notified and cancelled rows are never touched.
 *
 * Nothing is lost between commit and enqueue: `restocks.published_at` is set only once the queue accepted
 * every id. A Worker that dies in between leaves it null, and the cron relay republishes; a republish may
 * repeat ids that were already emailed, which the delivery ledger makes harmless.
 */
import { and, asc, desc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { type BookRow, books, preBookings, restocks } from "../../db/schema.ts";
import { batch, type D1Usage, type Db, rawQuery } from "../../lib/db.ts";
import { AppError, describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { reviveDeadDeliveries } from "../../notifications/delivery-ledger.ts";
import { publishPrebookNotified } from "../../notifications/prebook-message.ts";
import type { RestockView } from "./restocks.schemas.ts";

/** Younger restocks may still be publishing in the request that made them. */
export const RELAY_GRACE_MS = 60 * 1000;
/** Restocks republished per cron run; the next minute's run takes the rest. */
export const RELAY_BATCH = 25;

/** What a restock does besides its batch: publish to the queue, and confirm once the response is sent. */
export interface RestockEffects {
	queue: Queue;
	/** Runs after the response (`executionCtx.waitUntil`). */
	afterResponse(work: Promise<unknown>): void;
	/** A client outside the request (no caller guard, not metered): the confirmation is the system's. */
	systemDb: Db;
	/** The request's D1 usage, logged with the restock (the benchmark reads it). */
	usage: D1Usage;
}

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
): Promise<{ book: BookRow; notification?: Notification }> {
	const now = new Date().toISOString();
	const [restock, notified, updated] = await batch(db, [
		rawQuery<{ id: number }>(sql`
			INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, notified_count, created_at)
			SELECT id, ${adminId}, stock_quantity, ${quantity},
				CASE WHEN stock_quantity = 0
					THEN (SELECT count(*) FROM pre_bookings WHERE book_id = books.id AND status = 'waiting')
					ELSE 0 END,
				${now}
			FROM books WHERE id = ${bookId} AND stock_quantity < ${quantity}
			RETURNING id`),
		// Statement 1 inserted this book's newest restock exactly when this one can match (0 < quantity).
		rawQuery<{ user_id: number }>(sql`
			UPDATE pre_bookings
			SET status = 'notified', notified_at = ${now},
				restock_id = (SELECT max(id) FROM restocks WHERE book_id = ${bookId})
			WHERE book_id = ${bookId} AND status = 'waiting'
				AND ${quantity} > 0 AND (SELECT stock_quantity FROM books WHERE id = ${bookId}) = 0
			RETURNING user_id`),
		db.update(books).set({ stockQuantity: quantity, updatedAt: now }).where(eq(books.id, bookId)).returning(),
	]);
	const book = updated[0];
	if (!book) throw new AppError("BOOK_NOT_FOUND", "No book with this id", "id");
	const restockId = restock[0]?.id;
	if (restockId === undefined || notified.length === 0) return { book };
	return { book, notification: { restockId, notifiedAt: now, userIds: notified.map((row) => row.user_id) } };
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
	effects: RestockEffects,
	adminId: number,
	bookId: number,
	quantity: number,
): Promise<BookRow> {
	const { book, notification } = await restockBatch(db, adminId, bookId, quantity);
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
 * confirmed. Each restock is its own unit: one that fails is logged and retried next minute, the others go on.
 */
export async function relayUnpublishedRestocks(
	db: Db,
	queue: Queue,
	now: Date,
): Promise<{ restocks: number; recipients: number; failed: number }> {
	const pending = await db
		.select({ id: restocks.id, bookId: restocks.bookId, createdAt: restocks.createdAt })
		.from(restocks)
		.where(
			and(
				isNull(restocks.publishedAt),
				gt(restocks.notifiedCount, 0),
				lt(restocks.createdAt, new Date(now.getTime() - RELAY_GRACE_MS).toISOString()),
			),
		)
		.orderBy(asc(restocks.id))
		.limit(RELAY_BATCH);

	let recipients = 0;
	let failed = 0;
	for (const restock of pending) {
		try {
			const notified = await db
				.select({ userId: preBookings.userId, notifiedAt: preBookings.notifiedAt })
				.from(preBookings)
				.where(eq(preBookings.restockId, restock.id));
			if (notified.length > 0) {
				await publishPrebookNotified(
					queue,
					{
						book_id: restock.bookId,
						restock_id: restock.id,
						notified_at: notified[0]?.notifiedAt ?? restock.createdAt,
					},
					notified.map((row) => row.userId),
				);
			}
			await confirmPublished(db, restock.id);
			recipients += notified.length;
			logEvent("warn", "restock_relayed", { restock_id: restock.id, recipients: notified.length });
		} catch (err) {
			failed += 1;
			logEvent("error", "restock_relay_failed", { restock_id: restock.id, error: describeError(err) });
		}
	}
	return { restocks: pending.length, recipients, failed };
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
export async function replayDeadDeliveries(
	db: Db,
	effects: RestockEffects,
	restockId: number,
): Promise<number> {
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
