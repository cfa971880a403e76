import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	type PrebookNotifiedMessage,
	packIntoBatches,
	prebookNotifiedMessage,
	publishPrebookMessages,
	QUEUE_LIMITS,
	splitNotification,
} from "../src/prebook-emails/messages";
import { stubQueue } from "./helpers";

const notification = {
	type: "prebook.notified" as const,
	book_id: 7,
	restock_id: 3,
	notified_at: "2026-11-21T10:15:30.123Z",
};
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

describe("splitting notified user ids into queue messages", () => {
	it("makes one message for one waiting user", () => {
		expect(splitNotification(notification, [42])).toEqual([{ ...notification, user_ids: [42] }]);
	});

	it.each([1, 99, 100, 101, 5_000, 100_000])(
		"splits %i ids into valid messages holding each exactly once",
		(n) => {
			const messages = splitNotification(notification, ids(n));
			expect(messages.flatMap((m) => m.user_ids)).toEqual(ids(n));
			for (const message of messages) expect(prebookNotifiedMessage.parse(message)).toEqual(message);
		},
	);

	it("keeps every message under the byte limit even when the id cap would allow more", () => {
		const bigIds = ids(60_000, 9_000_000_000_000);
		const messages = splitNotification(notification, bigIds, Number.MAX_SAFE_INTEGER);
		expect(messages.length).toBeGreaterThan(1);
		for (const message of messages) expect(bytes(message)).toBeLessThanOrEqual(QUEUE_LIMITS.messageBytes);
		expect(messages.flatMap((m) => m.user_ids)).toEqual(bigIds);
	});

	it("packs messages into batches of at most 100 messages and 256 KB", () => {
		const messages = splitNotification(notification, ids(1_000_000));
		const batches = packIntoBatches(messages);
		for (const batch of batches) {
			expect(batch.length).toBeLessThanOrEqual(100);
			const total = batch.reduce((sum, m) => sum + bytes(m) + QUEUE_LIMITS.metadataBytesPerMessage, 0);
			expect(total).toBeLessThanOrEqual(256_000);
		}
		expect(batches.flat()).toHaveLength(messages.length);
	});
});

describe("publishing to the queue binding", () => {
	// Measured: Miniflare under @cloudflare/vitest-plugin 1.5.0 accepts oversized messages and batches,
	// so the limits are asserted on the stubbed sendBatch calls below rather than left to the runtime.
	it("publishes 100,000 ids (several MB as one message) within every message and batch limit, each id once", async () => {
		const { sendBatch } = stubQueue();
		const userIds = ids(100_000, 1_000_000);
		expect(bytes({ ...notification, user_ids: userIds })).toBeGreaterThan(6 * 128_000);
		const result = await publishPrebookMessages(env.PREBOOK_QUEUE, [
			{ envelope: notification, recipients: userIds },
		]);
		expect(sendBatch).toHaveBeenCalledTimes(result.batches);
		const published: number[] = [];
		for (const [batch] of sendBatch.mock.calls) {
			const messages = [...batch];
			expect(messages.length).toBeLessThanOrEqual(100);
			let total = 0;
			for (const { body } of messages) {
				const message = prebookNotifiedMessage.parse(body) as PrebookNotifiedMessage;
				expect(bytes(message)).toBeLessThan(128_000 - 100);
				total += bytes(message) + 100;
				published.push(...message.user_ids);
			}
			expect(total).toBeLessThanOrEqual(256_000);
		}
		expect(published).toEqual(userIds);
		expect(result.messages).toBe(1_000);
		expect(result.batches).toBeGreaterThan(1);
	});

	it("rejects when the queue refuses any of its batches", async () => {
		const { sendBatch } = stubQueue();
		sendBatch.mockResolvedValueOnce({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });
		sendBatch.mockRejectedValueOnce(new Error("queue unavailable"));
		await expect(
			publishPrebookMessages(env.PREBOOK_QUEUE, [{ envelope: notification, recipients: ids(20_000) }]),
		).rejects.toThrow("queue unavailable");
	});
});
