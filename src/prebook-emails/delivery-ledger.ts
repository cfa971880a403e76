/**
 * The email ledger (`email_deliveries`): exactly one email per pre-booking and notification — a restock
 * (`prebook.notified`) or an offer round (`prebook.offered`).
 *
 * A consumer claims recipients before sending (`INSERT … ON CONFLICT`), tagging the rows it won with a
 * fresh claim token, and sends only to those; afterwards it marks each sent or failed. A redelivered,
 * retried or republished message finds its sent rows and claims nothing for them. Id lists travel as one
 * JSON parameter through `json_each`, so a message of any size stays within D1's 100-parameter cap.
 */
import { and, eq, sql } from "drizzle-orm";
import { type Allocation, books, emailDeliveries, preBookings, restocks, users } from "../db/schema.ts";
import { batch, rawQuery } from "../lib/batch.ts";
import type { Db } from "../lib/db.ts";
import { PREBOOK_NOTIFIED, type PrebookMessage } from "./messages.ts";

/**
 * A `sending` claim older than this was abandoned by a consumer that died mid-send (a queue invocation
 * runs at most 15 minutes), so another may take it over.
 */
const CLAIM_LEASE_MS = 20 * 60 * 1000;

interface Recipient {
	prebookId: number;
	userId: number;
	email: string;
	fullName: string | null;
	/** The reader's language and time zone (preferences): the email is written in them. */
	locale: string;
	timeZone: string;
	holdExpiresAt: string | null;
}

export interface ClaimedDelivery {
	book: { id: number; title: string; priceCents: number; allocation: Allocation } | null;
	recipients: Recipient[];
	claimToken: string;
}

/** The notification a message belongs to: its ledger column, its id, and the status it gave. */
function notificationOf(message: PrebookMessage) {
	return message.type === PREBOOK_NOTIFIED
		? {
				column: sql.raw("restock_id"),
				id: message.restock_id,
				status: "notified",
				// A restock's waves share its record; each wave is told at its own `notified_at`.
				sameNotice: sql`AND p.notified_at = ${message.notified_at}`,
			}
		: { column: sql.raw("offer_round_id"), id: message.offer_round_id, status: "offered", sameNotice: sql`` };
}

/**
 * Who still gets the email of a message: its users whose pre-booking is still in the state this
 * notification gave it (`notified` by this restock, `offered` by this round) and who are still active.
 * The claim and the dead-lettering both select from here. CROSS JOIN keeps json_each as the outer loop:
 * one indexed lookup per id (idx_pre_bookings_restock_notice / _offer_round_user), never a scan of the
 * notification's (possibly 100,000) pre-bookings per message.
 */
const stillToBeEmailed = (message: PrebookMessage) => {
	const { column, id, status, sameNotice } = notificationOf(message);
	return sql`
	FROM json_each(${JSON.stringify(message.user_ids)}) AS j
	CROSS JOIN pre_bookings AS p
	JOIN users AS u ON u.id = p.user_id
	WHERE p.${column} = ${id} ${sameNotice} AND p.user_id = j.value AND p.book_id = ${message.book_id}
		AND p.status = ${status} AND u.is_active = 1`;
};

/**
 * One round trip: claims the recipients still to be emailed (new rows, rows that failed before, and
 * abandoned claims), then reads the claimed recipients and the book's title and price.
 */
export async function claimRecipients(db: Db, message: PrebookMessage, now: Date): Promise<ClaimedDelivery> {
	const { column } = notificationOf(message);
	const claimToken = crypto.randomUUID();
	const at = now.toISOString();
	const leaseExpired = new Date(now.getTime() - CLAIM_LEASE_MS).toISOString();
	const { recipients, book } = await batch(db, {
		// A reader who turned restock emails off, or whose address is not verified, is recorded `skipped`
		// (and stays so for this notification: verifying later means the next one, never a late email).
		claimed: rawQuery(sql`INSERT INTO email_deliveries
				(prebook_id, ${column}, user_id, status, attempts, claim_token, claimed_at, created_at, updated_at)
			SELECT p.id, p.${column}, p.user_id,
				CASE WHEN u.email_verified = 1 AND u.restock_emails = 1 THEN 'sending' ELSE 'skipped' END,
				1, ${claimToken}, ${at}, ${at}, ${at}
			${stillToBeEmailed(message)}
			ON CONFLICT (prebook_id, ${column}) DO UPDATE SET
				status = excluded.status, attempts = attempts + 1, claim_token = excluded.claim_token,
				claimed_at = excluded.claimed_at, updated_at = excluded.updated_at
			WHERE email_deliveries.status = 'failed'
				OR (email_deliveries.status = 'sending' AND email_deliveries.claimed_at < ${leaseExpired})`),
		recipients: db
			.select({
				prebookId: emailDeliveries.prebookId,
				userId: emailDeliveries.userId,
				email: users.email,
				fullName: users.fullName,
				locale: users.locale,
				timeZone: users.timeZone,
				// The reader's own hold end, as the pre-booking has it now (the message's is the same, unless a later
				// change moved it).
				holdExpiresAt: preBookings.holdExpiresAt,
			})
			.from(emailDeliveries)
			.innerJoin(users, eq(users.id, emailDeliveries.userId))
			.innerJoin(preBookings, eq(preBookings.id, emailDeliveries.prebookId))
			.where(and(eq(emailDeliveries.claimToken, claimToken), eq(emailDeliveries.status, "sending"))),
		book: db
			.select({
				id: books.id,
				title: books.title,
				priceCents: books.priceCents,
				allocation: books.allocation,
			})
			.from(books)
			.where(eq(books.id, message.book_id)),
	});
	return { claimToken, book: book[0] ?? null, recipients };
}

