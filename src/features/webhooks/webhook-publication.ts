/**
 * Webhook publication: from the outbox (`webhook_events`) to the queue `webhook-deliveries`.
 *
 * Publishing an event gives it one `webhook_deliveries` row per enabled endpoint subscribed to its type
 * (registered before the event happened) — `INSERT … ON CONFLICT DO NOTHING`, so publishing twice records
 * each (endpoint, event) once — and puts one message `{delivery_id}` per never-attempted delivery on the
 * queue; only then is the event marked published. The request (or cron run) that recorded events publishes
 * them right after its response; the cron relay publishes whatever is still unpublished a minute later (a
 * Worker that died, a queue that refused). A republish may enqueue a delivery twice: the consumer's claim
 * makes the second message a no-op.
 */
import { type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { webhookEvents } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import { inWaves } from "../../lib/concurrency.ts";
import type { Db } from "../../lib/db.ts";
import type { Effects } from "../../lib/effects.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { relayCutoff } from "../../lib/relay.ts";
import { packIntoBatches } from "../../prebook-emails/messages.ts";

export const WEBHOOK_QUEUE_NAME = "webhook-deliveries";
export const WEBHOOK_DLQ_NAME = "webhook-deliveries-dlq";

/** The queue message: which delivery to attempt. The ledger holds everything else. */
export const webhookMessage = z.object({ delivery_id: z.number().int().positive() });
export type WebhookMessage = z.infer<typeof webhookMessage>;

/** Events the relay publishes per cron run; the next run takes the rest. */
const WEBHOOK_RELAY_BATCH = 500;
/** How long delivery history (events and their deliveries) is kept. */
export const WEBHOOK_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Events purged per cron run. */
const PURGE_BATCH = 1_000;

/** One message per delivery, in `sendBatch` calls within the Queues limits (packIntoBatches). */
export async function enqueueDeliveries(queue: Queue, deliveryIds: readonly number[], delaySeconds?: number) {
	const messages = deliveryIds.map((id): WebhookMessage => ({ delivery_id: id }));
	await inWaves(packIntoBatches(messages), (batch) =>
		queue.sendBatch(batch.map((body) => ({ body, contentType: "json" as const, delaySeconds }))),
	);
}

/** Marks events published (their deliveries are on the queue); the relay then leaves them alone. */
export async function confirmEventsPublished(db: Db, eventIds: readonly number[], now = new Date()) {
	if (eventIds.length === 0) return;
	await db
		.update(webhookEvents)
		.set({ publishedAt: now.toISOString() })
		.where(sql`${webhookEvents.id} IN (SELECT value FROM json_each(${JSON.stringify(eventIds)}))
			AND ${webhookEvents.publishedAt} IS NULL`);
}

/**
 * Publishes the unpublished events among `selection` (a SELECT of event ids): one round trip for the
 * deliveries and the messages to send, the sends, one round trip to confirm. Rejects when a send failed
 * (the events stay unpublished, for the relay).
 */
async function publish(db: Db, queue: Queue, selection: SQL, now: Date) {
	const at = now.toISOString();
	const { toSend, events } = await batch(db, {
		deliveries:
			rawQuery(sql`INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, status, attempts, created_at, updated_at)
			SELECT e.id, ev.id, ev.type, 'pending', 0, ${at}, ${at}
			FROM webhook_events AS ev JOIN webhook_endpoints AS e ON e.enabled = 1 AND e.created_at <= ev.created_at
			WHERE ev.id IN (${selection}) AND ev.published_at IS NULL
				AND EXISTS (SELECT 1 FROM json_each(e.events) AS t WHERE t.value = ev.type)
			ON CONFLICT (endpoint_id, event_id) DO NOTHING`),
		toSend: rawQuery<{ id: number }>(sql`SELECT d.id FROM webhook_deliveries AS d
			JOIN webhook_events AS ev ON ev.id = d.event_id
			WHERE d.event_id IN (${selection}) AND ev.published_at IS NULL
				AND d.status = 'pending' AND d.attempts = 0
			ORDER BY d.id`),
		events: rawQuery<{ id: number }>(
			sql`SELECT id FROM webhook_events WHERE id IN (${selection}) AND published_at IS NULL`,
		),
	});
	const eventIds = events.map((row) => row.id);
	if (eventIds.length === 0) return { events: 0, deliveries: 0 };
	await enqueueDeliveries(
		queue,
		toSend.map((row) => row.id),
	);
	await confirmEventsPublished(db, eventIds, now);
	return { events: eventIds.length, deliveries: toSend.length };
}

/** Publishes the events a request or cron run just recorded. */
export function publishWebhookEvents(db: Db, queue: Queue, eventIds: readonly number[], now = new Date()) {
	return publish(db, queue, sql`SELECT value FROM json_each(${JSON.stringify(eventIds)})`, now);
}

/**
 * After the response (or, in a cron run, with the rest of the run): publishes what the batch recorded.
 * A failure is logged, never thrown: the events are committed, and the relay publishes them.
 */
export function publishWebhookEventsLater(effects: Effects, eventIds: readonly number[]): void {
	if (eventIds.length === 0) return;
	effects.afterResponse(
		publishWebhookEvents(effects.systemDb, effects.webhookQueue, eventIds).then(
			(published) => logEvent("info", "webhook_events_published", published),
			(err) =>
				logEvent("error", "webhook_events_publish_failed", {
					events: eventIds.length,
					error: describeError(err),
				}),
		),
	);
}

/**
 * Cron: publishes events older than the grace period (relay.ts) that are still unpublished. Unlike the
 * restock and offer-round relays, not one unit at a time: the whole selection goes through `publish` —
 * one round trip for all its deliveries, the sends, one to confirm — and a failure leaves all of it for
 * the next run (logged by the cron as `cron_task_failed`).
 */
export async function relayUnpublishedWebhookEvents(db: Db, queue: Queue, now: Date) {
	const before = relayCutoff(now);
	const published = await publish(
		db,
		queue,
		sql`SELECT id FROM webhook_events WHERE published_at IS NULL AND created_at < ${before}
			ORDER BY id LIMIT ${WEBHOOK_RELAY_BATCH}`,
		now,
	);
	if (published.events > 0) logEvent("warn", "webhook_events_relayed", published);
	return published;
}

/**
 * Cron: drops delivery history older than the retention period (an event's deliveries go with it, by the
 * foreign key) and secrets whose rotation grace has passed. The newest event always stays: webhook_events
 * has no AUTOINCREMENT, and keeping its highest id is what keeps ids from ever being reused.
 */
export async function purgeWebhookHistory(db: Db, now: Date): Promise<void> {
	const cutoff = new Date(now.getTime() - WEBHOOK_RETENTION_MS).toISOString();
	await batch(db, {
		oldEvents: rawQuery(sql`DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
			WHERE created_at < ${cutoff} AND id < (SELECT max(id) FROM webhook_events)
			ORDER BY created_at LIMIT ${PURGE_BATCH})`),
		finishedReplays: rawQuery(sql`DELETE FROM webhook_replays WHERE finished_at < ${cutoff}`),
		expiredSecrets: rawQuery(
			sql`DELETE FROM webhook_secrets WHERE expires_at IS NOT NULL AND expires_at <= ${now.toISOString()}`,
		),
	});
}
