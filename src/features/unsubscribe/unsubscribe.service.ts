/**
 * One-click unsubscribe (RFC 8058): the links in every restock and hold email. No login — the token is
 * the authority (signed, see notifications/unsubscribe-token.ts). POST cancels the pre-booking the email
 * was about (a held copy goes to the next in line in the same batch) and, for an "all" token, turns the
 * reader's restock emails off; repeating it changes nothing more.
 */
import { and, eq, sql } from "drizzle-orm";
import { books, preBookings, users } from "../../db/schema.ts";
import { batch, type Db, rawQuery } from "../../lib/db.ts";
import type { UnsubscribeClaims } from "../../notifications/unsubscribe-token.ts";
import { type OfferRound, offerHeldCopies, offerRoundOf, recountHeld } from "../prebooks/allocation.ts";
import type { UnsubscribeView } from "./unsubscribe.schemas.ts";

/** What the link is about, for the page (the pre-booking's book, if it still exists). */
export async function describeUnsubscribe(db: Db, claims: UnsubscribeClaims): Promise<UnsubscribeView> {
	const [row] = await db
		.select({ title: books.title })
		.from(preBookings)
		.innerJoin(books, eq(books.id, preBookings.bookId))
		.where(and(eq(preBookings.id, claims.prebookId), eq(preBookings.userId, claims.userId)));
	return { scope: claims.scope, bookTitle: row?.title ?? null };
}

/** One round trip: cancel (and pass a held copy on), turn emails off for "all", read back for the page. */
export async function unsubscribe(
	db: Db,
	claims: UnsubscribeClaims,
): Promise<{ view: UnsubscribeView; offers: OfferRound | null }> {
	const now = new Date().toISOString();
	const bookOf = sql`SELECT book_id FROM pre_bookings WHERE id = ${claims.prebookId} AND user_id = ${claims.userId}`;
	const [, , round, offered, offeredEvents, , , title] = await batch(db, [
		rawQuery(sql`UPDATE pre_bookings SET status = 'cancelled', cancelled_at = ${now}
			WHERE id = ${claims.prebookId} AND user_id = ${claims.userId}
				AND status IN ('waiting', 'notified', 'offered')`),
		recountHeld(bookOf),
		...offerHeldCopies(bookOf, "cancel", now),
		db
			.update(users)
			.set({ restockEmails: false, updatedAt: now })
			.where(and(eq(users.id, claims.userId), sql`${claims.scope === "all" ? 1 : 0} = 1`)),
		db
			.select({ title: books.title })
			.from(preBookings)
			.innerJoin(books, eq(books.id, preBookings.bookId))
			.where(and(eq(preBookings.id, claims.prebookId), eq(preBookings.userId, claims.userId))),
	]);
	return {
		view: { scope: claims.scope, bookTitle: title[0]?.title ?? null },
		offers: offerRoundOf(round, offered, offeredEvents),
	};
}
