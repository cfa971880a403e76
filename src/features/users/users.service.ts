/**
 * Accounts as admins and their owners see them. Every rule that protects the store's administration is
 * decided inside the statement that changes a user, never read beforehand: the caller guard (lib/db.ts)
 * re-checks the acting admin in the same transaction, and the last-admin condition is part of the UPDATE,
 * so two admins demoting each other at once can never leave the store without an active admin.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema.ts";
import { batch, noStatement, rawQuery } from "../../lib/batch.ts";
import { withUniqueNow } from "../../lib/clock.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { passwordAttempt } from "../../lib/login-limits.ts";
import { verifyPassword } from "../../lib/password.ts";
import { containsText } from "../../lib/sql.ts";
import { canonicalTimeZone, utcOffsetMinutes } from "../../lib/time-zone.ts";
import { allocate, booksIn, linesOfReader } from "../allocation/engine.ts";
import { forgetHandedBackRounds, handBackOffers, linesOfPrebookings } from "../allocation/line.ts";
import { NOTHING, type Outcome, outcomeOf } from "../allocation/outcome.ts";
import { crossedEvents, demandAlertWatch } from "../webhooks/webhook-events.ts";
import type { AccountExportView, PreferencesView, UserView } from "./users.schemas.ts";

/** The columns of a `UserView`. */
export const userColumns = {
	id: users.id,
	email: users.email,
	fullName: users.fullName,
	role: users.role,
	isActive: users.isActive,
	emailVerified: users.emailVerified,
	createdAt: users.createdAt,
};

const userNotFound = () => new AppError("USER_NOT_FOUND", "No user with this id", "id");

export async function getUser(db: Db, userId: number): Promise<UserView> {
	const user = await db.select(userColumns).from(users).where(eq(users.id, userId)).get();
	if (!user) throw userNotFound();
	return user;
}

export function listUsers(db: Db, query: { q?: string; afterId?: number; limit: number }) {
	return db
		.select(userColumns)
		.from(users)
		.where(
			and(
				query.q ? containsText(users.email, query.q) : undefined,
				query.afterId !== undefined ? gt(users.id, query.afterId) : undefined,
			),
		)
		.orderBy(users.id)
		.limit(query.limit + 1);
}

/**
 * True inside SQL when changing `users` row to (role, active) would take away the store's last active
 * admin. Evaluated in the UPDATE's own WHERE, against the transaction's view of the table.
 */
const leavesNoActiveAdmin = (role: "user" | "admin" | undefined, isActive: boolean | undefined) => sql`(
	${users.role} = 'admin' AND ${users.isActive} = 1
	AND (${role ?? null} = 'user' OR ${isActive === undefined ? null : Number(isActive)} = 0)
	AND (SELECT count(*) FROM users AS admins WHERE admins.role = 'admin' AND admins.is_active = 1) <= 1)`;

/**
 * An admin may change anyone but itself (ADMIN_SELF_MODIFICATION, checked first), never the last active
 * admin (ADMIN_LAST), and never an erased account (USER_ERASED: it can never again be active or admin).
 * Both rules are conditions of the UPDATE. Deactivation bumps the token version, which ends every access
 * token issued before it (a reactivation does not revive them), and revokes the refresh tokens — all in one
 * batch.
 */
