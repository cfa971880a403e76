/**
 * `prebook-publication`: the work that follows a commit and is too long for the request that made it,
 * each message one step, run by its own queue consumer so the request answers at once and nothing waits
 * behind the readers' emails:
 *  - `{kind: "notice" | "offer_round", id, after?}`: the next pages of a long line's publication
 *    (paged-publication.ts);
 *  - `{kind: "draw", id}`: a lottery draw the batch closed, scored and its winners offered (lottery-draws.ts) —
 *    100,000 HMACs and their writes, whatever the line.
 * A step that fails is retried (a publication from its cursor; a draw's completion is idempotent: it acts
 * only on a draw still `closing`); what the queue never delivers the cron finishes (the relays, and
 * `finishDraws` for draws left closing over a minute).
 */
import { z } from "zod";
import { createDb, newD1Usage } from "../../lib/db.ts";
import { backgroundEffects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { completeDraw, drawStep } from "./lottery-draws.ts";
import { publicationStep, publishStep } from "./paged-publication.ts";
import { publishOutcome } from "./publish-outcome.ts";

export const PUBLICATION_QUEUE_NAME = "prebook-publication";

const publicationQueueMessage = z.union([publicationStep, drawStep]);

/** Consumer of `prebook-publication`: each message its own step; a malformed one is acknowledged and logged. */
export async function consumePublicationSteps(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const db = createDb(env.DB);
	const queues = {
		notificationQueue: env.PREBOOK_QUEUE,
		publicationQueue: env.PUBLICATION_QUEUE,
		webhookQueue: env.WEBHOOK_QUEUE,
	};
	for (const message of batch.messages) {
		const parsed = publicationQueueMessage.safeParse(message.body);
		if (!parsed.success) {
			logEvent("error", "after_commit_step_malformed", { message_id: message.id });
			message.ack();
			continue;
		}
		const step = parsed.data;
		try {
			if (step.kind === "draw") {
				const pending: Promise<unknown>[] = [];
				const effects = backgroundEffects(env, pending);
				// Its own meter: what scoring a draw costs in D1 (logged; `npm run bench:lottery` prints it).
				const usage = newD1Usage();
				const outcome = await completeDraw(createDb(env.DB, usage), step.id);
				await publishOutcome(effects, outcome);
				await Promise.all(pending);
				logEvent("info", "draw_completed", {
					draw_id: step.id,
					offered: outcome.offers.reduce((sum, round) => sum + round.count, 0),
					d1_round_trips: usage.roundTrips,
					d1_ms: Math.round(usage.durationMs),
					d1_rows_read: usage.rowsRead,
					d1_rows_written: usage.rowsWritten,
				});
			} else {
				await publishStep(db, queues, step);
			}
			message.ack();
		} catch (err) {
			logEvent("error", "after_commit_step_failed", {
				kind: step.kind,
				id: step.id,
				error: describeError(err),
			});
			message.retry({ delaySeconds: 10 });
		}
	}
}
