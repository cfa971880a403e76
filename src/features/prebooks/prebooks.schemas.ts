import { z } from "@hono/zod-openapi";
import { FORMATS, PREBOOK_STATUSES, type PrebookStatus } from "../../db/schema.ts";
import { idField, timestamp } from "../../lib/openapi.ts";
import { formatsOf, ON_HOLD_REASONS, type OnHoldReason } from "../allocation/line.ts";
import type { DemandView } from "../insights/insights.schemas.ts";
import { CONVERSION_WINDOW_DAYS, MIN_OWN_CONVERSION_HISTORY } from "../insights/insights.service.ts";
import { emailInput } from "../users/users.schemas.ts";
import { type MeasuredPrebook, placeInLine } from "./place.ts";

const onHoldReason = z.enum(ON_HOLD_REASONS).nullable().openapi({
	description:
		"Why the allocation engine passes this waiting pre-booking over while it keeps its place: paused, or (except on notify_all books) a reader who cannot be told — address unverified, restock emails off, account deactivated. Null when it is served in turn. A waiting work pre-booking is in the line of every edition it accepts: a pause holds it in all of them, and a reason of the reader's shows unless every edition it accepts is notify_all (it may then still have a `position` in a notify_all edition's line).",
});

export const PrebookSchema = z
	.object({
		id: z.number().int(),
		book_id: z.number().int().nullable().openapi({
			description:
				"The edition: a book pre-booking's book; a work pre-booking's is null while it waits, then the edition it was notified or offered",
		}),
		work_id: z
			.number()
			.int()
			.nullable()
			.openapi({ description: "A work pre-booking's work; null for a book pre-booking" }),
		formats: z.array(z.enum(FORMATS)).nullable().openapi({
			description:
				"The formats a work pre-booking accepts (any edition of the work in one of them); null for a book pre-booking",
		}),
		book_title: z.string().openapi({ description: "The book's title (a work pre-booking: the work's)" }),
		book_author: z.string(),
		status: z.enum(PREBOOK_STATUSES),
		position: z.number().int().nullable().openapi({
			description:
				"While `waiting` and not passed over: the place among the members of the book's line that are not passed over (1 = next; a work pre-booking: its best place over the editions it accepts whose lines serve it now); null otherwise. Exact up to 10,000 members ahead in each part of the line (the book's own pre-bookings, its work's); beyond, the book's own part is its waiting count minus the members behind — exact when at most 10,000 are behind, else shared by the time the line's front and back span — and the work's part counts as 10,001 (docs/allocation.md, \"Place in line\")",
		}),
		paused_until: timestamp.nullable().openapi({
			description: "While paused: when the pause ends by itself (the place in line is kept)",
		}),
		passes_left: z.number().int().openapi({ description: "How many more offers may be passed" }),
		on_hold_reason: onHoldReason,
		estimate: z
			.object({
				expected_by: z.object({ p50: timestamp, p90: timestamp }).nullable(),
				basis: z.enum(["inbound", "history", "none"]),
				ahead: z
					.object({
						active: z.number().int().openapi({ description: "Members ahead the engine serves now" }),
						passed_over: z
							.number()
							.int()
							.openapi({ description: "Members ahead it passes over (paused, cannot be told)" }),
					})
					.openapi({
						description:
							"The members ahead, counted as `position` is (exact up to 10,000 in each part of the line; beyond, from the book's waiting count, split by the share of the nearest 10,000 that are passed over)",
					}),
			})
			.nullable()
			.openapi({
				description:
					"While waiting (not on lottery books): when a copy may be expected, on the book's line (a work pre-booking: the line of the edition `position` is taken from, with that edition's supply, offers and restocks; when no line serves it now, the edition where it is best placed). `inbound`: from the supply the store expects, discounted by the share of this book's offers that were bought (1 until it has 10 offers); `history`: from its restocks of the last 365 days (at least two); `none`: no basis. p50 ≤ p90.",
			}),
		draw: z.object({ draw_id: z.number().int(), won: z.boolean() }).nullable().openapi({
			description:
				"On a lottery book: the last draw this pre-booking took part in and whether it won a copy there; null before its first draw and on other books",
		}),
		created_at: timestamp,
		notified_at: timestamp.nullable(),
		offered_at: timestamp.nullable(),
		hold_expires_at: timestamp.nullable().openapi({ description: "Until when the offered copy is held" }),
		fulfilled_at: timestamp.nullable(),
		expired_at: timestamp.nullable(),
		cancelled_at: timestamp.nullable(),
	})
	.openapi("PreBooking");

export type PrebookResponse = z.infer<typeof PrebookSchema>;

/**
 * A pre-booking as the service reads it; its line measures and rule 12's inputs come as SQLite JSON
 * (`MeasuredPrebook`), turned into `position` and `estimate` by place.ts.
 */