export async function updateUser(
	db: Db,
	actorId: number,
	userId: number,
	patch: { isActive?: boolean; role?: "user" | "admin" },
): Promise<{ user: UserView; outcome: Outcome }> {
	if (userId === actorId && (patch.isActive === false || patch.role === "user")) {
		throw new AppError(
			"ADMIN_SELF_MODIFICATION",
			"An admin cannot deactivate or demote its own account",
			patch.isActive === false ? "is_active" : "role",
		);
	}
	if (patch.isActive === undefined && patch.role === undefined)
		return { user: await getUser(db, userId), outcome: NOTHING };
	const deactivating = patch.isActive === false;
	// A deactivation puts the reader's offers back in line, which can make a line reach its demand alert:
	// the lines of their offers, before and after (back in line, their round still kept). Read for any change
	// (a few rows): only a deactivation moves them.
	const demand = demandAlertWatch(
		linesOfPrebookings(sql`SELECT id FROM pre_bookings WHERE user_id = ${userId}
			AND (status = 'offered' OR (status IN ('waiting', 'notified') AND offer_round_id IS NOT NULL))`),
	);
	const { updated, found, allocation, demandBefore, demandAfter } = await withUniqueNow((now) =>
		batch(db, {
			demandBefore: demand.before,
			updated: db
				.update(users)
				.set({
					isActive: patch.isActive,
					role: patch.role,
					updatedAt: now,
					tokenVersion: deactivating ? sql`${users.tokenVersion} + 1` : undefined,
				})
				.where(
					and(
						eq(users.id, userId),
						isNull(users.erasedAt),
						sql`NOT ${leavesNoActiveAdmin(patch.role, patch.isActive)}`,
					),
				)
				.returning(userColumns),
			// Only when the UPDATE above deactivated the user (same transaction, so it sees the new state).
			revoked: db
				.update(refreshTokens)
				.set({ revokedAt: now })
				.where(
					and(
						eq(refreshTokens.userId, userId),
						isNull(refreshTokens.revokedAt),
						deactivating ? sql`(SELECT is_active FROM users WHERE id = ${userId}) = 0` : sql`0`,
					),
				),
			// A deactivated holder cannot buy (403): the copies held for them go on (rule 4: passed over, never
			// dropped) — only when the UPDATE above did deactivate them. Their offers wait again, place kept and
			// no pass spent, and the engine below hands the copies to the next in line.
			...(deactivating
				? handBackOffers(
						sql`FROM pre_bookings WHERE user_id = ${userId} AND status = 'offered'
							AND (SELECT is_active FROM users WHERE id = ${userId}) = 0`,
						now,
					)
				: {}),
			found: db.select({ erasedAt: users.erasedAt }).from(users).where(eq(users.id, userId)),
			// A reactivated reader is servable again (rule 4), a deactivated one's held copies go on: the engine
			// serves the lines they wait in.
			allocation: allocate(linesOfReader(userId, now), deactivating ? "cancel" : "eligible", now),
			demandAfter: demand.after,
			roundsForgotten: deactivating
				? rawQuery(forgetHandedBackRounds(sql`SELECT id FROM pre_bookings WHERE user_id = ${userId}`))
				: noStatement(),
		}),
	);
	const user = updated[0];
	if (user) {
		return {
			user,
			outcome: outcomeOf(allocation, { webhookEventIds: crossedEvents(demandBefore, demandAfter) }),
		};
	}
	const target = found[0];
	if (!target) throw userNotFound();
	if (target.erasedAt !== null) {
		throw new AppError("USER_ERASED", "This account was erased: it can never be active or admin again", "id");
	}
	throw new AppError(
		"ADMIN_LAST",
		"This is the last active admin: promote another user first",
		patch.isActive === false ? "is_active" : "role",
	);
}

const preferenceColumns = {
	restockEmails: users.restockEmails,
	locale: users.locale,
	timeZone: users.timeZone,
};

export async function getPreferences(db: Db, userId: number): Promise<PreferencesView> {
	const [row] = await db.select(preferenceColumns).from(users).where(eq(users.id, userId));
	if (!row) throw userNotFound();
	return row;
}

/**
 * One round trip. A new time zone stores its current UTC offset with it (quiet hours are decided in SQL);
 * restock emails back on make the reader servable again (rule 4): the engine serves their lines.
 */
export async function setPreferences(
	db: Db,
	userId: number,
	change: { restockEmails?: boolean; locale?: string; timeZone?: string },
): Promise<{ preferences: PreferencesView; outcome: Outcome }> {
	const { updated, allocation } = await withUniqueNow((now) =>
		batch(db, {
			updated: db
				.update(users)
				.set({
					...change,
					utcOffsetMinutes: change.timeZone === undefined ? undefined : utcOffsetMinutes(change.timeZone),
					updatedAt: now,
				})
				.where(eq(users.id, userId))
				.returning(preferenceColumns),
			allocation: allocate(linesOfReader(userId, now), "eligible", now),
		}),
	);
	const row = updated[0];
	if (!row) throw userNotFound();
	return { preferences: row, outcome: allocation };
}

/** Cron: each zone's readers get its current UTC offset (a daylight-saving change, within the hour). */
export async function refreshUtcOffsets(db: Db, now: Date): Promise<void> {
	const zones = await db.selectDistinct({ timeZone: users.timeZone }).from(users);
	const offsets = zones.flatMap(({ timeZone }) =>
		canonicalTimeZone(timeZone) === null ? [] : [{ zone: timeZone, offset: utcOffsetMinutes(timeZone, now) }],
	);
	if (offsets.length === 0) return;
	await batch(db, {
		refreshed: rawQuery(sql`UPDATE users SET utc_offset_minutes = o.value ->> 'offset'
			FROM json_each(${JSON.stringify(offsets)}) AS o
			WHERE users.time_zone = o.value ->> 'zone' AND users.utc_offset_minutes <> o.value ->> 'offset'`),
	});
}

