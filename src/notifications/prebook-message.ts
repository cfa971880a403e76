/**
 * The queue message of a restock notification, shared by the producer (restock) and the consumer
 * (emails). One zod schema validates both ends.
 */
import { z } from "zod";
import { inWaves } from "../lib/concurrency.ts";

export const PREBOOK_NOTIFIED = "prebook.notified";

export const prebookNotifiedMessage = z.object({
	type: z.literal(PREBOOK_NOTIFIED),
	book_id: z.number().int().positive(),
	restock_id: z.number().int().positive(),
	notified_at: z.iso.datetime(),
	user_ids: z.array(z.number().int().positive()).min(1),
});

export type PrebookNotifiedMessage = z.infer<typeof prebookNotifiedMessage>;

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

/** Splits one notification into messages, each within the per-message id count and byte limits. */
export function splitNotification(
	notification: Omit<PrebookNotifiedMessage, "type" | "user_ids">,
	userIds: readonly number[],
	maxIdsPerMessage = MAX_USER_IDS_PER_MESSAGE,
): PrebookNotifiedMessage[] {
	const envelope: PrebookNotifiedMessage = { type: PREBOOK_NOTIFIED, ...notification, user_ids: [] };
	const envelopeBytes = byteLength(JSON.stringify(envelope));
	const messages: PrebookNotifiedMessage[] = [];
	let current: number[] = [];
	let currentBytes = envelopeBytes;
	for (const id of userIds) {
		const idBytes = String(id).length + 1; // digits and a comma
		if (
			current.length > 0 &&
			(current.length >= maxIdsPerMessage || currentBytes + idBytes > QUEUE_LIMITS.messageBytes)
		) {
			messages.push({ ...envelope, user_ids: current });
			current = [];
			currentBytes = envelopeBytes;
		}
		current.push(id);
		currentBytes += idBytes;
	}
	if (current.length > 0) messages.push({ ...envelope, user_ids: current });
	return messages;
}

/** Groups messages into `sendBatch` calls within the per-batch count and byte limits. */
export function packIntoBatches(messages: PrebookNotifiedMessage[]): PrebookNotifiedMessage[][] {
	const batches: PrebookNotifiedMessage[][] = [];
	let current: PrebookNotifiedMessage[] = [];
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
 * Publishes every notified user id exactly once across messages. Resolves when the queue accepted all
 * of them; rejects if any `sendBatch` failed (the caller leaves the restock unconfirmed for the relay).
 */
export async function publishPrebookNotified(
	queue: Queue,
	notification: Omit<PrebookNotifiedMessage, "type" | "user_ids">,
	userIds: readonly number[],
): Promise<{ messages: number; batches: number }> {
	const messages = splitNotification(notification, userIds);
	const batches = packIntoBatches(messages);
	await inWaves(batches, (batch) =>
		queue.sendBatch(batch.map((body) => ({ body, contentType: "json" as const }))),
	);
	return { messages: messages.length, batches: batches.length };
}
