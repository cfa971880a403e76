/**
 * The queue messages of `prebook-notifications`, shared by the producers (restock, offer rounds) and the
 * consumer (emails). One zod schema validates both ends.
 *  - `prebook.notified`: a restock of a notify_all book told these users it is back;
 *  - `prebook.offered`: an offer round holds a copy for each of these users until `hold_expires_at`.
 */
import { z } from "zod";
import { inWaves } from "../lib/concurrency.ts";

export const PREBOOK_NOTIFIED = "prebook.notified";
export const PREBOOK_OFFERED = "prebook.offered";

const userIds = z.array(z.number().int().positive()).min(1);

export const prebookNotifiedMessage = z.object({
	type: z.literal(PREBOOK_NOTIFIED),
	book_id: z.number().int().positive(),
	restock_id: z.number().int().positive(),
	notified_at: z.iso.datetime(),
	user_ids: userIds,
});

const prebookOfferedMessage = z.object({
	type: z.literal(PREBOOK_OFFERED),
	book_id: z.number().int().positive(),
	offer_round_id: z.number().int().positive(),
	hold_expires_at: z.iso.datetime(),
	user_ids: userIds,
});

export const prebookMessage = z.discriminatedUnion("type", [prebookNotifiedMessage, prebookOfferedMessage]);

export type PrebookNotifiedMessage = z.infer<typeof prebookNotifiedMessage>;
export type PrebookOfferedMessage = z.infer<typeof prebookOfferedMessage>;
export type PrebookMessage = z.infer<typeof prebookMessage>;

/**
 * Cloudflare Queues limits, with headroom: a message may be 128 KB (about 100 bytes of which are
 * metadata), a `sendBatch` 100 messages and 256 KB. `wrangler dev` enforced them in one measurement;
 * Miniflare under @cloudflare/vitest-plugin does not, so the tests assert them on the spied calls.
 */
export const QUEUE_LIMITS = {
	messageBytes: 120_000,
	metadataBytesPerMessage: 100,
	batchMessages: 100,
	batchBytes: 250_000,
} as const;

/**
 * Recipients per message. Each id is one email for the consumer, so this bounds the work (and the
 * subrequests) of one delivery; the byte limit is enforced as well, whatever this is set to.
 */
export const MAX_USER_IDS_PER_MESSAGE = 100;

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;

/** A message without its recipients: what every message of one notification shares (of either type). */
export type Envelope<M extends PrebookMessage = PrebookMessage> = M extends PrebookMessage
	? Omit<M, "user_ids">
	: never;

/**
 * One notification: an envelope and its recipients — a notice (or one wave of it), or the readers of an
 * offer round whose holds end at one time.
 */
export interface Notification {
	envelope: Envelope;
	recipients: readonly number[];
}

/** Splits one notification into messages, each within the per-message id count and byte limits. */
export function splitNotification<M extends PrebookMessage>(
	envelope: Envelope<M>,
	recipients: readonly number[],
	maxIdsPerMessage = MAX_USER_IDS_PER_MESSAGE,
): M[] {
	const envelopeBytes = byteLength(JSON.stringify({ ...envelope, user_ids: [] }));
	const messages: M[] = [];
	let current: number[] = [];
	let currentBytes = envelopeBytes;
	// The envelope of an M with its recipients is that M (a conditional type TypeScript cannot see through).
	const flush = () => messages.push({ ...envelope, user_ids: current } as unknown as M);
	for (const id of recipients) {
		const idBytes = String(id).length + 1; // digits and a comma
		if (
			current.length > 0 &&
			(current.length >= maxIdsPerMessage || currentBytes + idBytes > QUEUE_LIMITS.messageBytes)
		) {
			flush();
			current = [];
			currentBytes = envelopeBytes;
		}
		current.push(id);
		currentBytes += idBytes;
	}
	if (current.length > 0) flush();
	return messages;
}

/** Groups messages into `sendBatch` calls within the per-batch count and byte limits. */
export function packIntoBatches<M>(messages: M[]): M[][] {
	const batches: M[][] = [];
	let current: M[] = [];
	let currentBytes = 0;
	for (const message of messages) {
		const size = byteLength(JSON.stringify(message)) + QUEUE_LIMITS.metadataBytesPerMessage;
		if (
			current.length > 0 &&
			(current.length >= QUEUE_LIMITS.batchMessages || currentBytes + size > QUEUE_LIMITS.batchBytes)
		) {
			batches.push(current);
			current = [];
			currentBytes = 0;
		}
		current.push(message);
		currentBytes += size;
	}
	if (current.length > 0) batches.push(current);
	return batches;
}

/**
 * Publishes every recipient of every notification exactly once: each notification split into messages
 * within the per-message limits, all of them packed together into `sendBatch` calls (a round whose readers'
 * holds end at several times is not a call per end). Resolves when the queue accepted all of them; rejects
 * if any `sendBatch` failed (the caller leaves the notice or round unconfirmed for the relay).
 */
export async function publishPrebookMessages(
	queue: Queue,
	notifications: readonly Notification[],
): Promise<{ messages: number; batches: number }> {
	const messages = notifications.flatMap(({ envelope, recipients }) =>
		splitNotification<PrebookMessage>(envelope, recipients),
	);
	const batches = packIntoBatches(messages);
	await inWaves(batches, (batch) =>
		queue.sendBatch(batch.map((body) => ({ body, contentType: "json" as const }))),
	);
	return { messages: messages.length, batches: batches.length };
}
