/**
 * Consumers of `webhook-deliveries` and its dead-letter queue: the POSTs to integrators' endpoints.
 *
 * A batch of messages (`{delivery_id}` each) is handled in three steps:
 *  1. one round trip claims the deliveries that may be attempted now (webhook-ledger.ts: not succeeded,
 *     not held by another consumer, endpoint enabled, at most `MAX_IN_FLIGHT_PER_ENDPOINT` in flight);
 *  2. each claimed delivery is POSTed — at most 6 at a time, each signed per Standard Webhooks with every
 *     active secret, within 10 s, redirects not followed, the response body read only for a short excerpt;
 *  3. one round trip records every outcome (2xx → `succeeded`, else `failed`) and releases the claims.
 * A failed delivery's message is retried with exponential backoff, jittered; after `max_retries` the queue
 * moves it to the dead-letter queue, whose consumer records the delivery `dead`. A message whose delivery is
 * already succeeded (a redelivery) is acknowledged without a POST. A delivery whose endpoint is at its
 * in-flight cap is put back on the queue with a short delay as a new message — waiting for a turn is not a
 * failure, so it does not spend the message's retries.
 *
 * Logs carry delivery, endpoint and event ids, types and status codes — never the URL (it may carry a
 * token), the secrets or the payload.
 */

