import { desc, eq, lt, sql } from "drizzle-orm";
import { books, restocks } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { reviveDeadDeliveries } from "../../notifications/delivery-ledger.ts";
import { publishPrebookNotified } from "../../notifications/prebook-message.ts";

/** Counts one delivery status of a restock through idx_email_deliveries_restock_status. */
const deliveries = (status: string) =>
	sql<number>`(SELECT count(*) FROM email_deliveries AS d WHERE d.restock_id = ${restocks.id} AND d.status = ${status})`;

export function listRestocks(db: Db, query: { beforeId?: number; limit: number }) {
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

export async function replayDeadDeliveries(db: Db, queue: Queue, restockId: number): Promise<number> {
	const { restock, userIds } = await reviveDeadDeliveries(db, restockId, new Date());
	if (!restock) throw new AppError("RESTOCK_NOT_FOUND", "No restock with this id", "id");
	if (userIds.length > 0) {
		await publishPrebookNotified(
			queue,
			{ book_id: restock.bookId, restock_id: restockId, notified_at: restock.createdAt },
			userIds,
		);
	}
	return userIds.length;
}
