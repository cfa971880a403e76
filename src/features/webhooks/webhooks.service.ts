/**
 * Webhook endpoints (admin): registration, secrets and their rotation, the delivery log and manual retries.
 * What is delivered, and how, is in ./webhook-catalogue.ts (the event types), webhook-events.ts (the outbox),
 * webhook-publication.ts, webhook-ledger.ts and webhook-consumer.ts beside it.
 *
 * Every operation is one round trip. Secrets are returned only by `createWebhook` and `rotateSecret`.
 */
import { and, asc, desc, eq, gt, gte, inArray, sql } from "drizzle-orm";
import {
	type WebhookDeliveryStatus,
	type WebhookEndpointRow,
	webhookDeliveries,
	webhookEndpoints,
	webhookEvents,
} from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import type { Effects } from "../../lib/effects.ts";
import { AppError, describeError, fieldError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { type NewestFirstCursor, newestFirstAfter } from "../../lib/pagination.ts";
import { webhookUrlProblem } from "../../lib/public-url.ts";
import { generateWebhookSecret } from "./signing.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "./webhook-catalogue.ts";
import { confirmEventsPublished, enqueueDeliveries, WEBHOOK_RETENTION_MS } from "./webhook-publication.ts";
import { recordReplay } from "./webhook-replay.ts";
import type { WebhookDeliveryView, WebhookEndpointView, WebhookEventView } from "./webhooks.schemas.ts";

/** How long a rotated-out secret keeps signing alongside the new one. */
const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

const webhookNotFound = () => new AppError("WEBHOOK_NOT_FOUND", "No webhook with this id", "id");
const deliveryNotFound = () =>
	new AppError("WEBHOOK_DELIVERY_NOT_FOUND", "This webhook has no delivery with this id", "delivery_id");

/** The stored JSON list, as catalogue types (a type dropped from the catalogue is ignored). */
const eventsOf = (stored: string): WebhookEventType[] => {
	const listed: unknown = JSON.parse(stored);
	return Array.isArray(listed) ? WEBHOOK_EVENT_TYPES.filter((type) => listed.includes(type)) : [];
};

const toView = (row: WebhookEndpointRow): WebhookEndpointView => ({
	id: row.id,
	url: row.url,
	events: eventsOf(row.events),
	description: row.description,
	enabled: row.enabled,
	createdAt: row.createdAt,
	updatedAt: row.updatedAt,
});

/**
 * The URL as it will be stored and called (normalised by the URL parser), or a 422 on `url` when the rules
 * refuse it (lib/public-url.ts; stricter with `ENVIRONMENT=production`).
 */
export function acceptedWebhookUrl(url: string, production: boolean): string {
	const problem = webhookUrlProblem(url, { production });
	if (problem) throw fieldError("url", problem);
	return new URL(url).href;
}

export async function createWebhook(
	db: Db,
	input: { url: string; events: WebhookEventType[]; description?: string | null },
): Promise<{ webhook: WebhookEndpointView; secret: string }> {
	const now = new Date().toISOString();
	const secret = generateWebhookSecret();
	const { created } = await batch(db, {
		created: db
			.insert(webhookEndpoints)
			.values({
				url: input.url,
				events: JSON.stringify(input.events),
				description: input.description ?? null,
				createdAt: now,
				updatedAt: now,
			})
			.returning(),
		// The endpoint inserted just above is the newest (ids only grow, and batches run one at a time).
		signingSecret: rawQuery(sql`INSERT INTO webhook_secrets (endpoint_id, secret, created_at)
			VALUES ((SELECT max(id) FROM webhook_endpoints), ${secret}, ${now})`),
	});
	const row = created[0];
	if (!row) throw new Error("the inserted webhook was not returned");
	return { webhook: toView(row), secret };
}

export async function listWebhooks(
	db: Db,
	query: { afterId?: number; limit: number },
): Promise<WebhookEndpointView[]> {
	const rows = await db
		.select()
		.from(webhookEndpoints)
		.where(query.afterId !== undefined ? gt(webhookEndpoints.id, query.afterId) : undefined)
		.orderBy(asc(webhookEndpoints.id))
		.limit(query.limit + 1);
	return rows.map(toView);
}

export async function getWebhook(db: Db, id: number): Promise<WebhookEndpointView> {
	const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
	if (!row) throw webhookNotFound();
	return toView(row);
}

export async function updateWebhook(
	db: Db,
	id: number,
	patch: { url?: string; events?: WebhookEventType[]; description?: string | null; enabled?: boolean },
): Promise<WebhookEndpointView> {
	if (Object.values(patch).every((value) => value === undefined)) return getWebhook(db, id);
	const [row] = await db
		.update(webhookEndpoints)
		.set({
			url: patch.url,
			events: patch.events === undefined ? undefined : JSON.stringify(patch.events),
			description: patch.description,
			enabled: patch.enabled,
			updatedAt: new Date().toISOString(),
		})
		.where(eq(webhookEndpoints.id, id))
		.returning();
	if (!row) throw webhookNotFound();
	return toView(row);
}

/** Its secrets and deliveries go with it (foreign keys); queued messages of those deliveries do nothing. */
export async function deleteWebhook(db: Db, id: number): Promise<void> {
	const deleted = await db
		.delete(webhookEndpoints)
		.where(eq(webhookEndpoints.id, id))
		.returning({ id: webhookEndpoints.id });
	if (deleted.length === 0) throw webhookNotFound();
}

/**
 * One batch: secrets whose grace has passed are dropped, the current one gets `expires_at = now + 24 h`
 * (it keeps signing until then), and a new current one is made.
 */
export async function rotateSecret(
	db: Db,
	id: number,
): Promise<{ secret: string; previousSecretExpiresAt: string | null }> {
	const now = new Date();
	const at = now.toISOString();
	const graceEnd = new Date(now.getTime() + ROTATION_GRACE_MS).toISOString();
	const secret = generateWebhookSecret();
	const { previousSecret, newSecret } = await batch(db, {
		// Every rotated-out secret signs for its 24 h (API.md), but at most three secrets sign at once: the new
		// one, the one it replaces, and the one rotated out just before (a double-submitted rotation leaves the
		// receiver's secret working). Every other rotated-out secret — older, or expired — goes now.
		staleSecrets:
			rawQuery(sql`DELETE FROM webhook_secrets WHERE endpoint_id = ${id} AND expires_at IS NOT NULL
			AND id NOT IN (SELECT id FROM webhook_secrets
				WHERE endpoint_id = ${id} AND expires_at > ${at} ORDER BY expires_at DESC, id DESC LIMIT 1)`),
		previousSecret: rawQuery<{ expires_at: string }>(sql`UPDATE webhook_secrets SET expires_at = ${graceEnd}
			WHERE endpoint_id = ${id} AND expires_at IS NULL
			RETURNING expires_at`),
		newSecret: rawQuery<{ id: number }>(sql`INSERT INTO webhook_secrets (endpoint_id, secret, created_at)
			SELECT id, ${secret}, ${at} FROM webhook_endpoints WHERE id = ${id}
			RETURNING id`),
	});
	if (newSecret.length === 0) throw webhookNotFound();
	return { secret, previousSecretExpiresAt: previousSecret[0]?.expires_at ?? null };
}

/** An endpoint's deliveries, newest first (idx_webhook_deliveries_endpoint_[status_]created). */
export async function listDeliveries(
	db: Db,
	endpointId: number,
	query: { status?: WebhookDeliveryStatus; after?: NewestFirstCursor; limit: number },
): Promise<WebhookDeliveryView[]> {
	const { endpoint, rows } = await batch(db, {
		endpoint: db
			.select({ id: webhookEndpoints.id })
			.from(webhookEndpoints)
			.where(eq(webhookEndpoints.id, endpointId)),
		rows: db
			.select(deliveryColumns)
			.from(webhookDeliveries)
			.where(
				and(
					eq(webhookDeliveries.endpointId, endpointId),
					query.status ? eq(webhookDeliveries.status, query.status) : undefined,
					newestFirstAfter(webhookDeliveries.createdAt, webhookDeliveries.id, query.after),
				),
			)
			.orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
			.limit(query.limit + 1),
	});
	if (endpoint.length === 0) throw webhookNotFound();
	return rows;
}

const deliveryColumns = {
	id: webhookDeliveries.id,
	eventId: webhookDeliveries.eventId,
	eventType: webhookDeliveries.eventType,
	status: webhookDeliveries.status,
	attempts: webhookDeliveries.attempts,
	lastStatusCode: webhookDeliveries.lastStatusCode,
	lastError: webhookDeliveries.lastError,
	createdAt: webhookDeliveries.createdAt,
	updatedAt: webhookDeliveries.updatedAt,
	deliveredAt: webhookDeliveries.deliveredAt,
};

/**
 * `POST …/retry`: a `failed` or `dead` delivery becomes `pending` with a fresh budget of attempts, and its
 * event goes back to the relay (`published_at` cleared) in one batch; then the delivery is enqueued and the
 * event confirmed after the response. If the queue refuses, nothing is stranded: the relay republishes the
 * event's pending deliveries within a minute or two. A `pending` delivery is enqueued again (a duplicate
 * message is harmless); a `succeeded` one is refused (409).
 */
export async function retryDelivery(
	db: Db,
	effects: Effects,
	endpointId: number,
	deliveryId: number,
): Promise<WebhookDeliveryView> {
	const at = new Date().toISOString();
	const thisDelivery = and(
		eq(webhookDeliveries.id, deliveryId),
		eq(webhookDeliveries.endpointId, endpointId),
	);
	const { revived, current, endpoint } = await batch(db, {
		revived: rawQuery<{ event_id: number }>(sql`UPDATE webhook_deliveries
			SET status = 'pending', attempts = 0, claim_token = NULL, claimed_until = NULL, updated_at = ${at}
			WHERE id = ${deliveryId} AND endpoint_id = ${endpointId} AND status IN ('failed', 'dead')
				AND (claimed_until IS NULL OR claimed_until <= ${at})
			RETURNING event_id`),
		eventBackToRelay: rawQuery(sql`UPDATE webhook_events SET published_at = NULL
			WHERE id = (SELECT event_id FROM webhook_deliveries
				WHERE id = ${deliveryId} AND endpoint_id = ${endpointId}
					AND status = 'pending' AND attempts = 0 AND updated_at = ${at})`),
		current: db.select(deliveryColumns).from(webhookDeliveries).where(thisDelivery),
		endpoint: db
			.select({ id: webhookEndpoints.id })
			.from(webhookEndpoints)
			.where(eq(webhookEndpoints.id, endpointId)),
	});
	if (endpoint.length === 0) throw webhookNotFound();
	const delivery = current[0];
	if (!delivery) throw deliveryNotFound();
	if (delivery.status === "succeeded") {
		throw new AppError("WEBHOOK_DELIVERY_SUCCEEDED", "This delivery already succeeded", "delivery_id");
	}
	if (delivery.status !== "pending") return delivery;
	try {
		await enqueueDeliveries(effects.webhookQueue, [deliveryId]);
		const eventId = revived[0]?.event_id;
		if (eventId !== undefined) effects.afterResponse(confirmEventsPublished(effects.systemDb, [eventId]));
	} catch (err) {
		logEvent("error", "webhook_retry_enqueue_failed", { delivery_id: deliveryId, error: describeError(err) });
	}
	return delivery;
}

/**
 * `GET /admin/events`: events after `after` in seq (id) order, of the given types, within the retention
 * (the cron purges 1,000 a minute, so older ones still waiting for it are left out here). A walk of the
 * primary key from `after` that stops at `limit + 1` matches.
 *
 * Why a seq cursor never skips an event: ids are given at insertion (max + 1; webhook_events has no
 * AUTOINCREMENT, and the purge always keeps the newest), and D1 runs one write transaction at a time, so an
 * event that commits later always gets a higher seq than every event a reader has already seen.
 */
export async function listEventFeed(
	db: Db,
	query: { after: number; types?: WebhookEventType[]; limit: number },
	now: Date,
): Promise<WebhookEventView[]> {
	const cutoff = new Date(now.getTime() - WEBHOOK_RETENTION_MS).toISOString();
	return db
		.select({
			id: webhookEvents.id,
			type: webhookEvents.type,
			payload: webhookEvents.payload,
			createdAt: webhookEvents.createdAt,
		})
		.from(webhookEvents)
		.where(
			and(
				gt(webhookEvents.id, query.after),
				query.types ? inArray(webhookEvents.type, query.types) : undefined,
				gte(webhookEvents.createdAt, cutoff),
			),
		)
		.orderBy(asc(webhookEvents.id))
		.limit(query.limit + 1);
}

/** `POST …/replay`: records the replay (webhook-replay.ts delivers it, a page at a time). */
export async function replayEvents(
	db: Db,
	endpointId: number,
	window: { since: string; until: string; types?: WebhookEventType[] },
): Promise<{ queued: number }> {
	const recorded = await recordReplay(db, endpointId, { ...window, types: window.types ?? null }, new Date());
	if (!recorded) throw webhookNotFound();
	return recorded;
}
