import { z } from "@hono/zod-openapi";
import { PREBOOK_STATUSES, type PrebookStatus } from "../../db/schema.ts";
import { idField, timestamp } from "../../lib/openapi.ts";

export const PrebookSchema = z
	.object({
		id: z.number().int(),
		book_id: z.number().int(),
		book_title: z.string(),
		book_author: z.string(),
		status: z.enum(PREBOOK_STATUSES),
		created_at: timestamp,
		notified_at: timestamp.nullable(),
		cancelled_at: timestamp.nullable(),
	})
	.openapi("PreBooking");

export type PrebookResponse = z.infer<typeof PrebookSchema>;

export interface PrebookView {
	id: number;
	bookId: number;
	bookTitle: string;
	bookAuthor: string;
	status: PrebookStatus;
	createdAt: string;
	notifiedAt: string | null;
	cancelledAt: string | null;
}

export const toPrebookResponse = (row: PrebookView): PrebookResponse => ({
	id: row.id,
	book_id: row.bookId,
	book_title: row.bookTitle,
	book_author: row.bookAuthor,
	status: row.status,
	created_at: row.createdAt,
	notified_at: row.notifiedAt,
	cancelled_at: row.cancelledAt,
});

export const PrebookCreate = z.object({ book_id: idField("book_id") }).openapi("PreBookingCreate");

export interface DemandView {
	bookId: number;
	title: string;
	author: string;
	stockQuantity: number;
	waitingCount: number;
}

export const toDemandItem = (row: DemandView): z.infer<typeof DemandSchema> => ({
	book_id: row.bookId,
	title: row.title,
	author: row.author,
	stock_quantity: row.stockQuantity,
	waiting_count: row.waitingCount,
});

export const DemandSchema = z
	.object({
		book_id: z.number().int(),
		title: z.string(),
		author: z.string(),
		stock_quantity: z.number().int(),
		waiting_count: z.number().int(),
	})
	.openapi("PreBookingDemand");
