/**
 * The one path by which what a batch did reaches the world once it committed, for every route and the
 * cron: `publishOutcome` puts the notified and offered readers on the `prebook-notifications` queue (one
 * email each, exactly once: src/prebook-emails), publishes the recorded webhook events, hands the lottery
 * draws the batch closed to `prebook-publication` to be scored (publication-consumer.ts), opens the draws it left
 * missing (lottery-draws.ts), and drops the changed
 * books' cached catalog entries. Publishing never undoes the commit: a failure is logged, and the cron's
 * relays and sweeps (sweeps.ts) finish whatever was committed but not confirmed.
 */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/app-env.ts";
import { type Effects, requestEffects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { publishWebhookEventsLater } from "../webhooks/webhook-publication.ts";
import { completeDrawLater, openDraws } from "./lottery-draws.ts";
import { confirmPublished, type Notice, type OfferRound, type Outcome } from "./outcome.ts";
import {
	confirmThrough,
	continueLater,
	cursorAfter,
	type PublicationUnit,
	putOnQueue,
} from "./paged-publication.ts";

/**
 * Puts a notice's or a round's readers on the queue: the first page, read with the batch, now; when there
 * are more, the cursor is moved past that page and the rest is handed to `prebook-publication`
 * (paged-publication.ts), so the request answers in the same time whatever the length of the line. A unit
 * published whole is confirmed after the response.
 */
async function publishUnit(
	effects: Effects,
	unit: PublicationUnit,
	bookId: number,
	readers: { at: string; userId: number }[],
	count: number,
	record?: Notice["record"],
): Promise<void> {
	const fields =
		unit.kind === "notice"
			? { book_id: bookId, restock_id: unit.id, recipients: count }
			: { book_id: bookId, offer_round_id: unit.id, offered: count };
	try {
		const sent = await putOnQueue(effects.notificationQueue, unit, bookId, readers);
		const whole = readers.length >= count;
		if (record?.earlierPending) {
			// An earlier wave of the record is not published yet: the step goes on from the record's cursor,
			// through that wave and this one (whose first page may repeat: the ledger emails each reader once).
			await continueLater(effects.publicationQueue, unit);
		} else if (record && whole) {
			// The record's cursor passes this wave's readers, so its next wave knows they are published.
			effects.afterResponse(
				confirmThrough(effects.systemDb, effects, unit, record.cursor, cursorAfter(unit, readers)),
			);
		} else if (whole) {
			effects.afterResponse(confirmPublished(effects.systemDb, unit));
		} else {
			await continueLater(effects.publicationQueue, unit, cursorAfter(unit, readers));
		}
		logEvent("info", `${unit.kind}_published`, { ...fields, first_page: readers.length, ...sent });
	} catch (err) {
		logEvent("error", `${unit.kind}_publish_failed`, { ...fields, error: describeError(err) });
	}
}

const publishNotice = (effects: Effects, notice: Notice) =>
	publishUnit(
		effects,
		{ kind: "notice", id: notice.restockId },
		notice.bookId,
		notice.firstPage.map((userId) => ({ at: notice.notifiedAt, userId })),
		notice.count,
		notice.record,
	);

const publishOfferRound = (effects: Effects, round: OfferRound) =>
	publishUnit(
		effects,
		{ kind: "offer_round", id: round.roundId },
		round.bookId,
		round.firstPage.map(({ userId, holdExpiresAt }) => ({ at: holdExpiresAt, userId })),
		round.count,
	);

/**
 * After the commit: the readers' emails, the webhook events and the catalog, for every route and the cron.
 * The queue publications are awaited (a restock answers once its first page of readers is on the
 * queue); their confirmations and the webhook publication run after the response, and the closed draws
 * are scored by the queue's consumer.
 */
export async function publishOutcome(effects: Effects, outcome: Outcome, depth = 0): Promise<void> {
	publishWebhookEventsLater(effects, outcome.webhookEventIds);
	for (const notice of outcome.notices) await publishNotice(effects, notice);
	for (const round of outcome.offers) await publishOfferRound(effects, round);
	await effects.forgetCatalog({ bookIds: outcome.catalogBookIds, workIds: outcome.catalogWorkIds });
	// Opening a missing draw runs the engine for its book, whose outcome is published here in turn (it may
	// close the new draw at once): a few rounds here, the cron opens whatever is left a minute later.
	if (depth >= MAX_DRAW_ROUNDS) return;
	// A closed draw is scored and its winners offered by the queue's consumer (publication-consumer.ts): the change
	// that closed it answers at once, with the copies already held for the draw. If the queue refuses, the
	// cron completes the draw within a minute.
	for (const drawId of outcome.closingDraws) {
		await drawWork("draw_completion_failed", { draw_id: drawId }, async () => {
			await completeDrawLater(effects.publicationQueue, drawId);
		});
	}
	if (outcome.drawsToOpen.length > 0) {
		await drawWork("draw_opening_failed", { book_ids: outcome.drawsToOpen.join(",") }, async () =>
			publishOutcome(effects, await openDraws(effects.systemDb, outcome.drawsToOpen), depth + 1),
		);
	}
}

const MAX_DRAW_ROUNDS = 3;

/** Draw work after a commit: a failure is logged (the cron completes or opens the draw within a minute). */
async function drawWork(event: string, fields: Record<string, unknown>, work: () => Promise<void>) {
	try {
		await work();
	} catch (err) {
		logEvent("error", event, { ...fields, error: describeError(err) });
	}
}

/** `publishOutcome` for a request: what a handler calls once its service's batch committed. */
export const publishAfterCommit = (c: Context<AppEnv>, outcome: Outcome): Promise<void> =>
	publishOutcome(requestEffects(c), outcome);
