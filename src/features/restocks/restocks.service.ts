/**
 * The restock: `PATCH /books/{id}/stock` → one D1 batch that records the restock, sets the stock and runs
 * the allocation engine for the book (features/allocation: notify_all notifies the line, hold_queue offers
 * the new copies to the first in line) → the outcome published after the commit (the readers' ids to the
 * queue, webhook events, the catalog entry). The prebook-emails consumer emails each reader once; the cron
 * relay republishes whatever was committed but never confirmed.
 *
 * The engine's part is only the statements of the book's policy, checked inside the batch by the allocation
 * guard (allocation/expected-policy.ts): a book whose policy another isolate switched costs a second round
 * trip. The old stock is never read in a separate round trip: the restock record reads it inside the batch, and
 * two concurrent restocks from 0 serialize in D1, so the line is served once. The stock never goes below
 * the held copies (the trigger books_held_within_stock_update aborts the batch: 409 STOCK_BELOW_HELD).
 */
import { desc, eq, lt, sql } from "drizzle-orm";
import { type Allocation, type BookRow, books, restocks } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound, constraintViolation } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { reviveDeadDeliveries } from "../../prebook-emails/delivery-ledger.ts";
import { allocateBook } from "../allocation/engine.ts";
import { rememberPolicy, withBookPolicy } from "../allocation/expected-policy.ts";
import { type Notice, type Outcome, outcomeOf } from "../allocation/outcome.ts";
import { eventIdsOf, restockCreatedEvent } from "../webhooks/webhook-events.ts";
import type { RestockView } from "./restocks.schemas.ts";

/** `PATCH /books/{id}/stock`: one round trip, whatever the length of the line. */
export async function setStock(
	db: Db,
	adminId: number,
	bookId: number,
	quantity: number,
): Promise<{ book: BookRow; outcome: Outcome }> {
	const { restock, allocation, restockEvent, updated } = await withUniqueNow((now) =>
		withBookPolicy(bookId, (policy) => restockBatch(db, adminId, bookId, quantity, policy, now)),
	);
	const book = updated[0];
	if (!book) throw bookNotFound();
	rememberPolicy(bookId, book.allocation);
	const notified = allocation.notices.reduce((sum, notice) => sum + notice.count, 0);
	if (restock[0]) {
		logEvent("info", "restock_recorded", {
			book_id: bookId,
			restock_id: restock[0].id,
			notified,
			offered: allocation.offers.reduce((sum, round) => sum + round.count, 0),
		});
	}
	return {
		book,
		outcome: outcomeOf(allocation, { webhookEventIds: eventIdsOf(restockEvent), catalogBookIds: [bookId] }),
	};
}

/** The restock's one batch, with the engine's statements of `policy` (the book's, checked inside it). */
const restockBatch = (
	db: Db,
	adminId: number,
	bookId: number,
	quantity: number,
	policy: Allocation | "any",
	now: string,
) =>
	batch(db, {
		// Recorded when the stock rises, with the stock it had inside this transaction.
		restock: rawQuery<{ id: number }>(sql`
			INSERT INTO restocks (book_id, admin_id, quantity_before, quantity_after, reason, created_at)
			SELECT id, ${adminId}, stock_quantity, ${quantity}, 'restock', ${now}
			FROM books WHERE id = ${bookId} AND stock_quantity < ${quantity}
			RETURNING id`),
		// Below the held copies, the trigger books_held_within_stock_update aborts the whole batch.
		stock: db.update(books).set({ stockQuantity: quantity, updatedAt: now }).where(eq(books.id, bookId)),
		allocation: allocateBook(bookId, "restock", now, policy),
		// Rule 12: the supply this restock delivered no longer counts for estimates (only when the stock rose).
		received: rawQuery(sql`UPDATE inbound_shipments SET received_at = ${now}
			WHERE book_id = ${bookId} AND received_at IS NULL
				AND expected_at <= strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+7 days')
				AND EXISTS (SELECT 1 FROM restocks WHERE book_id = ${bookId} AND created_at = ${now} AND reason = 'restock')`),
		// After the engine: the event carries how many readers the restock notified.
		restockEvent: restockCreatedEvent(bookId, now),
		updated: db.select().from(books).where(eq(books.id, bookId)),
	}).catch((err: unknown) => {
		if (constraintViolation(err)?.kind === "check") {
			throw new AppError(
				"STOCK_BELOW_HELD",
				"The stock cannot go below the copies held for readers in line (held_quantity)",
				"quantity",
			);
		}
		throw err;
	});

/** Counts one delivery status of a restock through idx_email_deliveries_restock_status. */
const deliveries = (status: string) =>
	sql<number>`(SELECT count(*) FROM email_deliveries AS d WHERE d.restock_id = ${restocks.id} AND d.status = ${status})`;

export function listRestocks(db: Db, query: { beforeId?: number; limit: number }): Promise<RestockView[]> {
	return db
		.select({
			id: restocks.id,
			reason: restocks.reason,
			wavesJson: sql<string>`(SELECT json_group_array(json_object('wave', w.wave,
				'notified_count', w.notified_count, 'created_at', w.created_at))
				FROM (SELECT * FROM notice_waves WHERE restock_id = ${restocks.id} ORDER BY wave) AS w)`,
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
export async function replayDeadDeliveries(
	db: Db,
	restockId: number,
): Promise<{ revived: number; outcome: Outcome }> {
	const { restock, revived } = await reviveDeadDeliveries(db, restockId, new Date());
	if (!restock) throw new AppError("RESTOCK_NOT_FOUND", "No restock with this id", "id");
	// Published as the notices they were (one per wave), whole: the ledger re-claims only the revived.
	const notices = new Map<string, Notice>();
	for (const { user_id, notified_at } of revived) {
		const notice = notices.get(notified_at) ?? {
			restockId,
			bookId: restock.bookId,
			notifiedAt: notified_at,
			count: 0,
			firstPage: [],
		};
		notice.firstPage.push(user_id);
		notice.count += 1;
		notices.set(notified_at, notice);
	}
	return { revived: revived.length, outcome: outcomeOf({ notices: [...notices.values()] }) };
}
