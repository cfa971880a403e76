/**
 * A guest's pre-booking (API.md, Pre-bookings rule 15; docs/accounts.md): `POST /prebooks/guest` emails a
 * confirmation link to the address, under per-address and per-network limits; following it
 * (`POST /prebooks/guest/confirm`, or the page behind the link) makes the pre-booking under the same rules
 * as a signed-in reader's (rules.ts), on the address's account — a new guest account when it has none, and
 * never a registered account not verified yet (`ACCOUNT_NOT_VERIFIED`).
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { books, emailTokens, preBookings, works } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, rateLimited } from "../../lib/errors.ts";
import { hashToken, newSecretToken } from "../../lib/tokens.ts";
import { maskOf } from "../allocation/line.ts";
import { type Outcome, outcomeOf } from "../allocation/outcome.ts";
import { crossedEvents, demandAlertWatch } from "../webhooks/webhook-events.ts";
import type { PrebookView } from "./prebooks.schemas.ts";
import { prebookViews } from "./prebooks.service.ts";
import {
	acceptedEditionInStock,
	acceptedMask,
	assertPrebookable,
	availableCopies,
	diagnosePrebook,
	fieldOf,
	formatsOfEditions,
	insertPrebook,
	type PrebookTarget,
	refuse,
	type TargetSql,
} from "./rules.ts";

/**
 * Guest confirmation links: 24 hours. At most 3 an hour and 10 a day to one address, whoever asks (API.md,
 * Auth: an address that asked for nothing is not bombed; beyond, nothing is sent and the answer is the same
 * 202), and 20 an hour from one network (429: that is the asker's own limit).
 */
const GUEST_LINK_TTL_MS = 24 * 60 * 60 * 1000;
const GUEST_LINKS_PER_ADDRESS_PER_HOUR = 3;
const GUEST_LINKS_PER_ADDRESS_PER_DAY = 10;
const GUEST_LINKS_PER_NETWORK_PER_HOUR = 20;
const HOUR_MS = 60 * 60 * 1000;

/** A guest confirmation to email: the link's token, until when it works, and who reads it. */
export interface GuestLinkRequest {
	title: string;
	/** Null when the address has had its confirmation emails for now: nothing is sent. */
	link: { token: string; expiresAt: string; reader: { locale: string; timeZone: string } } | null;
}

/**
 * `POST /prebooks/guest`, one round trip: a confirmation link for (address, book), if the book exists, has
 * no available copy, and the limits allow — all conditions of the INSERT, so parallel requests cannot
 * overshoot them. Whether the address has an account changes nothing here (no enumeration): the link
 * decides at confirmation. `link` is null when the address has had its emails for now: the caller sends
 * nothing and answers as if it had. The links are the ledger: a day of them is all the limits read, and
 * the cron purges them when they expire.
 */
