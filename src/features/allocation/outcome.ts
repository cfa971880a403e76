/**
 * What a batch did that the world must hear of, and the one path that tells it once the batch committed.
 *
 * Services return an `Outcome` (the engine's, plus anything of their own: a book they changed); the request
 * pipeline (app.ts) or the cron publishes it with `publishOutcome`: the notified and offered readers go to
 * the `prebook-notifications` queue (one email each, exactly once: prebook-emails), the recorded webhook
 * events to their delivery queue, and the changed books' cached catalog entries are dropped. Publishing
 * never undoes the commit: a failure is logged, and the cron relays (relays.ts) republish whatever was
 * committed but never confirmed.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { offerRounds, restocks } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { type Effects, requestEffects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { publishPrebookNotified, publishPrebookOffered } from "../../prebook-emails/messages.ts";
import type { AppEnv } from "../../types.ts";
import { publishWebhookEventsLater } from "../webhooks/webhook-publication.ts";

/** Readers of a notify_all line told the book is back, under one restock record. */
export interface Notice {
	restockId: number;
	bookId: number;
	notifiedAt: string;
	userIds: number[];
}

/** Readers first in line of a hold_queue book, each offered a held copy, in one round. */
export interface OfferRound {
	bookId: number;
	roundId: number;
	holdExpiresAt: string;
	userIds: number[];
}

export interface Outcome {
	notices: Notice[];
	offers: OfferRound[];
	/** Webhook outbox rows the batch recorded (published after the response). */
	webhookEventIds: number[];
	/** Books whose catalog view changed (stock, held copies, fields): their cached entries go. */
	catalogBookIds: number[];
}

/** Parts of outcomes as one (the engine's with the service's own). */
export function outcomeOf(...parts: Partial<Outcome>[]): Outcome {
	return {
		notices: parts.flatMap((part) => part.notices ?? []),
		offers: parts.flatMap((part) => part.offers ?? []),
		webhookEventIds: parts.flatMap((part) => part.webhookEventIds ?? []),
		catalogBookIds: [...new Set(parts.flatMap((part) => part.catalogBookIds ?? []))],
	};
}

export const NOTHING: Outcome = outcomeOf();

/** Marks a notice's (restock's) publication as accepted by the queue: the relay then leaves it alone. */
export async function confirmNoticePublished(db: Db, restockId: number): Promise<void> {
	await db
		.update(restocks)
		.set({ publishedAt: new Date().toISOString() })
		.where(and(eq(restocks.id, restockId), isNull(restocks.publishedAt)));
}

/** Marks a round's publication as accepted by the queue: the relay then leaves it alone. */
export async function confirmOfferPublished(db: Db, roundId: number): Promise<void> {
	await db
		.update(offerRounds)
		.set({ publishedAt: new Date().toISOString() })
		.where(and(eq(offerRounds.id, roundId), isNull(offerRounds.publishedAt)));
}

async function publishNotice(effects: Effects, notice: Notice): Promise<void> {
	try {
		const sent = await publishPrebookNotified(
			effects.queue,
			{ book_id: notice.bookId, restock_id: notice.restockId, notified_at: notice.notifiedAt },
			notice.userIds,
		);
		logEvent("info", "notice_published", {
			book_id: notice.bookId,
			restock_id: notice.restockId,
			recipients: notice.userIds.length,
			...sent,
		});
		effects.afterResponse(confirmNoticePublished(effects.systemDb, notice.restockId));
	} catch (err) {
		logEvent("error", "notice_publish_failed", {
			book_id: notice.bookId,
			restock_id: notice.restockId,
			error: describeError(err),
		});
	}
}

async function publishOfferRound(effects: Effects, round: OfferRound): Promise<void> {
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

/**
 * After the commit: the readers' emails, the webhook events and the catalog, for every route and the cron.
 * The queue publications are awaited (a restock answers once its readers are on the queue); their
 * confirmations and the webhook publication run after the response.
 */
export async function publishOutcome(effects: Effects, outcome: Outcome): Promise<void> {
	publishWebhookEventsLater(effects, outcome.webhookEventIds);
	for (const notice of outcome.notices) await publishNotice(effects, notice);
	for (const round of outcome.offers) await publishOfferRound(effects, round);
	if (outcome.catalogBookIds.length > 0) await effects.forgetCatalog(outcome.catalogBookIds);
}

/** `publishOutcome` for a request: what a handler calls once its service's batch committed. */
export const publishAfterCommit = (c: Context<AppEnv>, outcome: Outcome): Promise<void> =>
	publishOutcome(requestEffects(c), outcome);