/**
 * Everything the bookstore holds about the caller, in one round trip: the account and preferences, every
 * pre-booking, the wishlist, the cart, the orders with their items, and the restock and hold emails (which
 * notification, status, when) — nobody else's rows.
 */
export async function exportAccount(db: Db, userId: number): Promise<AccountExportView> {
	const myEmail = sql`(SELECT email FROM users WHERE id = ${userId})`;
	const { account, prebookings, wishlist, cart, orders, emails, networks, links, failures, sessions } =
		await batch(db, {
			account: db
				.select({ ...userColumns, ...preferenceColumns })
				.from(users)
				.where(eq(users.id, userId)),
			prebookings: rawQuery<
				Record<string, unknown>
			>(sql`SELECT p.id, p.book_id, p.work_id, coalesce(w.title, b.title) AS book_title, p.status, p.created_at,
				p.notified_at, p.offered_at, p.hold_expires_at, p.fulfilled_at, p.expired_at, p.cancelled_at
			FROM pre_bookings AS p LEFT JOIN books AS b ON b.id = p.book_id LEFT JOIN works AS w ON w.id = p.work_id
			WHERE p.user_id = ${userId} ORDER BY p.id`),
			wishlist: rawQuery<Record<string, unknown>>(sql`SELECT w.book_id, b.title AS book_title, w.added_at
			FROM wishlist_items AS w JOIN books AS b ON b.id = w.book_id WHERE w.user_id = ${userId} ORDER BY w.id`),
			cart: rawQuery<
				Record<string, unknown>
			>(sql`SELECT ci.book_id, b.title AS book_title, ci.quantity, ci.created_at
			FROM cart_items AS ci JOIN carts AS c ON c.id = ci.cart_id JOIN books AS b ON b.id = ci.book_id
			WHERE c.user_id = ${userId} ORDER BY ci.id`),
			orders: rawQuery<{
				id: number;
				status: string;
				total_cents: number;
				created_at: string;
				items: string;
			}>(sql`
			SELECT o.id, o.status, o.total_cents, o.created_at,
				(SELECT json_group_array(json_object('book_id', i.book_id, 'title', i.title,
					'unit_price_cents', i.unit_price_cents, 'quantity', i.quantity))
				 FROM order_items AS i WHERE i.order_id = o.id) AS items
			FROM orders AS o WHERE o.user_id = ${userId} ORDER BY o.id`),
			emails: rawQuery<
				Record<string, unknown>
			>(sql`SELECT CASE WHEN d.restock_id IS NOT NULL THEN 'back_in_stock' ELSE 'hold' END AS kind,
				p.book_id, b.title AS book_title, d.status, d.attempts, d.created_at, d.sent_at
			FROM email_deliveries AS d JOIN pre_bookings AS p ON p.id = d.prebook_id JOIN books AS b ON b.id = p.book_id
			WHERE d.user_id = ${userId} ORDER BY d.id`),
			// What the sign-in keeps about the person besides the account: the networks it signed in from, the
			// emailed links asked for the account or its address, the failed logins of the address, and the
			// sessions (refresh tokens: when made, until when; never the token). Anyone may ask a link for an
			// address or fail to log in to it: those rows carry the network of whoever asked, which is not the
			// caller's to see — only what was asked, and when.
			networks: rawQuery<{ network: string; last_login_at: string }>(sql`SELECT network, last_login_at
			FROM login_networks WHERE user_id = ${userId} ORDER BY id`),
			links: rawQuery<{
				purpose: string;
				created_at: string;
				expires_at: string;
				used_at: string | null;
			}>(sql`
			SELECT purpose, created_at, expires_at, used_at FROM email_tokens
			WHERE user_id = ${userId} OR email = ${myEmail} ORDER BY id`),
			failures: rawQuery<{ attempted_at: string }>(sql`SELECT attempted_at
			FROM login_attempts WHERE email = ${myEmail} ORDER BY id`),
			sessions: rawQuery<{ created_at: string; expires_at: string; revoked_at: string | null }>(sql`
			SELECT created_at, expires_at, revoked_at FROM refresh_tokens WHERE user_id = ${userId} ORDER BY id`),
		});
	const user = account[0];
	if (!user) throw userNotFound();
	return {
		user,
		prebookings,
		wishlist,
		cart,
		orders: orders.map((order) => ({
			...order,
			items: JSON.parse(order.items) as {
				book_id: number | null;
				title: string;
				unit_price_cents: number;
				quantity: number;
			}[],
		})),
		emails,
		networks,
		links,
		failures,
		sessions,
	};
}