export async function requestGuestPrebook(
	db: Db,
	/** `locale`: the asking request's language, used when the address has no account. */
	request: { email: string; target: PrebookTarget; network: string; locale: string },
): Promise<GuestLinkRequest> {
	const token = newSecretToken();
	const now = new Date();
	const hourAgo = new Date(now.getTime() - HOUR_MS).toISOString();
	const dayAgo = new Date(now.getTime() - 24 * HOUR_MS).toISOString();
	const toAddressSince = (since: string) => sql`(SELECT count(*) FROM email_tokens
		WHERE email = ${request.email} AND purpose = 'guest_prebook' AND created_at > ${since})`;
	// A request without a usable client address counts in one shared "" bucket: never unlimited.
	const fromNetwork = sql`email_tokens WHERE network = ${request.network} AND purpose = 'guest_prebook'
		AND created_at > ${hourAgo}`;
	const { target } = request;
	const limits = sql`(SELECT count(*) FROM ${fromNetwork}) < ${GUEST_LINKS_PER_NETWORK_PER_HOUR}
		AND ${toAddressSince(hourAgo)} < ${GUEST_LINKS_PER_ADDRESS_PER_HOUR}
		AND ${toAddressSince(dayAgo)} < ${GUEST_LINKS_PER_ADDRESS_PER_DAY}`;
	const link = sql`${await hashToken(token)}, 'guest_prebook', ${request.email}`;
	const times = sql`${request.network}, ${now.toISOString()}, ${new Date(now.getTime() + GUEST_LINK_TTL_MS).toISOString()}`;
	// The formats are resolved when the link is confirmed (the work's editions of that moment by default).
	const mask = "bookId" in target || !target.formats ? null : maskOf(target.formats);
	// The address's account speaks for its reader when there is one; else the asker's language, UTC.
	const locale = sql`coalesce((SELECT locale FROM users WHERE email = ${request.email}), ${request.locale})`;
	const timeZone = sql`coalesce((SELECT time_zone FROM users WHERE email = ${request.email}), 'UTC')`;
	// Rule 1 only: nothing the address's account holds changes the answer (no enumeration); rules 2 and 3
	// are the confirmation's.
	const b = sql`b`;
	// The formats a work target accepts (the book target's own: 1, as in the signed-in diagnosis).
	const accepted = "bookId" in target ? sql`1` : acceptedMask(target);
	const networkState = sql`(SELECT count(*) FROM ${fromNetwork}) AS from_network,
		(SELECT min(created_at) FROM ${fromNetwork}) AS oldest, ${timeZone} AS time_zone`;
	const { issued, diagnosis } = await batch(db, {
		// In the language of the address's account when it has one (its preferences), else the asker's.
		issued: rawQuery<{ locale: string; expires_at: string }>(
			"bookId" in target
				? sql`INSERT INTO email_tokens
						(token_hash, purpose, email, book_id, network, created_at, expires_at, locale)
					SELECT ${link}, b.id, ${times}, ${locale}
					FROM books AS b WHERE b.id = ${target.bookId} AND ${availableCopies(b)} = 0 AND ${limits}
					RETURNING locale, expires_at`
				: sql`INSERT INTO email_tokens
						(token_hash, purpose, email, work_id, formats_mask, network, created_at, expires_at, locale)
					SELECT ${link}, w.id, ${mask}, ${times}, ${locale}
					FROM works AS w WHERE w.id = ${target.workId} AND ${limits}
						AND ${accepted} > 0 AND NOT ${acceptedEditionInStock(sql`w.id`, accepted)}
					RETURNING locale, expires_at`,
		),
		// Which rule refused (same transaction): the book's or work's, then the network's; else the address's.
		diagnosis: rawQuery<{
			title: string;
			available: number;
			mask: number;
			from_network: number;
			oldest: string | null;
			time_zone: string;
		}>(
			"bookId" in target
				? sql`SELECT b.title, ${availableCopies(b)} AS available, ${accepted} AS mask, ${networkState}
					FROM books AS b WHERE b.id = ${target.bookId}`
				: sql`SELECT w.title, ${acceptedEditionInStock(sql`w.id`, accepted)} AS available,
						${accepted} AS mask, ${networkState}
					FROM works AS w WHERE w.id = ${target.workId}`,
		),
	});
	const found = diagnosis[0];
	assertPrebookable(fieldOf(target), found);
	const issuedLink = issued[0];
	if (issuedLink) {
		const reader = { locale: issuedLink.locale, timeZone: found.time_zone };
		return { title: found.title, link: { token, expiresAt: issuedLink.expires_at, reader } };
	}
	if (found.from_network >= GUEST_LINKS_PER_NETWORK_PER_HOUR) {
		const oldest = found.oldest ? Date.parse(found.oldest) : now.getTime();
		throw rateLimited(
			"Too many confirmation emails from here; try again later",
			oldest + HOUR_MS,
			now.getTime(),
		);
	}
	return { title: found.title, link: null };
}

/**
 * `POST /prebooks/guest/confirm`, one round trip. Following the link proves the address: a new address
 * gets a passwordless guest account, and the pre-booking is created under the same rules as `createPrebook`
 * — evaluated inside the statements — on the account of that address. A registered account that is not
 * verified yet is left alone (400): the link proves the mailbox, not that whoever registered the address
 * (and holds its password) is its owner, so it neither verifies that account nor puts the owner's
 * pre-booking where the registrant can read it.
 *
 * The link is single use: every statement acts only on a link still unused, and the last one spends it
 * (`used_at IS NULL` in its own WHERE). Batches do not interleave, so of two confirmations of one link the
 * first does the work and spends it, and the second finds it used — 400, nothing created, also long after
 * (a replay once the guest cancelled makes no new pre-booking).
 */
