/**
 * One-click unsubscribe (RFC 8058): the links in every restock and hold email. No login — the token is
 * the authority (signed, see prebook-emails/unsubscribe-token.ts). POST cancels the pre-booking the email
 * was about (a held copy goes to the next in line in the same batch) and, for an "all" token, turns the
 * reader's restock emails off; repeating it changes nothing more.
 */
import { and, eq, sql } from "drizzle-orm";
import { books, preBookings, users } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import type { UnsubscribeClaims } from "../../prebook-emails/unsubscribe-token.ts";
import type { Outcome } from "../allocation/outcome.ts";
import { cancelStatements } from "../prebooks/prebooks.service.ts";
import type { UnsubscribeView } from "./unsubscribe.schemas.ts";

/** The title of the book the link's pre-booking is about (a builder: alone or in a batch). */
const titleOf = (db: Db, claims: UnsubscribeClaims) =>
	db
		.select({ title: books.title })
		.from(preBookings)
		.innerJoin(books, eq(books.id, preBookings.bookId))
		.where(and(eq(preBookings.id, claims.prebookId), eq(preBookings.userId, claims.userId)));

/** The language of the link's reader (their preferences; the pages speak it). */
const localeOf = (db: Db, claims: UnsubscribeClaims) =>
	db.select({ locale: users.locale }).from(users).where(eq(users.id, claims.userId));

/** What the link is about, for the page (the pre-booking's book, if it still exists), in one round trip. */
export async function describeUnsubscribe(db: Db, claims: UnsubscribeClaims): Promise<UnsubscribeView> {
	const { title, reader } = await batch(db, { title: titleOf(db, claims), reader: localeOf(db, claims) });
	return { scope: claims.scope, bookTitle: title[0]?.title ?? null, locale: reader[0]?.locale ?? null };
}

/**
 * One round trip: cancel (the engine passes a held copy on, as `DELETE /prebooks/{id}` does), turn emails off for
 * "all", read back for the page.
 */
export async function unsubscribe(
	db: Db,
	claims: UnsubscribeClaims,
): Promise<{ view: UnsubscribeView; outcome: Outcome }> {
	const { cancel, title, reader } = await withUniqueNow((now) =>
		batch(db, {
			cancel: cancelStatements(db, claims.userId, claims.prebookId, now),
			title: titleOf(db, claims),
			reader: localeOf(db, claims),
			emailsOff:
				claims.scope === "all"
					? db.update(users).set({ restockEmails: false, updatedAt: now }).where(eq(users.id, claims.userId))
					: rawQuery(sql`SELECT 1 WHERE false`),
		}),
	);
	return {
		view: { scope: claims.scope, bookTitle: title[0]?.title ?? null, locale: reader[0]?.locale ?? null },
		outcome: cancel.allocation,
	};
}