export interface PrebookView extends MeasuredPrebook {
	id: number;
	bookId: number | null;
	workId: number | null;
	formatsMask: number | null;
	bookTitle: string;
	bookAuthor: string;
	status: PrebookStatus;
	pausedUntil: string | null;
	passesLeft: number;
	onHoldReason: OnHoldReason | null;
	/** `{draw_id, won}` of the last draw, as SQLite's JSON (won is 0/1). */
	lastDraw: string | null;
	createdAt: string;
	notifiedAt: string | null;
	offeredAt: string | null;
	holdExpiresAt: string | null;
	fulfilledAt: string | null;
	expiredAt: string | null;
	cancelledAt: string | null;
}

const LastDraw = z.object({ draw_id: z.number().int(), won: z.union([z.literal(0), z.literal(1)]) });
const drawOf = (json: string | null) => {
	if (json === null) return null;
	const draw = LastDraw.parse(JSON.parse(json));
	return { draw_id: draw.draw_id, won: draw.won === 1 };
};

export const toPrebookResponse = (row: PrebookView): PrebookResponse => ({
	id: row.id,
	book_id: row.bookId,
	work_id: row.workId,
	formats: row.workId === null || row.formatsMask === null ? null : formatsOf(row.formatsMask),
	book_title: row.bookTitle,
	book_author: row.bookAuthor,
	status: row.status,
	...placeInLine(row),
	paused_until: row.status === "waiting" ? row.pausedUntil : null,
	passes_left: row.passesLeft,
	on_hold_reason: row.onHoldReason,
	draw: drawOf(row.lastDraw),
	created_at: row.createdAt,
	notified_at: row.notifiedAt,
	offered_at: row.offeredAt,
	hold_expires_at: row.holdExpiresAt,
	fulfilled_at: row.fulfilledAt,
	expired_at: row.expiredAt,
	cancelled_at: row.cancelledAt,
});

/** The longest pause (API.md, pause): a reader keeps their place for up to 180 days. */
const MAX_PAUSE_DAYS = 180;

export const PauseBody = z
	.object({
		until: z.iso
			.datetime({ offset: true, error: "until must be an RFC 3339 date-time, e.g. 2027-01-31T09:00:00Z" })
			.refine((until) => Date.parse(until) > Date.now(), "until must be in the future")
			.refine(
				(until) => Date.parse(until) <= Date.now() + MAX_PAUSE_DAYS * 24 * 60 * 60 * 1000,
				`until must be at most ${MAX_PAUSE_DAYS} days ahead`,
			)
			.openapi({
				description: `When the pause ends by itself (RFC 3339, in the future, at most ${MAX_PAUSE_DAYS} days ahead)`,
				example: "2027-01-31T09:00:00Z",
			}),
	})
	.openapi("PreBookingPause");

const formatsField = z.array(z.enum(FORMATS)).min(1).max(FORMATS.length).openapi({
	description: "With `work_id`: the formats accepted (default: every format the work's editions have)",
});

/** `{book_id}` or `{work_id, formats?}`: exactly one of the two ids (422 otherwise), `formats` only with a work. */
const oneTarget = <T extends { book_id?: number; work_id?: number; formats?: unknown }>(
	body: T,
	ctx: z.RefinementCtx,
) => {
	if ((body.book_id === undefined) === (body.work_id === undefined)) {
		ctx.addIssue({
			code: "custom",
			path: [body.book_id === undefined ? "book_id" : "work_id"],
			message:
				body.book_id === undefined ? "give book_id or work_id" : "give either book_id or work_id, not both",
		});
	} else if (body.formats !== undefined && body.work_id === undefined) {
		ctx.addIssue({ code: "custom", path: ["formats"], message: "formats goes with work_id only" });
	}
};

export const PrebookCreate = z
	.object({
		book_id: idField("book_id").optional(),
		work_id: idField("work_id").optional(),
		formats: formatsField.optional(),
	})
	.superRefine(oneTarget)
	.openapi("PreBookingCreate", {
		description: "A book (`book_id`) or a work (`work_id`, `formats?`): exactly one",
	});

export const GuestPrebookBody = z
	.object({
		email: emailInput,
		book_id: idField("book_id").optional(),
		work_id: idField("work_id").optional(),
		formats: formatsField.optional(),
	})
	.superRefine(oneTarget)
	.openapi("GuestPreBookingRequest");

/** The target a validated body names. */
export const targetOf = (body: {
	book_id?: number;
	work_id?: number;
	formats?: (typeof FORMATS)[number][];
}) =>
	body.book_id !== undefined
		? { bookId: body.book_id }
		: { workId: body.work_id as number, ...(body.formats ? { formats: [...new Set(body.formats)] } : {}) };

export const GuestPrebookAccepted = z
	.object({ status: z.literal("confirmation_sent") })
	.openapi("GuestPreBookingAccepted", {
		description: "Always this answer, whether or not the address has an account",
	});

