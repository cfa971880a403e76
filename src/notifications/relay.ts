/**
 * Nothing is lost between commit and enqueue. A restock records its notification in D1 first; the queue
 * publication is confirmed afterwards (`restocks.published_at`). If the Worker died in between, the cron
 * trigger finds the restock unconfirmed and republishes it. A republish can repeat ids that were already
 * emailed: the delivery ledger makes that harmless.
 */
import { and, asc, eq, gt, isNull, lt } from "drizzle-orm";
import { preBookings, restocks } from "../db/schema.ts";
import type { Db } from "../lib/db.ts";
import { logEvent } from "../lib/log.ts";
import { publishPrebookNotified } from "./prebook-message.ts";

/** Younger restocks may still be publishing in the request that made them. */
export const RELAY_GRACE_MS = 60 * 1000;
/** Restocks republished per run; the next minute's run takes the rest. */
export const RELAY_BATCH = 25;

export async function confirmPublished(db: Db, restockId: number): Promise<void> {
	await db
		.update(restocks)
		.set({ publishedAt: new Date().toISOString() })
		.where(and(eq(restocks.id, restockId), isNull(restocks.publishedAt)));
}

export async function relayUnpublishedRestocks(
	db: Db,
	queue: Queue,
	now: Date,
): Promise<{ restocks: number; recipients: number }> {
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
	for (const restock of pending) {
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
	}
	return { restocks: pending.length, recipients };
}
