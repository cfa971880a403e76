import { app } from "./app.ts";
import {
	consumePublicationSteps,
	PUBLICATION_QUEUE_NAME,
} from "./features/allocation/publication-consumer.ts";
import {
	endLapsedPauses,
	expireLapsedHolds,
	finishDraws,
	notifyNextWaves,
	relayUnpublishedNotices,
	relayUnpublishedOfferRounds,
} from "./features/allocation/sweeps.ts";
import { purgeExpiredAuthRecords } from "./features/auth/auth.service.ts";
import { purgeExpiredCheckoutAttempts } from "./features/orders/checkout.service.ts";
import { refreshUtcOffsets } from "./features/users/users.service.ts";
import { consumeWebhookDeadLetters, consumeWebhookDeliveries } from "./features/webhooks/webhook-consumer.ts";
import {
	purgeWebhookHistory,
	relayUnpublishedWebhookEvents,
	WEBHOOK_DLQ_NAME,
	WEBHOOK_QUEUE_NAME,
} from "./features/webhooks/webhook-publication.ts";
import { advanceWebhookReplays } from "./features/webhooks/webhook-replay.ts";
import { purgeBatchClock } from "./lib/clock.ts";
import { createDb } from "./lib/db.ts";
import { backgroundEffects } from "./lib/effects.ts";
import { describeError } from "./lib/errors.ts";
import { logEvent, withLogContext } from "./lib/log.ts";
import {
	consumeDeadLetters,
	consumePrebookNotifications,
	PREBOOK_DLQ_NAME,
	PREBOOK_QUEUE_NAME,
} from "./prebook-emails/email-consumer.ts";

/** One unit of cron work: its failure is logged and does not stop the others (they run next minute anyway). */
async function cronTask(name: string, work: () => Promise<unknown>): Promise<void> {
	try {
		await work();
	} catch (err) {
		logEvent("error", "cron_task_failed", { task: name, error: describeError(err) });
	}
}

export default {
	fetch: app.fetch,

	async queue(batch, env) {
		if (batch.queue === PREBOOK_DLQ_NAME) return consumeDeadLetters(batch, env);
		if (batch.queue === PREBOOK_QUEUE_NAME) return consumePrebookNotifications(batch, env);
		if (batch.queue === PUBLICATION_QUEUE_NAME) return consumePublicationSteps(batch, env);
		if (batch.queue === WEBHOOK_QUEUE_NAME) return consumeWebhookDeliveries(batch, env);
		if (batch.queue === WEBHOOK_DLQ_NAME) return consumeWebhookDeadLetters(batch, env);
		logEvent("error", "unknown_queue", { queue: batch.queue, messages: batch.messages.length });
		batch.retryAll();
	},

	/**
	 * Every minute, each task on its own: expire lapsed holds and end lapsed pauses (the allocation engine
	 * serves their lines), notify the next waves, finish lottery draws left closing, republish unconfirmed
	 * notices and offer rounds, publish webhook events still unpublished, queue the next page of webhook
	 * replays, drop expired auth and checkout records, old webhook history and old batch times.
	 */
	async scheduled(controller, env, ctx) {
		const db = createDb(env.DB);
		const now = new Date(controller.scheduledTime);
		const confirmations: Promise<unknown>[] = [];
		const effects = backgroundEffects(env, confirmations);
		ctx.waitUntil(
			withLogContext({ cron: controller.cron, scheduled_time: now.toISOString() }, async () => {
				await cronTask("expire_holds", () => expireLapsedHolds(db, effects, now));
				await cronTask("end_pauses", () => endLapsedPauses(db, effects, now));
				await cronTask("next_waves", () => notifyNextWaves(db, effects, now));
				await cronTask("finish_draws", () => finishDraws(db, effects, now));
				await cronTask("relay_notices", () => relayUnpublishedNotices(db, effects, now));
				await cronTask("relay_offer_rounds", () => relayUnpublishedOfferRounds(db, effects, now));
				await cronTask("relay_webhook_events", () =>
					relayUnpublishedWebhookEvents(db, env.WEBHOOK_QUEUE, now),
				);
				// Each hour: readers' UTC offsets follow daylight-saving changes (quiet hours are computed in SQL).
				if (now.getUTCMinutes() === 0)
					await cronTask("refresh_utc_offsets", () => refreshUtcOffsets(db, now));
				await cronTask("advance_webhook_replays", () => advanceWebhookReplays(db, env.WEBHOOK_QUEUE, now));
				await cronTask("purge_auth_records", () => purgeExpiredAuthRecords(db, now));
				await cronTask("purge_checkout_attempts", () => purgeExpiredCheckoutAttempts(db, now));
				await cronTask("purge_webhook_history", () => purgeWebhookHistory(db, now));
				await cronTask("purge_batch_clock", () => purgeBatchClock(db, now));
				await Promise.allSettled(confirmations);
			}),
		);
	},
} satisfies ExportedHandler<Env>;
