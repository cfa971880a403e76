/**
 * Readers' time zones (API.md, preferences): which are accepted, a zone's offset from UTC (what SQL
 * needs, since SQLite knows no zones), and quiet hours (rule 13) as SQL over that offset. Languages:
 * src/i18n/.
 */
import { type SQL, sql } from "drizzle-orm";

/** An IANA zone the runtime knows (workerd's Intl has the IANA database), in its canonical spelling. */
export function canonicalTimeZone(zone: string): string | null {
	try {
		return new Intl.DateTimeFormat("en", { timeZone: zone }).resolvedOptions().timeZone;
	} catch {
		return null;
	}
}

/**
 * A time zone a reader may choose (API.md: an IANA name such as `Europe/Berlin`), as they spelled it — an
 * alias the database knows stays that alias (`Europe/Kyiv`, which the runtime's ICU calls `Europe/Kiev`;
 * `US/Pacific`) — or null. A name that differs from the runtime's own only in letter case takes the
 * runtime's (`europe/berlin`); an alias keeps the letter case it was sent in (the runtime knows no other
 * spelling of it; zone lookups ignore case). An offset such as `+02:00`, which the runtime also accepts as
 * a zone, is not an IANA name.
 */
export function ianaTimeZone(zone: string): string | null {
	if (!/^[A-Za-z]/.test(zone)) return null;
	const canonical = canonicalTimeZone(zone);
	if (canonical === null) return null;
	return canonical.toLowerCase() === zone.toLowerCase() ? canonical : zone;
}

/** The zone's offset from UTC at `at`, in minutes (east positive): Berlin in winter is 60. */
export function utcOffsetMinutes(zone: string, at: Date = new Date()): number {
	const parts = new Intl.DateTimeFormat("en-US", {
		timeZone: zone,
		hourCycle: "h23",
		year: "numeric",
		month: "2-digit",
		day: "2-digit",
		hour: "2-digit",
		minute: "2-digit",
	}).formatToParts(at);
	const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
	const local = Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"));
	return Math.round((local - Math.floor(at.getTime() / 60_000) * 60_000) / 60_000);
}

/** Quiet hours (rule 13): a hold never ends between 21:00 and 09:00 where the reader is. */
const QUIET_FROM_HOUR = 21;
const QUIET_UNTIL_HOUR = 9;

/**
 * `expires` (an ISO UTC timestamp in SQL) moved out of the reader's quiet hours: a time from 21:00 to 09:00
 * local becomes the next 09:00 there (the same morning after midnight, the next morning before it).
 * `offset` is the reader's `utc_offset_minutes`.
 */
export const outsideQuietHours = (expires: SQL, offset: SQL) => {
	const local = sql`datetime(${expires}, ${offset} || ' minutes')`;
	const hour = sql`CAST(strftime('%H', ${local}) AS INTEGER)`;
	// 09:00 local on that day, back in UTC.
	const morning = (day: SQL) =>
		sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${day} || ' 09:00:00', (-${offset}) || ' minutes')`;
	return sql`CASE
		WHEN ${hour} >= ${QUIET_FROM_HOUR} THEN ${morning(sql`date(${local}, '+1 day')`)}
		WHEN ${hour} < ${QUIET_UNTIL_HOUR} THEN ${morning(sql`date(${local})`)}
		ELSE ${expires} END`;
};
