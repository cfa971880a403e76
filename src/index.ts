import { app } from "./app.ts";
import { purgeExpiredAuthRecords } from "./features/auth/auth.service.ts";
import { createDb } from "./lib/db.ts";
import { logEvent } from "./lib/log.ts";
import {
	consumeDeadLetters,
	consumePrebookNotifications,
	PREBOOK_DLQ_NAME,
	PREBOOK_QUEUE_NAME,
} from "./notifications/consumer.ts";
import { relayUnpublishedRestocks } from "./notifications/relay.ts";

export type { AppType } from "./app.ts";

export default {
	fetch: app.fetch,

	async queue(batch, env) {
		if (batch.queue === PREBOOK_DLQ_NAME) return consumeDeadLetters(batch, env);
		if (batch.queue === PREBOOK_QUEUE_NAME) return consumePrebookNotifications(batch, env);
		logEvent("error", "unknown_queue", { queue: batch.queue, messages: batch.messages.length });
		batch.retryAll();
	},

	/** Every minute: republish unconfirmed restocks, then drop expired auth records. */
	async scheduled(controller, env, ctx) {
		const db = createDb(env.DB);
		const now = new Date(controller.scheduledTime);
		ctx.waitUntil(
			relayUnpublishedRestocks(db, env.PREBOOK_QUEUE, now).finally(() => purgeExpiredAuthRecords(db, now)),
		);
	},
} satisfies ExportedHandler<Env>;