export async function confirmGuestPrebook(
	db: Db,
	token: string,
	/** A new guest account's language: the confirming request's, else the one the link was issued in. */
	locale: string | null = null,
): Promise<{ prebook: PrebookView; outcome: Outcome }> {
	const now = new Date().toISOString();
	const tokenHash = await hashToken(token);
	const unused = sql`token_hash = ${tokenHash} AND purpose = 'guest_prebook' AND expires_at > ${now}
		AND used_at IS NULL`;
	const link = sql`SELECT email, book_id, work_id, formats_mask, locale FROM email_tokens WHERE ${unused}`;
	const owner = sql`(SELECT id FROM users WHERE email = (SELECT email FROM (${link})))`;
	const bookOfLink = sql`(SELECT book_id FROM (${link}))`;
	const workOfLink = sql`(SELECT work_id FROM (${link}))`;
	// A link names a book or a work: the other target is NULL, and its statements match nothing.
	const bookTarget: TargetSql = { bookId: bookOfLink };
	const workTarget: TargetSql = {
		workId: workOfLink,
		mask: sql`coalesce((SELECT formats_mask FROM (${link})), ${formatsOfEditions(sql`w.id`)})`,
	};
	const trusted = sql`u.id = ${owner} AND u.is_active = 1 AND u.email_verified = 1`;
	// The link's book or its work's editions, used or not (it is spent before `after` reads).
	const demand = demandAlertWatch(
		sql`SELECT book_id FROM email_tokens WHERE token_hash = ${tokenHash} AND purpose = 'guest_prebook'
			UNION SELECT e.id FROM email_tokens AS t JOIN books AS e ON e.work_id = t.work_id
			WHERE t.token_hash = ${tokenHash} AND t.purpose = 'guest_prebook'`,
	);
	const { demandBefore, insertedBook, insertedWork, created, diagnosis, bookState, workState, demandAfter } =
		await batch(db, {
			// The line grows by one: the demand alert's trigger may record a crossing (webhook-events.ts).
			demandBefore: demand.before,
			guestAccount: rawQuery(sql`INSERT INTO users
				(email, password_hash, is_guest, email_verified, locale, created_at, updated_at)
			SELECT email, '!guest', 1, 1, coalesce(${locale}, locale, 'en'), ${now}, ${now} FROM (${link}) WHERE true
			ON CONFLICT (email) DO NOTHING`),
			insertedBook: rawQuery<{ id: number }>(insertPrebook(bookTarget, trusted, now)),
			insertedWork: rawQuery<{ id: number }>(insertPrebook(workTarget, trusted, now)),
			created: prebookViews(db)
				.where(
					and(
						sql`${preBookings.userId} = ${owner}`,
						eq(preBookings.status, "waiting"),
						sql`((${preBookings.bookId} = ${bookOfLink} AND ${preBookings.workId} IS NULL)
						OR (${preBookings.workId} = ${workOfLink} AND ${preBookings.bookId} IS NULL))`,
					),
				)
				.orderBy(desc(preBookings.id))
				.limit(1),
			// Why a genuine link made no pre-booking, in POST /prebooks' precedence (same transaction, before
			// the link is spent).
			diagnosis: rawQuery<{
				link_valid: number;
				active: number | null;
				verified: number | null;
				work: number;
			}>(sql`
			SELECT EXISTS (${link}) AS link_valid,
				(SELECT is_active FROM users WHERE id = ${owner}) AS active,
				(SELECT email_verified FROM users WHERE id = ${owner}) AS verified,
				${workOfLink} IS NOT NULL AS work`),
			bookState: diagnosePrebook(bookTarget, owner),
			workState: diagnosePrebook(workTarget, owner),
			// Spent whatever the outcome: a duplicate (rule 2's index) inserts nothing rather than failing the batch.
			spent: rawQuery(sql`UPDATE email_tokens SET used_at = ${now} WHERE ${unused}`),
			demandAfter: demand.after,
		});
	if ((insertedBook.length > 0 || insertedWork.length > 0) && created[0]) {
		return {
			prebook: created[0],
			outcome: outcomeOf({ webhookEventIds: crossedEvents(demandBefore, demandAfter) }),
		};
	}
	const state = diagnosis[0];
	if (!state?.link_valid || state.active !== 1) throw invalidGuestLink();
	if (state.verified !== 1) {
		throw new AppError("AUTH_INVALID_TOKEN", ACCOUNT_NOT_VERIFIED, "token", { status: 400 });
	}
	// Which target the link named decides which diagnosis speaks.
	if (state.work) refuse("work_id", workState[0]);
	refuse("book_id", bookState[0]);
}

/** Why a live guest link made nothing: its address belongs to a registered account not verified yet. */
export const ACCOUNT_NOT_VERIFIED =
	"This address belongs to an account that is not verified: reset its password (POST /auth/password/forgot) or finish a sign-up of the address, then pre-book signed in";

const invalidGuestLink = () =>
	new AppError("AUTH_INVALID_TOKEN", "This link is unknown, used or expired", "token", { status: 400 });

/**
 * A guest confirmation link, for the page behind it, or null when unknown (never issued, or purged after it
 * expired): the language it was issued in (the page speaks it, a refusal too) and, only while it can still
 * be used (unused, not expired), the address and the book's title. A read, nothing changes (mail scanners
 * follow links).
 */
export async function guestLinkOf(
	db: Db,
	token: string,
): Promise<{ locale: string | null; usable: { email: string; title: string } | null } | null> {
	const [link] = await db
		.select({
			email: emailTokens.email,
			title: sql<string>`coalesce(${books.title}, ${works.title})`,
			locale: emailTokens.locale,
			usable: sql<number>`${emailTokens.usedAt} IS NULL AND ${emailTokens.expiresAt} > ${new Date().toISOString()}`,
		})
		.from(emailTokens)
		// A link names a book or a work.
		.leftJoin(books, eq(books.id, emailTokens.bookId))
		.leftJoin(works, eq(works.id, emailTokens.workId))
		.where(and(eq(emailTokens.tokenHash, await hashToken(token)), eq(emailTokens.purpose, "guest_prebook")));
	if (!link) return null;
	return { locale: link.locale, usable: link.usable ? { email: link.email, title: link.title } : null };
}
