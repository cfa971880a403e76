import { z } from "@hono/zod-openapi";
import { ALLOCATIONS, type BookRow, FORMATS } from "../../db/schema.ts";
import { normalizeIsbn } from "../../lib/isbn.ts";
import { formatCents, priceInput, priceOutput } from "../../lib/money.ts";
import { idField, timestamp } from "../../lib/openapi.ts";
import { multiLineText, singleLineText } from "../../lib/text.ts";

const MAX_STOCK = 1_000_000;

export const BookSchema = z
	.object({
		id: z.number().int(),
		title: z.string(),
		author: z.string(),
		price: priceOutput,
		isbn: z.string().nullable().openapi({ example: "9780306406157" }),
		description: z.string().nullable(),
		genre_id: z.number().int().nullable(),
		publish_date: z.string().nullable().openapi({ example: "2026-03-01", format: "date" }),
		work_id: z.number().int().nullable().openapi({ description: "The work this book is an edition of" }),
		format: z.enum(FORMATS),
		stock_quantity: z.number().int(),
		held_quantity: z.number().int().openapi({ description: "Copies held for readers in line (hold_queue)" }),
		available_quantity: z
			.number()
			.int()
			.openapi({ description: "`stock_quantity − held_quantity`: what anyone else can buy" }),
		allocation: z.enum(ALLOCATIONS).openapi({
			description:
				"`notify_all`: everyone waiting is emailed when copies come back, first come first served. `waves`: the first ceil(available × `wave_factor`) in line are emailed, then the next wave every `wave_minutes` while copies remain. `hold_queue`: copies are held for the readers in line, in order, for `hold_hours` each.",
		}),
		hold_hours: z.number().int().openapi({ description: "How long an offered copy is held (hold_queue)" }),
		wave_factor: z
			.number()
			.int()
			.openapi({ description: "Readers emailed per available copy in each wave (waves), 1–20" }),
		wave_minutes: z.number().int().openapi({ description: "Minutes between waves (waves), 5–1440" }),
		demand_alert_threshold: z.number().int().nullable().openapi({
			description:
				"When the book's line (its waiting pre-bookings plus the waiting work pre-bookings that accept it: the demand report's `waiting_count`) reaches this count, the webhook event `demand.threshold_crossed` is sent (once per crossing, again only after the count fell below); null: no alert",
		}),
		created_at: timestamp,
		updated_at: timestamp,
	})
	.openapi("Book");

export type BookResponse = z.infer<typeof BookSchema>;

export const toBookResponse = (book: BookRow): BookResponse => ({
	id: book.id,
	title: book.title,
	author: book.author,
	price: formatCents(book.priceCents),
	isbn: book.isbn,
	description: book.description,
	genre_id: book.genreId,
	publish_date: book.publishDate,
	work_id: book.workId,
	format: book.format,
	stock_quantity: book.stockQuantity,
	held_quantity: book.heldQuantity,
	available_quantity: book.stockQuantity - book.heldQuantity,
	allocation: book.allocation,
	hold_hours: book.holdHours,
	wave_factor: book.waveFactor,
	wave_minutes: book.waveMinutes,
	demand_alert_threshold: book.demandAlertThreshold,
	created_at: book.createdAt,
	updated_at: book.updatedAt,
});

const isbnInput = z
	.string()
	.max(32)
	.transform((value, ctx) => {
		const isbn = normalizeIsbn(value);
		if (isbn === null) {
			ctx.addIssue({ code: "custom", message: "isbn must be a valid ISBN-10 or ISBN-13" });
			return z.NEVER;
		}
		return isbn;
	})
	.openapi({
		description: "ISBN-10 or ISBN-13, hyphens allowed; stored and returned as ISBN-13 without hyphens",
		example: "978-0-306-40615-7",
	});

/** A stock count, 0–1000000; the message names the field it is (`quantity`, `stock_quantity`). */
export const stockQuantity = (field: string) => {
	const message = `${field} must be an integer from 0 to ${MAX_STOCK}`;
	return z.number({ message }).int(message).min(0, message).max(MAX_STOCK, message);
};

const integerFrom = (field: string, min: number, max: number) => {
	const message = `${field} must be an integer from ${min} to ${max}`;
	return z.number({ message }).int(message).min(min, message).max(max, message);
};

const bookFields = {
	title: singleLineText("title", { max: 500 }),
	author: singleLineText("author", { max: 255 }),
	price: priceInput,
	isbn: isbnInput.nullish(),
	description: multiLineText("description", { max: 10_000 }).nullish(),
	genre_id: idField("genre_id").nullish(),
	publish_date: z.iso.date("publish_date must be a valid YYYY-MM-DD date").nullish(),
	work_id: idField("work_id").nullish(),
	format: z.enum(FORMATS, { message: `format must be one of ${FORMATS.join(", ")}` }),
	allocation: z.enum(ALLOCATIONS, { message: `allocation must be one of ${ALLOCATIONS.join(", ")}` }),
	hold_hours: z
		.number({ message: "hold_hours must be an integer from 1 to 168" })
		.int("hold_hours must be an integer from 1 to 168")
		.min(1, "hold_hours must be an integer from 1 to 168")
		.max(168, "hold_hours must be an integer from 1 to 168"),
	wave_factor: integerFrom("wave_factor", 1, 20),
	wave_minutes: integerFrom("wave_minutes", 5, 1440),
	demand_alert_threshold: integerFrom("demand_alert_threshold", 1, MAX_STOCK).nullish().openapi({
		description:
			"The line's waiting count (the demand report's `waiting_count`) that triggers `demand.threshold_crossed`; null: none",
	}),
};

export const BookCreate = z
	.object({
		...bookFields,
		stock_quantity: stockQuantity("stock_quantity").default(0),
		format: bookFields.format.default("other"),
		allocation: bookFields.allocation.default("notify_all"),
		hold_hours: bookFields.hold_hours.default(48),
		wave_factor: bookFields.wave_factor.default(3),
		wave_minutes: bookFields.wave_minutes.default(60),
	})
	.openapi("BookCreate");

export const BookPatch = z
	.object({
		title: bookFields.title.optional(),
		author: bookFields.author.optional(),
		price: bookFields.price.optional(),
		isbn: bookFields.isbn,
		description: bookFields.description,
		genre_id: bookFields.genre_id,
		publish_date: bookFields.publish_date,
		work_id: bookFields.work_id,
		format: bookFields.format.optional(),
		allocation: bookFields.allocation.optional(),
		hold_hours: bookFields.hold_hours.optional(),
		wave_factor: bookFields.wave_factor.optional(),
		wave_minutes: bookFields.wave_minutes.optional(),
		demand_alert_threshold: bookFields.demand_alert_threshold,
	})
	.openapi("BookPatch", {
		description:
			"Any book field but stock_quantity; null clears an optional field. The allocation engine serves the book's line in the same transaction under the (new) policy: switching to `hold_queue` offers the available copies to the first in line at once; a new `work_id` or `format` brings the work pre-bookings that accept it into its line.",
	});
