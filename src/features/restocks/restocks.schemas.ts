import { z } from "@hono/zod-openapi";
import { ALLOCATION_REASONS, type AllocationReason } from "../../db/schema.ts";
import { timestamp } from "../../lib/openapi.ts";

const WaveSchema = z
	.object({
		wave: z.number().int().openapi({ description: "1 for the first wave, then 2, 3…" }),
		notified_count: z.number().int(),
		created_at: timestamp,
	})
	.openapi("NoticeWave");

export interface RestockView {
	id: number;
	reason: AllocationReason;
	/** `notice_waves` rows as SQLite's JSON array (json_group_array). */
	wavesJson: string;
	bookId: number;
	bookTitle: string;
	quantityBefore: number;
	quantityAfter: number;
	notifiedCount: number;
	sentCount: number;
	failedCount: number;
	deadCount: number;
	skippedCount: number;
	fulfilledCount: number;
	createdAt: string;
	publishedAt: string | null;
}

export const RestockSchema = z
	.object({
		id: z.number().int(),
		book_id: z.number().int(),
		book_title: z.string(),
		quantity_before: z.number().int(),
		quantity_after: z.number().int(),
		reason: z.enum(ALLOCATION_REASONS).openapi({
			description:
				"`restock` when the stock rose; otherwise a notice the allocation engine recorded when copies became available to a notify_all or waves line another way (a released hold, a policy switch, a reader eligible again): then `quantity_before = quantity_after`",
		}),
		waves: z.array(WaveSchema).openapi({
			description: "A `waves` book's waves under this restock, in order (empty for other policies)",
		}),
		notified_count: z.number().int().openapi({ description: "Pre-bookings this restock notified" }),
		sent_count: z.number().int().openapi({ description: "Emails sent" }),
		failed_count: z.number().int().openapi({ description: "Emails that failed and await a retry" }),
		dead_count: z.number().int().openapi({ description: "Emails that exhausted their retries (replayable)" }),
		skipped_count: z.number().int().openapi({
			description: "Not emailed on purpose: the reader turned restock emails off or has no verified address",
		}),
		fulfilled_count: z.number().int().openapi({ description: "Notified readers who then bought the book" }),
		created_at: timestamp,
		published_at: timestamp.nullable().openapi({
			description: "When the queue accepted the notification; null until then (the relay republishes)",
		}),
	})
	.openapi("Restock");

export const RestockReplaySchema = z
	.object({ restock_id: z.number().int(), requeued: z.number().int() })
	.openapi("RestockReplay");

export const toRestockResponse = (row: RestockView): z.infer<typeof RestockSchema> => ({
	id: row.id,
	book_id: row.bookId,
	book_title: row.bookTitle,
	quantity_before: row.quantityBefore,
	quantity_after: row.quantityAfter,
	reason: row.reason,
	waves: z.array(WaveSchema).parse(JSON.parse(row.wavesJson)),
	notified_count: row.notifiedCount,
	sent_count: row.sentCount,
	failed_count: row.failedCount,
	dead_count: row.deadCount,
	skipped_count: row.skippedCount,
	fulfilled_count: row.fulfilledCount,
	created_at: row.createdAt,
	published_at: row.publishedAt,
});