/**
 * `DELETE /users/me`: round trip 1 reserves a password attempt (limited as a login is: 429 past the limits)
 * and reads the password hash (it must be checked before anything changes); round trip 2 is one batch that
 * anonymises, deactivates and marks erased the account (an admin's role goes too) and leaves nothing of the
 * person (API.md, Privacy): no email or name, no client network — the email links and login failures of
 * the address go (guest links carry the address and the network that asked, and no user id), and so do
 * the login networks, refresh tokens, cart and wishlist; every token ends (token version; the caller guard
 * answers an erased account's tokens 401). It cancels the active pre-bookings and runs the engine for
 * their books (each held copy goes to the next in line). Orders stay, for accounting, attached to the
 * anonymous row; webhook payloads and queue messages name users by id only. The last active admin cannot
 * delete itself (409 ADMIN_LAST, decided inside the UPDATE).
 */
export async function eraseAccount(
	db: Db,
	request: { userId: number; password: string; network: string },
): Promise<Outcome> {
	const { userId, password } = request;
	// The password check is limited like a login's, on the same ledger (this account's email, this network).
	const { attempt, account } = await batch(db, {
		attempt: passwordAttempt(
			sql`(SELECT email FROM users WHERE id = ${userId})`,
			request.network,
			new Date(),
		),
		account: db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId)),
	});
	const stored = account[0]?.passwordHash;
	if (!stored || !(await verifyPassword(password, stored))) {
		throw new AppError("AUTH_INVALID_CREDENTIALS", "The password is incorrect", "password");
	}
	// The UPDATE's own condition, so the statements that must run before it (the address is gone after it)
	// delete exactly when it erases: same transaction, same view of the table.
	const erasable = sql`${users.id} = ${userId} AND ${users.erasedAt} IS NULL
		AND NOT ${leavesNoActiveAdmin(undefined, false)}`;
	const ofTheAddress = sql`email = (SELECT email FROM users WHERE id = ${userId})
		AND EXISTS (SELECT 1 FROM users WHERE ${erasable})`;
	const erased = sql`(SELECT erased_at FROM users WHERE id = ${userId}) IS NOT NULL`;
	const { anonymised, allocation } = await withUniqueNow((now) =>
		batch(db, {
			// The right password: its slot is no failure (as a login clears its own), erased or refused alike.
			attemptCleared: rawQuery(sql`DELETE FROM login_attempts WHERE id = ${attempt.slotId}`),
			// Before the address is replaced: every link sent to it (guest links have no user id) and every
			// login failure recorded for it, with the networks they came from.
			addressLinks: rawQuery(sql`DELETE FROM email_tokens WHERE ${ofTheAddress}`),
			addressAttempts: rawQuery(sql`DELETE FROM login_attempts WHERE ${ofTheAddress}`),
			anonymised: db
				.update(users)
				.set({
					email: `deleted-user-${userId}@invalid`,
					fullName: null,
					passwordHash: "!erased",
					isActive: false,
					// An erased account keeps no privilege: nobody can log in to it, so if an admin reactivated the
					// anonymous row it must not count as the store's active admin (ADMIN_LAST would then let the last
					// real admin go). The WHERE below still sees the row as it was (an admin, active).
					role: "user",
					emailVerified: false,
					restockEmails: false,
					tokenVersion: sql`${users.tokenVersion} + 1`,
					erasedAt: now,
					updatedAt: now,
				})
				.where(erasable)
				.returning({ id: users.id }),
			refreshTokens: rawQuery(sql`DELETE FROM refresh_tokens WHERE user_id = ${userId} AND ${erased}`),
			emailTokens: rawQuery(sql`DELETE FROM email_tokens WHERE user_id = ${userId} AND ${erased}`),
			// The networks it logged in from (login limits): no client network of the person stays.
			loginNetworks: rawQuery(sql`DELETE FROM login_networks WHERE user_id = ${userId} AND ${erased}`),
			wishlist: rawQuery(sql`DELETE FROM wishlist_items WHERE user_id = ${userId} AND ${erased}`),
			cart: rawQuery(sql`DELETE FROM carts WHERE user_id = ${userId} AND ${erased}`),
			cancelled: rawQuery(sql`UPDATE pre_bookings SET status = 'cancelled', cancelled_at = ${now}
			WHERE user_id = ${userId} AND ${erased} AND status IN ('waiting', 'notified', 'offered')`),
			// The books whose pre-bookings this batch cancelled: a released hold goes to the next in line.
			allocation: allocate(
				booksIn(sql`SELECT DISTINCT book_id FROM pre_bookings
				WHERE user_id = ${userId} AND status = 'cancelled' AND cancelled_at = ${now}`),
				"cancel",
				now,
			),
		}),
	);
	if (anonymised.length === 0) {
		throw new AppError("ADMIN_LAST", "This is the last active admin: promote another user first");
	}
	return allocation;
}
