import { app } from "./app.ts";
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

	async scheduled(controller, env, ctx) {
		ctx.waitUntil(
			relayUnpublishedRestocks(createDb(env.DB), env.PREBOOK_QUEUE, new Date(controller.scheduledTime)),
		);
	},
} satisfies ExportedHandler<Env>;
