/**
 * One-click unsubscribe (RFC 8058): the links in every restock and hold email. No login — the token is
 * the authority (signed, see prebook-emails/unsubscribe-token.ts). POST cancels the pre-booking the email
 * was about (a held copy goes to the next in line in the same batch) and, for an "all" token, turns the
 * reader's restock emails off; repeating it changes nothing more.
 */
import { and, eq, sql } from "drizzle-orm";
import { books, preBookings, users, works } from "../../db/schema.ts";
import { batch, noStatement } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import type { UnsubscribeClaims } from "../../prebook-emails/unsubscribe-token.ts";
import type { Outcome } from "../allocation/outcome.ts";
import { cancelStatements } from "../prebooks/prebooks.service.ts";
import type { UnsubscribeView } from "./unsubscribe.schemas.ts";

/**
 * The link's pre-booking as the page needs it: its book's title (a work pre-booking still waiting names its
 * work's) and whether it is still open (a builder: alone or in a batch).
 */
const prebookOf = (db: Db, claims: UnsubscribeClaims) =>
	db
		.select({
			title: sql<string | null>`coalesce(${books.title}, ${works.title})`,
			open: sql<number>`${preBookings.status} IN ('waiting', 'notified', 'offered')`,
		})
		.from(preBookings)
		.leftJoin(books, eq(books.id, preBookings.bookId))
		.leftJoin(works, eq(works.id, preBookings.workId))
		.where(and(eq(preBookings.id, claims.prebookId), eq(preBookings.userId, claims.userId)));

/** The language of the link's reader (their preferences; the pages speak it). */
const localeOf = (db: Db, claims: UnsubscribeClaims) =>
	db.select({ locale: users.locale }).from(users).where(eq(users.id, claims.userId));

/** What the link is about, for the page (the pre-booking's book, if it still exists), in one round trip. */
export async function describeUnsubscribe(db: Db, claims: UnsubscribeClaims): Promise<UnsubscribeView> {
	const { prebook, reader } = await batch(db, {
		prebook: prebookOf(db, claims),
		reader: localeOf(db, claims),
	});
	return viewOf(claims, prebook[0], reader[0]);
}

const viewOf = (
	claims: UnsubscribeClaims,
	prebook: { title: string | null; open: number } | undefined,
	reader: { locale: string } | undefined,
): UnsubscribeView => ({
	scope: claims.scope,
	bookTitle: prebook?.title ?? null,
	locale: reader?.locale ?? null,
	closed: !prebook?.open,
});

/**
 * One round trip: cancel (the engine passes a held copy on, as `DELETE /prebooks/{id}` does), turn emails off for
 * "all", read back for the page.
 */
export async function unsubscribe(
	db: Db,
	claims: UnsubscribeClaims,
): Promise<{ view: UnsubscribeView; outcome: Outcome }> {
	const { before, cancel, reader } = await withUniqueNow((now) =>
		batch(db, {
			// As it was before this click: open means this click cancels it.
			before: prebookOf(db, claims),
			cancel: cancelStatements(db, claims.userId, claims.prebookId, now),
			reader: localeOf(db, claims),
			emailsOff:
				claims.scope === "all"
					? db.update(users).set({ restockEmails: false, updatedAt: now }).where(eq(users.id, claims.userId))
					: noStatement(),
		}),
	);
	return { view: viewOf(claims, before[0], reader[0]), outcome: cancel.allocation };
}
