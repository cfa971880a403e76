/**
 * The reader's time zone (API.md, preferences) and quiet hours (Pre-bookings rule 13): a hold never ends
 * between 21:00 and 09:00 where the reader is, and the offer email says until when in their zone.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { preferredLocale } from "../src/i18n/locales";
import { createDb } from "../src/lib/db";
import { outsideQuietHours, utcOffsetMinutes } from "../src/lib/time-zone";
import type { PrebookMessage, PrebookOfferedMessage } from "../src/prebook-emails/messages";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	expectError,
	prebookAll,
	stubQueue,
	type TestUser,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

/** What SQL makes of a hold ending at `expires` for a reader `offset` minutes east of UTC. */
async function moved(expires: string, offset: number): Promise<string> {
	const [row] = await createDb(env.DB).all<{ at: string }>(
		sql`SELECT ${outsideQuietHours(sql`${expires}`, sql`${offset}`)} AS at`,
	);
	return row?.at as string;
}

/** Zones spread around the clock: whatever time a test runs, one is in its night and one in its day. */
const ZONES_AROUND_THE_CLOCK = [
	"Pacific/Kiritimati",
	"Asia/Tokyo",
	"Asia/Kolkata",
	"Europe/Berlin",
	"America/New_York",
	"Pacific/Honolulu",
];

