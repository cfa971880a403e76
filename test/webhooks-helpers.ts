/**
 * Webhook test helpers. Only the receiver is faked (`globalThis.fetch`, which the Worker's delivery calls);
 * the webhook queue's `sendBatch` is captured so the tests drive the consumer themselves (no background
 * consumer ever POSTs), with `createMessageBatch` / `getQueueResult`.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import {
	consumeWebhookDeliveries,
	type WebhookConsumerOptions,
} from "../src/features/webhooks/webhook-consumer";
import worker from "../src/index";
import { api } from "./helpers";

export const RECEIVER_URL = "https://receiver.example/hooks";

export async function registerWebhook(
	adminToken: string,
	events: string[],
	url = RECEIVER_URL,
): Promise<{ id: number; secret: string }> {
	const res = await api("POST", "/admin/webhooks", { token: adminToken, body: { url, events } });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return { id: res.body.id, secret: res.body.secret };
}

/** Captures what the Worker puts on `webhook-deliveries` (ids, in order, and each call's delay). */
export function captureWebhookQueue() {
	const sendBatch = vi.spyOn(env.WEBHOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
	const send = vi.spyOn(env.WEBHOOK_QUEUE, "send").mockResolvedValue({} as never);
	return {
		sendBatch,
		ids: () =>
			sendBatch.mock.calls.flatMap(([batch]) =>
				[...batch].map((m) => (m.body as { delivery_id: number }).delivery_id),
			),
		delays: () => sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.delaySeconds)),
		send,
	};
}

export interface Received {
	url: string;
	body: string;
	headers: Record<string, string>;
	init: RequestInit;
}

/** The receiver: answers every POST with `answer` (a Response, or a function of the request). */
export function receiver(
	answer: Response | ((request: Received) => Response | Promise<Response>) = () => new Response("ok"),
) {
	const received: Received[] = [];
	const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init = {}) => {
		const request: Received = {
			url: String(input instanceof Request ? input.url : input),
			body: String(init.body),
			headers: Object.fromEntries(new Headers(init.headers).entries()),
			init,
		};
		received.push(request);
		return typeof answer === "function" ? answer(request) : answer.clone();
	});
	return { received, fetchSpy };
}

let messageSequence = 0;

/** Runs the webhook consumer on one batch of `{delivery_id}` messages, as the queue would deliver them. */
export async function deliverWebhooks(
	deliveryIds: number[],
	options: WebhookConsumerOptions & { attempts?: number } = {},
) {
	const batch = createMessageBatch(
		"webhook-deliveries",
		deliveryIds.map((id) => ({
			id: `webhook-msg-${++messageSequence}`,
			timestamp: new Date(),
			attempts: options.attempts ?? 1,
			body: { delivery_id: id },
		})),
	);
	// getQueueResult records that a message was retried but not its delay: spy for the delays.
	const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
	const ctx = createExecutionContext();
	if (options.timeoutMs !== undefined || options.now !== undefined) {
		await consumeWebhookDeliveries(batch, env, options);
	} else {
		await worker.queue(batch, env);
	}
	return {
		result: await getQueueResult(batch, ctx),
		retryDelays: retries.flatMap((spy) => spy.mock.calls.map(([retry]) => retry?.delaySeconds)),
	};
}

/** Runs the dead-letter queue's consumer on messages of these deliveries. */
export async function deadLetter(deliveryIds: number[]) {
	const batch = createMessageBatch(
		"webhook-deliveries-dlq",
		deliveryIds.map((id) => ({
			id: `webhook-dlq-${++messageSequence}`,
			timestamp: new Date(),
			attempts: 1,
			body: { delivery_id: id },
		})),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, env);
	return getQueueResult(batch, ctx);
}

export interface DeliveryRow {
	id: number;
	endpoint_id: number;
	event_id: number;
	event_type: string;
	status: string;
	attempts: number;
	last_status_code: number | null;
	last_error: string | null;
	delivered_at: string | null;
	claimed_until: string | null;
}

export async function delivery(id: number): Promise<DeliveryRow> {
	const row = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?")
		.bind(id)
		.first<DeliveryRow>();
	if (!row) throw new Error(`no delivery ${id}`);
	return row;
}

export async function eventsOf(type: string, where = "1 = 1", ...params: unknown[]) {
	const { results } = await env.DB.prepare(
		`SELECT id, type, payload, published_at FROM webhook_events WHERE type = ? AND ${where} ORDER BY id`,
	)
		.bind(type, ...params)
		.all<{ id: number; type: string; payload: string; published_at: string | null }>();
	return results.map((row) => ({ ...row, data: JSON.parse(row.payload) }));
}

/**
 * `count` events of `type` (a placeholder payload that names no book or restock) and a pending delivery of
 * each to the endpoint, straight into D1 (for tests about the consumer's bookkeeping, not about how events
 * are born).
 */
export async function seedDeliveries(
	endpointId: number,
	count: number,
	type = "restock.created",
): Promise<number[]> {
	const ids: number[] = [];
	for (let i = 0; i < count; i++) {
		const key = `test:${crypto.randomUUID()}`;
		const event = await env.DB.prepare(
			"INSERT INTO webhook_events (type, payload, source_key, published_at) VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) RETURNING id",
		)
			.bind(type, JSON.stringify({ seeded: i + 1 }), key)
			.first<{ id: number }>();
		const row = await env.DB.prepare(
			"INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type) VALUES (?, ?, ?) RETURNING id",
		)
			.bind(endpointId, event?.id, type)
			.first<{ id: number }>();
		ids.push(row?.id as number);
	}
	return ids;
}

/** A JSON Schema, as GET /admin/webhooks/event-types gives each type's. */
export type Schema = Record<string, unknown>;

/**
 * A JSON Schema check of the keywords these schemas use (zod's fromJSONSchema is not bundled in the
 * Worker); an unknown validation keyword fails the test rather than passing silently.
 */
export function schemaProblems(schema: Schema, value: unknown, path = "$"): string[] {
	const known = ["type", "properties", "required", "items", "enum", "format", "description", "example"];
	const unknown = Object.keys(schema).filter((key) => !known.includes(key));
	if (unknown.length > 0) return [`${path}: unsupported keywords ${unknown.join(", ")}`];
	const types = [schema.type ?? []].flat() as string[];
	const typeOf = (v: unknown) =>
		v === null
			? "null"
			: Array.isArray(v)
				? "array"
				: Number.isInteger(v)
					? "integer"
					: typeof v === "number"
						? "number"
						: typeof v;
	const actual = typeOf(value);
	if (types.length > 0 && !types.some((t) => t === actual || (t === "number" && actual === "integer")))
		return [`${path}: not ${types.join("|")}`];
	if (schema.enum && !(schema.enum as unknown[]).includes(value)) return [`${path}: not in enum`];
	if (schema.format === "date-time" && typeof value === "string" && Number.isNaN(Date.parse(value)))
		return [`${path}: not date-time`];
	const problems: string[] = [];
	if (actual === "object") {
		const record = value as Record<string, unknown>;
		for (const key of (schema.required as string[] | undefined) ?? [])
			if (!(key in record)) problems.push(`${path}.${key}: required`);
		for (const [key, sub] of Object.entries((schema.properties as Record<string, Schema>) ?? {}))
			if (key in record) problems.push(...schemaProblems(sub, record[key], `${path}.${key}`));
	}
	if (actual === "array" && schema.items)
		(value as unknown[]).forEach((item, i) => {
			problems.push(...schemaProblems(schema.items as Schema, item, `${path}[${i}]`));
		});
	return problems;
}