import { inParallel } from "../../lib/concurrency.ts";
import { loadConfig } from "../../lib/config.ts";
import { createDb } from "../../lib/db.ts";
import { describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { webhookUrlProblem } from "../../lib/public-url.ts";
import {
	BASE_RETRY_DELAY_SECONDS,
	backoffSeconds,
	MAX_RETRY_DELAY_SECONDS,
} from "../../prebook-emails/email-consumer.ts";
import { webhookHeaders } from "./signing.ts";
import { webhookId } from "./webhook-catalogue.ts";
import {
	type AttemptOutcome,
	CLAIM_LEASE_MS,
	type ClaimedDelivery,
	claimDeliveries,
	markDeliveriesDead,
	recordAttempts,
	type Unclaimed,
} from "./webhook-ledger.ts";
import { enqueueDeliveries, webhookMessage } from "./webhook-publication.ts";

/** No answer within this is a failure (API.md). */
const DELIVERY_TIMEOUT_MS = 10_000;
/** Bytes of a failed response's body kept (as text) in `last_error`; the rest is never read. */
const RESPONSE_EXCERPT_BYTES = 512;
/**
 * Each retry delay is drawn within ±20 % of its step: deliveries that failed together (an endpoint down
 * for a while) come back spread out, not all in the same second.
 */
const RETRY_JITTER = 0.2;
/** A delivery waiting for its endpoint's turn looks again after 15–45 s (spread, so they do not come back at once). */
const TURN_DELAY_SECONDS = 15;

/**
 * 30 s, 2 min, 8 min, 32 min, ~2 h, ~8.5 h: ×4 per failed attempt, each ±20 % (`random`, in [0, 1), picks
 * where), never above the queue's 12 h maximum (past it, drawn between 80 % of it and it).
 */
export function webhookRetryDelaySeconds(attempts: number, random: () => number = Math.random): number {
	const step = backoffSeconds(attempts, 4);
	const low = step * (1 - RETRY_JITTER);
	const high = Math.min(step * (1 + RETRY_JITTER), MAX_RETRY_DELAY_SECONDS);
	return Math.round(low + (high - low) * random());
}

/** The body of an event's delivery, the same bytes on every attempt: `{type, timestamp, data}`. */
const deliveryBody = (delivery: Pick<ClaimedDelivery, "eventType" | "eventCreatedAt" | "payload">) =>
	JSON.stringify({
		type: delivery.eventType,
		timestamp: delivery.eventCreatedAt,
		data: JSON.parse(delivery.payload),
	});

/** The start of a response body as one line of text, never more than `RESPONSE_EXCERPT_BYTES` read. */
async function responseExcerpt(response: Response): Promise<string> {
	if (!response.body) return "";
	const reader = response.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	try {
		while (size < RESPONSE_EXCERPT_BYTES) {
			const { done, value } = await reader.read();
			if (done) break;
			chunks.push(value);
			size += value.byteLength;
		}
	} catch {
		// A body that breaks off is still an answer: keep what arrived.
	} finally {
		reader.cancel().catch(() => {});
	}
	const bytes = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return new TextDecoder()
		.decode(bytes.subarray(0, RESPONSE_EXCERPT_BYTES))
		.replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
		.trim()
		.slice(0, 200);
}

interface DeliveryOptions {
	production: boolean;
	timeoutMs?: number;
	now?: Date;
}

/** One POST of one delivery; never throws. */
async function attemptDelivery(delivery: ClaimedDelivery, options: DeliveryOptions): Promise<AttemptOutcome> {
	const failure = (statusCode: number | null, error: string): AttemptOutcome => ({
		deliveryId: delivery.id,
		succeeded: false,
		statusCode,
		error,
	});
	// Checked again at delivery: the rules may have changed since the URL was registered (a production
	// deploy), and DNS cannot be checked at all, so at least an IP literal never gets through.
	const problem = webhookUrlProblem(delivery.url, { production: options.production });
	if (problem) return failure(null, `refused: ${problem}`);
	if (delivery.secrets.length === 0) return failure(null, "no active signing secret");
	const body = deliveryBody(delivery);
	const timestamp = Math.floor((options.now ?? new Date()).getTime() / 1000);
	const signed = await webhookHeaders(delivery.secrets, webhookId(delivery.eventId), timestamp, body);
	const timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
	let response: Response;
	try {
		response = await fetch(delivery.url, {
			method: "POST",
			headers: { ...signed, "content-type": "application/json", "user-agent": "Bookstore-Webhooks/1.0" },
			body,
			// A redirect is an answer, not a success: following it could take the signed payload elsewhere.
			redirect: "manual",
			signal: AbortSignal.timeout(timeoutMs),
		});
	} catch (err) {
		const name = err instanceof Error ? err.name : typeof err;
		return failure(
			null,
			name === "TimeoutError" || name === "AbortError"
				? `timeout: no answer within ${timeoutMs / 1000} s`
				: `connection failed (${name})`,
		);
	}
	if (response.status >= 200 && response.status < 300) {
		await response.body?.cancel().catch(() => {});
		return { deliveryId: delivery.id, succeeded: true, statusCode: response.status, error: null };
	}
	if (response.status >= 300 && response.status < 400) {
		await response.body?.cancel().catch(() => {});
		return failure(response.status, `redirect (${response.status}) not followed`);
	}
	const excerpt = await responseExcerpt(response);
	return failure(response.status, `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ""}`);
}

export interface WebhookConsumerOptions {
	/** The POST timeout (10 s; tests shorten it). */
	timeoutMs?: number;
	/** The consumer's clock (tests move it past a secret's rotation grace). */
	now?: Date;
}

/** What each message of the batch does once the deliveries are claimed, attempted and recorded. */
function settle(
	message: Message,
	outcome: AttemptOutcome | undefined,
	unclaimed: Unclaimed | undefined,
	attempt: number,
	deferred: Message[],
): void {
	if (outcome) {
		if (outcome.succeeded) message.ack();
		else message.retry({ delaySeconds: webhookRetryDelaySeconds(attempt) });
		return;
	}
	switch (unclaimed) {
		case "busy":
			message.retry({ delaySeconds: Math.ceil(CLAIM_LEASE_MS / 1000) });
			return;
		case "deferred":
			deferred.push(message);
			return;
		default:
			message.ack();
	}
}

export async function consumeWebhookDeliveries(
	batch: MessageBatch,
	env: Env,
	options: WebhookConsumerOptions = {},
): Promise<void> {
	const { production } = loadConfig(env);
	const db = createDb(env.DB);
	const now = options.now ?? new Date();
	// One message per delivery id (a redelivery may share a batch with the original): the first one of an
	// id carries its outcome, the others are acknowledged.
	const messages = new Map<number, Message>();
	for (const message of batch.messages) {
		const parsed = webhookMessage.safeParse(message.body);
		if (!parsed.success || messages.has(parsed.data.delivery_id)) {
			if (!parsed.success) logEvent("warn", "webhook_message_malformed", { message_id: message.id });
			message.ack();
			continue;
		}
		messages.set(parsed.data.delivery_id, message);
	}
	if (messages.size === 0) return;

	let claim: Awaited<ReturnType<typeof claimDeliveries>>;
	try {
		claim = await claimDeliveries(db, [...messages.keys()], now);
	} catch (err) {
		logEvent("error", "webhook_claim_failed", { error: describeError(err) });
		for (const message of messages.values()) message.retry({ delaySeconds: BASE_RETRY_DELAY_SECONDS });
		return;
	}
	const outcomes = new Map<number, AttemptOutcome>();
	await inParallel(claim.claimed, async (delivery) => {
		// Signed at the moment of sending (receivers refuse stale timestamps), unless a test fixes the clock.
		const outcome = await attemptDelivery(delivery, {
			production,
			timeoutMs: options.timeoutMs,
			now: options.now,
		});
		outcomes.set(delivery.id, outcome);
		logEvent(outcome.succeeded ? "info" : "warn", "webhook_delivery_attempted", {
			delivery_id: delivery.id,
			endpoint_id: delivery.endpointId,
			event_id: delivery.eventId,
			event_type: delivery.eventType,
			attempt: delivery.attempt,
			succeeded: outcome.succeeded,
			status_code: outcome.statusCode,
		});
	});
	const dead = [...claim.unclaimed]
		.filter(([, why]) => why === "disabled" || why === "exhausted")
		.map(([deliveryId, why]) => ({ deliveryId, reason: why === "disabled" ? "endpoint disabled" : null }));
	try {
		await recordAttempts(db, claim.claimToken, [...outcomes.values()], dead, new Date());
	} catch (err) {
		// The POSTs happened but are not recorded: the claims hold until their lease passes, then the
		// retried messages attempt again (at least once; the receivers deduplicate on webhook-id).
		logEvent("error", "webhook_record_failed", { error: describeError(err) });
		for (const message of messages.values())
			message.retry({ delaySeconds: Math.ceil(CLAIM_LEASE_MS / 1000) });
		return;
	}

	const attempts = new Map(claim.claimed.map((delivery) => [delivery.id, delivery.attempt]));
	const deferred: Message[] = [];
	for (const [deliveryId, message] of messages) {
		settle(
			message,
			outcomes.get(deliveryId),
			claim.unclaimed.get(deliveryId),
			attempts.get(deliveryId) ?? 1,
			deferred,
		);
	}
	if (deferred.length === 0) return;
	const ids = deferred.map((message) => (message.body as { delivery_id: number }).delivery_id);
	try {
		await enqueueDeliveries(env.WEBHOOK_QUEUE, ids, TURN_DELAY_SECONDS + Math.floor(Math.random() * 30));
		for (const message of deferred) message.ack();
	} catch (err) {
		logEvent("warn", "webhook_defer_failed", { deliveries: ids.length, error: describeError(err) });
		for (const message of deferred) message.retry({ delaySeconds: TURN_DELAY_SECONDS });
	}
}

/** Messages that exhausted their retries: their deliveries become `dead` (POST …/retry revives one). */
export async function consumeWebhookDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
	const db = createDb(env.DB);
	const ids: number[] = [];
	for (const message of batch.messages) {
		const parsed = webhookMessage.safeParse(message.body);
		if (parsed.success) ids.push(parsed.data.delivery_id);
	}
	const dead = ids.length > 0 ? await markDeliveriesDead(db, ids, new Date()) : 0;
	logEvent(dead > 0 ? "error" : "info", "webhook_deliveries_dead", { messages: batch.messages.length, dead });
	batch.ackAll();
}