describe("quiet hours", () => {
	it("moves a hold end at night to 09:00 local: the same morning after midnight, the next before it", async () => {
		// Berlin in winter is UTC+1: 03:00 local is 02:00Z → 09:00 local, 08:00Z the same day.
		expect(await moved("2026-12-10T02:00:00.000Z", 60)).toBe("2026-12-10T08:00:00.000Z");
		// 22:30 local (21:30Z) → the next morning.
		expect(await moved("2026-12-10T21:30:00.000Z", 60)).toBe("2026-12-11T08:00:00.000Z");
		// 08:59 local is still night; 09:00 and 20:59 are not.
		expect(await moved("2026-12-10T07:59:00.000Z", 60)).toBe("2026-12-10T08:00:00.000Z");
		expect(await moved("2026-12-10T08:00:00.000Z", 60)).toBe("2026-12-10T08:00:00.000Z");
		expect(await moved("2026-12-10T19:59:00.000Z", 60)).toBe("2026-12-10T19:59:00.000Z");
		// New York (UTC−5): 23:00 local is 04:00Z next day → 09:00 local = 14:00Z.
		expect(await moved("2026-12-11T04:00:00.000Z", -300)).toBe("2026-12-11T14:00:00.000Z");
		expect(utcOffsetMinutes("Europe/Berlin", new Date("2026-12-10T12:00:00Z"))).toBe(60);
		expect(utcOffsetMinutes("Europe/Berlin", new Date("2026-07-10T12:00:00Z"))).toBe(120);
		expect(utcOffsetMinutes("Asia/Kolkata", new Date("2026-12-10T12:00:00Z"))).toBe(330);
	});

	it("an offer whose hold would end in the reader's night is held until 09:00 the next morning there", async () => {
		// A zone where an hour from now is deep in the night, whatever time the test runs.
		const inAnHour = new Date(Date.now() + 3600_000);
		const zones = ZONES_AROUND_THE_CLOCK;
		const localHour = (zone: string) =>
			(inAnHour.getUTCHours() + utcOffsetMinutes(zone, inAnHour) / 60 + 24) % 24;
		const zone = zones.find((candidate) => localHour(candidate) >= 22 || localHour(candidate) < 6) as string;
		const reader = await createUser();
		const set = await api("PATCH", "/users/me/preferences", {
			token: reader.token,
			body: { time_zone: zone, locale: "de" },
		});
		expect(set.body).toEqual({ restock_emails: true, locale: "de", time_zone: zone });
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const [id] = await prebookAll([reader], book.id);

		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });

		const { hold_expires_at } = (await api("GET", `/prebooks/${id}`, { token: reader.token })).body;
		const end = new Date(hold_expires_at);
		const local = new Date(end.getTime() + utcOffsetMinutes(zone, end) * 60_000);
		expect([local.getUTCHours(), local.getUTCMinutes()]).toEqual([9, 0]);
		expect(end.getTime()).toBeGreaterThan(inAnHour.getTime());
		expect(end.getTime() - inAnHour.getTime()).toBeLessThan(12 * 3600_000);
	});

	it("a round's prebook.offered events and queue messages name each reader's own hold end: night and day readers apart", async () => {
		const inAnHour = new Date(Date.now() + 3600_000);
		const localHour = (zone: string) =>
			(inAnHour.getUTCHours() + utcOffsetMinutes(zone, inAnHour) / 60 + 24) % 24;
		const zones = ZONES_AROUND_THE_CLOCK;
		const night = zones.find((zone) => localHour(zone) >= 22 || localHour(zone) < 6) as string;
		const day = zones.find((zone) => localHour(zone) >= 10 && localHour(zone) < 19) as string;
		const queue = stubQueue();
		const [sleeper, waker] = [await createUser(), await createUser()];
		for (const [reader, zone] of [
			[sleeper, night],
			[waker, day],
		] as const) {
			await api("PATCH", "/users/me/preferences", { token: reader.token, body: { time_zone: zone } });
		}
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			hold_hours: 1,
		});
		const ids = await prebookAll([sleeper, waker], book.id);

		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });

		const holds = await Promise.all(
			ids.map(async (id, i) => {
				const token = [sleeper, waker][i]?.token as string;
				return (await api("GET", `/prebooks/${id}`, { token })).body.hold_expires_at as string;
			}),
		);
		expect(holds[0]).not.toBe(holds[1]);
		const events = (
			await api("GET", "/admin/events?types=prebook.offered&limit=100", { token: admin.token })
		).body.items.filter((item: { data: { book_id: number } }) => item.data.book_id === book.id);
		// One event per hold end, each naming the readers whose hold ends then — one round.
		expect(
			events.map((item: { data: { prebook_ids: number[]; hold_expires_at: string } }) => [
				item.data.prebook_ids,
				item.data.hold_expires_at,
			]),
		).toEqual(
			expect.arrayContaining([
				[[ids[0]], holds[0]],
				[[ids[1]], holds[1]],
			]),
		);
		expect(events).toHaveLength(2);
		// So do the queue's messages, which the offer emails are sent from.
		const offered = (queue.published() as PrebookMessage[]).filter(
			(m): m is PrebookOfferedMessage => m.type === "prebook.offered" && m.book_id === book.id,
		);
		expect(offered.map((m) => [m.user_ids, m.hold_expires_at])).toEqual(
			expect.arrayContaining([
				[[sleeper.id], holds[0]],
				[[waker.id], holds[1]],
			]),
		);
		expect(offered).toHaveLength(2);
		expect(
			new Set(events.map((item: { data: { offer_round_id: number } }) => item.data.offer_round_id)).size,
		).toBe(1);
	});

	it("validates the time zone and the language", async () => {
		const reader = await createUser();
		for (const body of [
			{ time_zone: "Mars/Olympus" },
			{ time_zone: "" },
			{ time_zone: "+02:00" },
			{ time_zone: "-0500" },
			{ locale: "xx" },
		]) {
			expectError(
				await api("PATCH", "/users/me/preferences", { token: reader.token, body }),
				422,
				"VALIDATION_ERROR",
				Object.keys(body)[0],
			);
		}
		expect((await api("GET", "/users/me/preferences", { token: reader.token })).body).toEqual({
			restock_emails: true,
			locale: "en",
			time_zone: "UTC",
		});
	});

	it("keeps the zone as the reader named it: an alias stays that alias, only the letter case is fixed", async () => {
		const reader = await createUser();
		for (const [sent, kept] of [
			["Europe/Kyiv", "Europe/Kyiv"],
			["US/Pacific", "US/Pacific"],
			["europe/berlin", "Europe/Berlin"],
		]) {
			const set = await api("PATCH", "/users/me/preferences", {
				token: reader.token,
				body: { time_zone: sent },
			});
			expect(set.status, sent).toBe(200);
			expect(set.body.time_zone, sent).toBe(kept);
			expect((await api("GET", "/users/me/preferences", { token: reader.token })).body.time_zone).toBe(kept);
		}
	});
});

describe("language", () => {
	it("takes the best supported language of Accept-Language, else English", () => {
		expect(preferredLocale("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7")).toBe("fr");
		expect(preferredLocale("es, de-AT;q=0.5")).toBe("de");
		expect(preferredLocale("en;q=0.1, de;q=0.9")).toBe("de");
		expect(preferredLocale("de;q=0, fr;q=0.2")).toBe("fr");
		expect(preferredLocale("ja")).toBe("en");
		expect(preferredLocale(undefined)).toBe("en");
	});
});