export const GuestConfirmBody = z
	// No message of its own: a schema's message would also word its checks ("token is required" for a
	// 5000-character token). The global messages say what is wrong (lib/validation-messages.ts).
	.object({ token: z.string().min(1).max(512) })
	.openapi("GuestPreBookingConfirm");

export const DemandSchema = z
	.object({
		book_id: z.number().int(),
		title: z.string(),
		author: z.string(),
		stock_quantity: z.number().int(),
		held_quantity: z.number().int(),
		waiting_count: z.number().int().openapi({
			description:
				"The book's line: its own waiting pre-bookings plus the waiting work pre-bookings that accept it (one of those counts in the line of every edition it accepts); paused ones included. The count `demand_alert_threshold` is compared with",
		}),
		offered_count: z.number().int(),
		inbound_quantity: z.number().int().openapi({
			description:
				"Copies expected from suppliers, not received yet and not overdue (admin inbound entries whose `expected_at` is still ahead): the supply `suggested_order_quantity` counts on",
		}),
		overdue_inbound_quantity: z.number().int().openapi({
			description:
				"Copies of inbound entries whose `expected_at` has passed without a restock receiving them: late shipments, shown apart and not subtracted from `suggested_order_quantity` (chase the supplier, or delete the entry)",
			example: 0,
		}),
		conversion_rate: z.number().openapi({
			description: `Readers who bought ÷ readers notified or offered, over the last ${CONVERSION_WINDOW_DAYS} days: the book's own, or the store's when the book had fewer than ${MIN_OWN_CONVERSION_HISTORY} notified or offered (4 decimals)`,
			example: 0.4,
		}),
		suggested_order_quantity: z.number().int().openapi({
			description:
				"max(0, ceil(waiting_count × conversion_rate) − available_quantity − inbound_quantity): the copies to order so that the readers likely to buy get one",
			example: 12,
		}),
	})
	.openapi("PreBookingDemand");

export const toDemandItem = (row: DemandView): z.infer<typeof DemandSchema> => ({
	book_id: row.bookId,
	title: row.title,
	author: row.author,
	stock_quantity: row.stockQuantity,
	held_quantity: row.heldQuantity,
	waiting_count: row.waitingCount,
	offered_count: row.offeredCount,
	inbound_quantity: row.inboundQuantity,
	overdue_inbound_quantity: row.overdueInboundQuantity,
	conversion_rate: row.conversionRate,
	suggested_order_quantity: row.suggestedOrderQuantity,
});

/** A row of a book's line, as the admin sees it (JSON and CSV share these columns). */
export interface LineEntryView {
	id: number;
	userId: number;
	email: string;
	status: PrebookStatus;
	position: number | null;
	onHoldReason: OnHoldReason | null;
	createdAt: string;
	notifiedAt: string | null;
	offeredAt: string | null;
	holdExpiresAt: string | null;
	fulfilledAt: string | null;
}

export const LineEntrySchema = z
	.object({
		id: z.number().int(),
		user_id: z.number().int(),
		email: z.string(),
		status: z.enum(PREBOOK_STATUSES),
		position: z.number().int().nullable(),
		on_hold_reason: onHoldReason,
		created_at: timestamp,
		notified_at: timestamp.nullable(),
		offered_at: timestamp.nullable(),
		hold_expires_at: timestamp.nullable(),
		fulfilled_at: timestamp.nullable(),
	})
	.openapi("PreBookingLineEntry");

export type LineEntry = z.infer<typeof LineEntrySchema>;

export const toLineEntry = (row: LineEntryView): LineEntry => ({
	id: row.id,
	user_id: row.userId,
	email: row.email,
	status: row.status,
	position: row.position,
	on_hold_reason: row.onHoldReason,
	created_at: row.createdAt,
	notified_at: row.notifiedAt,
	offered_at: row.offeredAt,
	hold_expires_at: row.holdExpiresAt,
	fulfilled_at: row.fulfilledAt,
});

export const LINE_CSV_COLUMNS = Object.keys(LineEntrySchema.shape) as (keyof LineEntry)[];

/**
 * One CSV record (RFC 4180): quoted when needed. A field a spreadsheet could read as a formula — starting
 * with =, +, - or @, or with a TAB or CR, which spreadsheets skip before reading the rest — is defused with
 * a leading quote (OWASP, CSV injection).
 */
export function toCsvRecord(entry: LineEntry): string {
	return LINE_CSV_COLUMNS.map((column) => {
		const value = entry[column];
		if (value === null) return "";
		let text = String(value);
		if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
		return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
	}).join(",");
}

/** The cursor of a book's line: the last row's place (created_at, id), ascending. */
export const lineCursor = z.object({ at: z.string().max(40), id: z.number().int().positive() });
