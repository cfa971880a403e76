/**
 * What a batch did that the world must hear of, and the one path that tells it once the batch committed.
 *
 * Services return an `Outcome` (the engine's, plus anything of their own: a book they changed); a handler
 * (`publishAfterCommit`), the cron or a queue consumer publishes it with `publishOutcome` (publish-outcome.ts): the
 * notified and offered readers go to the `prebook-notifications` queue (one email each, exactly once:
 * prebook-emails), the recorded webhook events to their delivery queue, and the changed books' cached
 * catalog entries are dropped. Publishing never undoes the commit: a failure is logged, and the cron's
 * relays (sweeps.ts, over lib/relay.ts) republish whatever was committed but never confirmed. This file
 * holds the type and the confirmations the relays read.
 */
import { and, eq, isNull } from "drizzle-orm";
import { offerRounds, restocks } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";

/**
 * Readers told a book is back (notify_all, or one wave), under one restock record and one `notified_at`.
 * It carries their count and only the first page of their ids (read with the batch): a line of a million
 * is never held in memory; the publication pages through the rest (paged-publication.ts).
 */
export interface Notice {
	restockId: number;
	bookId: number;
	notifiedAt: string;
	count: number;
	/** The first readers in `user_id` order, at most `PUBLICATION_PAGE`. */
	firstPage: number[];
	/**
	 * A wave's notice shares its restock record (one publication unit) with the record's earlier waves:
	 * where the record's publication cursor was in the batch, and whether an earlier wave's readers were
	 * still after it (not yet published). Absent for a notice that has its record to itself.
	 */
	record?: { cursor: { at: string | null; userId: number | null }; earlierPending: boolean };
}

/** Readers first in line of a hold_queue or lottery book, each offered a held copy, in one round. */
export interface OfferRound {
	bookId: number;
	roundId: number;
	count: number;
	/**
	 * The first readers in `user_id` order, at most `PUBLICATION_PAGE`, each with their hold's end: the
	 * round's, or 09:00 in their time zone when it fell in their quiet hours (rule 13).
	 */
	firstPage: { userId: number; holdExpiresAt: string }[];
}

export interface Outcome {
	notices: Notice[];
	offers: OfferRound[];
	/** Webhook outbox rows the batch recorded (published after the response). */
	webhookEventIds: number[];
	/** Books whose catalog view changed (stock, held copies, fields): their cached entries go. */
	catalogBookIds: number[];
	/** Works whose catalog view changed (the work, or which editions it has): their cached entries go. */
	catalogWorkIds: number[];
	/** Lottery draws this batch closed: the Worker scores them and offers the winners (lottery-draws.ts). */
	closingDraws: number[];
	/** Lottery books left without an open draw: one is opened (a fresh seed) after the commit. */
	drawsToOpen: number[];
}

/** Parts of outcomes as one (the engine's with the service's own). */
export function outcomeOf(...parts: Partial<Outcome>[]): Outcome {
	return {
		notices: parts.flatMap((part) => part.notices ?? []),
		offers: parts.flatMap((part) => part.offers ?? []),
		webhookEventIds: parts.flatMap((part) => part.webhookEventIds ?? []),
		catalogBookIds: [...new Set(parts.flatMap((part) => part.catalogBookIds ?? []))],
		catalogWorkIds: [...new Set(parts.flatMap((part) => part.catalogWorkIds ?? []))],
		closingDraws: [...new Set(parts.flatMap((part) => part.closingDraws ?? []))],
		drawsToOpen: [...new Set(parts.flatMap((part) => part.drawsToOpen ?? []))],
	};
}

export const NOTHING: Outcome = outcomeOf();

/** Marks a unit's publication as accepted by the queue: the relay then leaves it alone. */
export async function confirmPublished(
	db: Db,
	unit: { kind: "notice" | "offer_round"; id: number },
): Promise<void> {
	const table = unit.kind === "notice" ? restocks : offerRounds;
	await db
		.update(table)
		.set({ publishedAt: new Date().toISOString() })
		.where(and(eq(table.id, unit.id), isNull(table.publishedAt)));
}
