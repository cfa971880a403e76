/**
 * Restock (rule 4): `PATCH /books/{id}/stock`. One D1 batch, one transaction:
 *  1. a `restocks` record when the stock rises (before/after, admin, how many it notifies);
 *  2. every waiting pre-booking of the book becomes `notified` with one shared `notified_at` and the
 *     restock's id — only if the stock *inside the transaction* is 0 and the new quantity is above 0;
 *  3. the new stock.
 * The old stock is never read in a separate round trip: two concurrent restocks from 0 serialize in D1
 * and only the first sees 0, so the waiting users are notified once. 0→0, n→m and decreases notify
 * nobody; notified and cancelled rows are never touched.
 */
import { sql } from "drizzle-orm";
import { type BookRow, books } from "../../db/schema.ts";
import { type Db, rowOf, runBatch } from "../../lib/db.ts";
import { logEvent } from "../../lib/log.ts";
import { publishPrebookNotified } from "../../notifications/prebook-message.ts";
import { bookNotFound } from "../books/books.service.ts";

export interface RestockResult {
	book: BookRow;
	/** Present when the restock notified someone. */
	notification?: { restockId: number; notifiedAt: string; userIds: number[] };
}

export async function restockBook(
	db: Db,
	adminId: number,
	bookId: number,
	quantity: number,
): Promise<RestockResult> {
	const now = new Date().toISOString();
	const [restock, notified, updated] = await runBatch(db, [
		sql`INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, notified_count, created_at)
			SELECT id, ${adminId}, stock_quantity, ${quantity},
				CASE WHEN stock_quantity = 0
					THEN (SELECT count(*) FROM pre_bookings WHERE book_id = books.id AND status = 'waiting')
					ELSE 0 END,
				${now}
			FROM books WHERE id = ${bookId} AND stock_quantity < ${quantity}
			RETURNING id`,
		// Statement 1 inserted this book's newest restock exactly when this one can match (0 < quantity).
		sql`UPDATE pre_bookings
			SET status = 'notified', notified_at = ${now},
				restock_id = (SELECT max(id) FROM restocks WHERE book_id = ${bookId})
			WHERE book_id = ${bookId} AND status = 'waiting'
				AND ${quantity} > 0 AND (SELECT stock_quantity FROM books WHERE id = ${bookId}) = 0
			RETURNING user_id`,
		sql`UPDATE books SET stock_quantity = ${quantity}, updated_at = ${now} WHERE id = ${bookId} RETURNING *`,
	]);
	const bookRow = updated?.[0];
	if (!bookRow) throw bookNotFound();
	const book = rowOf(books, bookRow);
	const restockId = restock?.[0]?.id as number | undefined;
	if (!restockId || !notified?.length) return { book };
	return {
		book,
		notification: { restockId, notifiedAt: now, userIds: notified.map((row) => row.user_id as number) },
	};
}

/**
 * Puts a restock's notification on the queue. A failure is logged, not thrown: the stock change has
 * committed and stays committed.
 */
export async function publishRestock(
	queue: Queue,
	bookId: number,
	notification: NonNullable<RestockResult["notification"]>,
): Promise<boolean> {
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
			error: err instanceof Error ? err.name : typeof err,
		});
		return false;
	}
}
