import { z } from "@hono/zod-openapi";
import { formatCents } from "../../lib/money.ts";
import { idParam } from "../../lib/openapi.ts";

/** The longest period a report covers: `to` at most this many days after `from`. */
export const MAX_PERIOD_DAYS = 366;
const DAY_MS = 24 * 60 * 60 * 1000;

const day = (name: string, description: string) =>
	z.iso
		.date(`${name} must be a valid YYYY-MM-DD date`)
		.openapi({ param: { name, in: "query" }, description, example: "2026-11-01" });
/** A valid day: the period's checks below say nothing about a day already refused (zod runs them anyway). */
const isDay = (value: string) => z.iso.date().safeParse(value).success;

export const InsightsQuery = z
	.object({
		from: day("from", "First day of the period (UTC, inclusive)"),
		to: day("to", `Last day of the period (UTC, inclusive), at most ${MAX_PERIOD_DAYS} days after \`from\``),
		book_id: idParam("book_id", "query")
			.optional()
			.openapi({ description: "One book; the store's when absent" }),
	})
	.superRefine((query, ctx) => {
		if (!isDay(query.from) || !isDay(query.to)) return;
		const days = (Date.parse(query.to) - Date.parse(query.from)) / DAY_MS;
		if (days < 0) ctx.addIssue({ code: "custom", path: ["to"], message: "to must not be before from" });
		if (days > MAX_PERIOD_DAYS) {
			ctx.addIssue({
				code: "custom",
				path: ["to"],
				message: `to must be at most ${MAX_PERIOD_DAYS} days after from`,
			});
		}
	});

const count = (description: string) => z.number().int().openapi({ description });

const InsightsDaySchema = z
	.object({
		day: z.string().openapi({ format: "date", example: "2026-11-21" }),
		signups: z.number().int(),
		notified: z.number().int(),
		offered: z.number().int(),
		fulfilled: z.number().int(),
	})
	.openapi("PrebookInsightsDay");

export const InsightsSchema = z
	.object({
		from: z.string().openapi({ format: "date" }),
		to: z.string().openapi({ format: "date" }),
		signups: count("Pre-bookings made"),
		cancelled: count("Pre-bookings cancelled (by the reader, an unsubscribe or an erasure)"),
		notified: count("Readers told a book is back (notify_all, waves)"),
		offered: count("Readers offered a held copy (hold_queue, lottery)"),
		expired: count("Held copies not bought in time"),
		passed: count("Offers handed back by their reader (POST /prebooks/{id}/pass)"),
		fulfilled: count("Notified or offered readers who bought the book"),
		conversion_rate: z.number().openapi({
			description: "fulfilled ÷ (notified + offered) over the period, 4 decimals; 0 when nobody was told",
			example: 0.6667,
		}),
		revenue_attributed: z.string().openapi({
			description: "The order lines that fulfilled a pre-booking, 2 decimals",
			example: "39.80",
		}),
		median_hours_to_purchase: z.number().nullable().openapi({
			description:
				"Median of the whole hours (rounded down) from the notice or offer to the purchase, over the period's purchases (the mean of the two middle ones for an even count): at most 1 hour below the exact median. null without purchases",
			example: 5,
		}),
		by_day: z
			.array(InsightsDaySchema)
			.openapi({ description: "Every day of the period, oldest first, zeros included" }),
	})
	.openapi("PrebookInsights");

export type InsightsResponse = z.infer<typeof InsightsSchema>;

/** A day's counters as the daily table holds them. */
export interface DailyCounters {
	day: string;
	signups: number;
	cancelled: number;
	notified: number;
	offered: number;
	expired: number;
	passed: number;
	fulfilled: number;
	revenue_cents: number;
}

/** A row of the demand report (`GET /admin/prebooks/demand`): a book, its line and the buy signal. */
export interface DemandView {
	bookId: number;
	title: string;
	author: string;
	stockQuantity: number;
	heldQuantity: number;
	waitingCount: number;
	offeredCount: number;
	inboundQuantity: number;
	overdueInboundQuantity: number;
	conversionRate: number;
	suggestedOrderQuantity: number;
}

/** fulfilled ÷ (notified + offered), 4 decimals, 0 when nobody was told. */
export const conversionRate = (fulfilled: number, told: number) =>
	told === 0 ? 0 : Math.round((fulfilled / told) * 10_000) / 10_000;

/** The days from `from` to `to`, inclusive (UTC dates). */
function daysOf(from: string, to: string): string[] {
	const days: string[] = [];
	for (let at = Date.parse(from); at <= Date.parse(to); at += DAY_MS)
		days.push(new Date(at).toISOString().slice(0, 10));
	return days;
}

export function toInsightsResponse(
	period: { from: string; to: string },
	rows: DailyCounters[],
	medianHours: number | null,
): InsightsResponse {
	const total = (key: Exclude<keyof DailyCounters, "day">) => rows.reduce((sum, row) => sum + row[key], 0);
	const byDay = new Map(rows.map((row) => [row.day, row]));
	const notified = total("notified");
	const offered = total("offered");
	const fulfilled = total("fulfilled");
	return {
		from: period.from,
		to: period.to,
		signups: total("signups"),
		cancelled: total("cancelled"),
		notified,
		offered,
		expired: total("expired"),
		passed: total("passed"),
		fulfilled,
		conversion_rate: conversionRate(fulfilled, notified + offered),
		revenue_attributed: formatCents(total("revenue_cents")),
		median_hours_to_purchase: medianHours,
		by_day: daysOf(period.from, period.to).map((day) => {
			const row = byDay.get(day);
			return {
				day,
				signups: row?.signups ?? 0,
				notified: row?.notified ?? 0,
				offered: row?.offered ?? 0,
				fulfilled: row?.fulfilled ?? 0,
			};
		}),
	};
}