/** One round trip: marks what this claim sent, and what failed with the kind of failure. */
export async function recordOutcomes(
	db: Db,
	claimToken: string,
	sent: number[],
	failed: { prebookId: number; error: string }[],
	now: Date,
): Promise<void> {
	const at = now.toISOString();
	await batch(db, {
		sent: rawQuery(sql`UPDATE email_deliveries SET status = 'sent', sent_at = ${at}, updated_at = ${at}, last_error = NULL
			WHERE claim_token = ${claimToken} AND prebook_id IN (SELECT value FROM json_each(${JSON.stringify(sent)}))`),
		failed:
			rawQuery(sql`UPDATE email_deliveries SET status = 'failed', updated_at = ${at}, last_error = f.value ->> 'error'
			FROM json_each(${JSON.stringify(failed)}) AS f
			WHERE email_deliveries.claim_token = ${claimToken}
				AND email_deliveries.prebook_id = f.value ->> 'prebookId'`),
	});
}

/**
 * For a message that exhausted its retries: every recipient the consumer would still email (pre-booking
 * still notified, user active) and has not (failed, abandoned or never claimed) is recorded `dead`, so an operator sees them in GET /admin/restocks and can replay them.
 */
export async function markDead(db: Db, message: PrebookMessage, now: Date): Promise<number> {
	const { column } = notificationOf(message);
	const at = now.toISOString();
	const { dead } = await batch(db, {
		dead: rawQuery<{ prebook_id: number }>(sql`
			INSERT INTO email_deliveries (prebook_id, ${column}, user_id, status, attempts, created_at, updated_at)
			SELECT p.id, p.${column}, p.user_id,
				CASE WHEN u.email_verified = 1 AND u.restock_emails = 1 THEN 'dead' ELSE 'skipped' END, 0, ${at}, ${at}
			${stillToBeEmailed(message)}
			ON CONFLICT (prebook_id, ${column}) DO UPDATE SET status = 'dead', updated_at = excluded.updated_at
			WHERE email_deliveries.status IN ('failed', 'sending')
			RETURNING prebook_id`),
	});
	return dead.length;
}

/**
 * Replay, in one round trip: a restock's dead deliveries become `failed` again (claimable), the restock
 * goes back to the relay (`published_at` cleared, so a publication that fails is retried by the cron),
 * and the users to republish come back with the restock itself (null when there is no such restock).
 */
export async function reviveDeadDeliveries(
	db: Db,
	restockId: number,
	now: Date,
): Promise<{
	restock: { bookId: number; createdAt: string } | null;
	revived: { user_id: number; notified_at: string }[];
}> {
	const at = now.toISOString();
	const { revived, restock } = await batch(db, {
		revive: rawQuery(sql`UPDATE email_deliveries SET status = 'failed', updated_at = ${at}
			WHERE restock_id = ${restockId} AND status = 'dead'`),
		// Each with the wave (`notified_at`) it was told in: the message of its notice.
		revived: rawQuery<{ user_id: number; notified_at: string }>(sql`
			SELECT p.user_id, p.notified_at FROM email_deliveries AS d JOIN pre_bookings AS p ON p.id = d.prebook_id
			WHERE d.restock_id = ${restockId} AND d.status = 'failed' AND d.updated_at = ${at}
			ORDER BY p.notified_at, p.user_id`),
		// The relay, if it has to, publishes the whole record again (its cursor back at the start).
		backToRelay: rawQuery(sql`UPDATE restocks
			SET published_at = NULL, publish_cursor_at = NULL, publish_cursor_user_id = NULL, publish_moved_at = ${at}
			WHERE id = ${restockId} AND EXISTS (SELECT 1 FROM email_deliveries
				WHERE restock_id = ${restockId} AND status = 'failed' AND updated_at = ${at})`),
		restock: db
			.select({ bookId: restocks.bookId, createdAt: restocks.createdAt })
			.from(restocks)
			.where(eq(restocks.id, restockId)),
	});
	return { restock: restock[0] ?? null, revived };
}
