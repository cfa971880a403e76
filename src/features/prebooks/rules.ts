/**
 * Whether a pre-booking may be made: the rules of API.md (Pre-bookings) as SQL, for every way one is made —
 * signed in (`createPrebook`) and through a guest's link (`requestGuestPrebook` checks the book or work
 * before it sends the link, `confirmGuestPrebook` every rule when the link is followed).
 * A pre-booking names a book (an edition) or a work (any edition of an accepted format).
 *  1. a book can be pre-booked only while its available copies (`stock − held`) are 0; a work only while
 *     no accepted edition has any;
 *  2. one active (waiting or offered) pre-booking per user and book, and per user and work (partial unique
 *     indexes); a book pre-booking and a work pre-booking accepting that book are duplicates both ways,
 *     decided inside the insert;
 *  3. at most 100 waiting pre-bookings per user.
 * Each rule is a condition of the INSERT (a restock or a duplicate committing between a read and the write
 * can never slip past), written once below as a named SQL fragment; a diagnosis in the same batch, made of
 * the same fragments, says which rule refused, and `assertPrebookable` / `refuse` turn it into the
 * contract's error in one precedence for every flow.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Format } from "../../db/schema.ts";
import { rawQuery } from "../../lib/batch.ts";
import { AppError, bookNotFound } from "../../lib/errors.ts";
import { formatBit, maskOf } from "../allocation/line.ts";

export const MAX_WAITING_PER_USER = 100;

/** What a pre-booking names: one edition, or a work and the formats accepted (default: its editions'). */
export type PrebookTarget = { bookId: number } | { workId: number; formats?: readonly Format[] };

/** The request field that names the target: errors about it point there. */
export type TargetField = "book_id" | "work_id";

export const fieldOf = (target: PrebookTarget): TargetField => ("bookId" in target ? "book_id" : "work_id");

/** The bit mask of a work's editions' formats (the default of `formats`), as SQL. */
export const formatsOfEditions = (workId: SQL | number) => sql`(SELECT coalesce(sum(bit), 0) FROM (
	SELECT DISTINCT ${formatBit(sql.raw("e"))} AS bit FROM books AS e WHERE e.work_id = ${workId}))`;

/** The formats a work target accepts, as a bit mask in SQL over the work row `w`. */
export const acceptedMask = (target: { formats?: readonly Format[] }) =>
	target.formats ? sql`${maskOf(target.formats)}` : formatsOfEditions(sql`w.id`);

/** A target as SQL values (the guest confirmation reads them from its link inside the batch). */
export type TargetSql = { bookId: SQL } | { workId: SQL; mask: SQL };

export const targetSql = (target: PrebookTarget): TargetSql =>
	"bookId" in target
		? { bookId: sql`${target.bookId}` }
		: { workId: sql`${target.workId}`, mask: acceptedMask(target) };

// Rule 1: nothing available.

/** Book row `book`'s available copies: it may be pre-booked while this is 0. */
export const availableCopies = (book: SQL) => sql`${book}.stock_quantity - ${book}.held_quantity`;

/** An edition of work `work` that `mask` accepts has available copies: the work may not be pre-booked. */
export const acceptedEditionInStock = (work: SQL, mask: SQL) =>
	sql`EXISTS (SELECT 1 FROM books AS e WHERE e.work_id = ${work} AND e.stock_quantity > e.held_quantity
		AND (${mask} & ${formatBit(sql.raw("e"))}) <> 0)`;

// Rule 2: one active (waiting or offered) pre-booking. The partial unique indexes refuse a second one of
// the same kind inside the insert (ON CONFLICT); the fragments say it for the diagnosis, and keep a book
// and a work accepting it apart in the insert itself.

/** User `user` has an active pre-booking naming book row `book`. */
const activeOnBook = (user: SQL, book: SQL) =>
	sql`EXISTS (SELECT 1 FROM pre_bookings AS o WHERE o.user_id = ${user} AND o.status IN ('waiting', 'offered')
		AND o.book_id = ${book}.id)`;

/** User `user` has an active work pre-booking accepting book row `book` (its work, in the book's format). */
const activeWorkAcceptingBook = (user: SQL, book: SQL) =>
	sql`EXISTS (SELECT 1 FROM pre_bookings AS wp
		WHERE wp.user_id = ${user} AND wp.work_id = ${book}.work_id AND wp.status IN ('waiting', 'offered')
			AND (wp.formats_mask & ${formatBit(book)}) <> 0)`;

/** User `user` has an active pre-booking of work `work`. */
const activeOnWork = (user: SQL, work: SQL) =>
	sql`EXISTS (SELECT 1 FROM pre_bookings AS o WHERE o.user_id = ${user} AND o.work_id = ${work}
		AND o.status IN ('waiting', 'offered'))`;

/** User `user` has an active pre-booking on an edition of work `work` that `mask` accepts. */
const activeOnAcceptedEdition = (user: SQL, work: SQL, mask: SQL) =>
	sql`EXISTS (SELECT 1 FROM pre_bookings AS bp JOIN books AS e ON e.id = bp.book_id
		WHERE bp.user_id = ${user} AND bp.status IN ('waiting', 'offered') AND e.work_id = ${work}
			AND (${mask} & ${formatBit(sql.raw("e"))}) <> 0)`;

// Rule 3: the limit.

/** User `user`'s waiting pre-bookings. */
const waitingOf = (user: SQL) =>
	sql`(SELECT count(*) FROM pre_bookings WHERE user_id = ${user} AND status = 'waiting')`;

/**
 * The INSERT … SELECT of a pre-booking for the user row `u` that `userWhere` picks: every rule is a
 * condition of the statement. A work's mask 0 (no formats given, no editions) inserts nothing.
 */
export function insertPrebook(target: TargetSql, userWhere: SQL, now: string) {
	const u = sql`u.id`;
	const underLimit = sql`${waitingOf(u)} < ${MAX_WAITING_PER_USER}`;
	if ("bookId" in target) {
		const b = sql`b`;
		return sql`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
			SELECT u.id, b.id, 'waiting', ${now} FROM users AS u JOIN books AS b ON b.id = ${target.bookId}
			WHERE ${userWhere} AND ${availableCopies(b)} = 0 AND ${underLimit}
				AND NOT ${activeWorkAcceptingBook(u, b)}
			ON CONFLICT DO NOTHING
			RETURNING id`;
	}
	const [w, mask] = [sql`w.id`, sql`m.mask`];
	return sql`INSERT INTO pre_bookings (user_id, work_id, formats_mask, status, created_at)
		SELECT u.id, w.id, m.mask, 'waiting', ${now}
		FROM users AS u JOIN works AS w ON w.id = ${target.workId} JOIN (SELECT ${target.mask} AS mask FROM works AS w
			WHERE w.id = ${target.workId}) AS m
		WHERE ${userWhere} AND m.mask > 0 AND ${underLimit}
			AND NOT ${acceptedEditionInStock(w, mask)}
			AND NOT ${activeOnAcceptedEdition(u, w, mask)}
		ON CONFLICT DO NOTHING
		RETURNING id`;
}

/**
 * What a diagnosis reads of the target: the formats it accepts (a book: 1) and what is available (a book:
 * its copies; a work: whether an accepted edition has some, 0 or 1).
 */
export interface TargetState {
	mask: number;
	available: number;
}

/** …and of the reader: an active pre-booking it would duplicate, and how many are waiting. */
export interface Diagnosis extends TargetState {
	active: number;
	waiting: number;
}

/**
 * Why `insertPrebook` added nothing, read in the same transaction from the same fragments, for user
 * `user` (SQL): no row when the book or work does not exist.
 */
export function diagnosePrebook(target: TargetSql, user: SQL) {
	if ("bookId" in target) {
		const b = sql`b`;
		return rawQuery<Diagnosis>(sql`
			SELECT ${availableCopies(b)} AS available, 1 AS mask,
				(${activeOnBook(user, b)} OR ${activeWorkAcceptingBook(user, b)}) AS active,
				${waitingOf(user)} AS waiting
			FROM books AS b WHERE b.id = ${target.bookId}`);
	}
	const [w, mask] = [sql`w.id`, sql`m.mask`];
	return rawQuery<Diagnosis>(sql`
		SELECT m.mask AS mask, ${acceptedEditionInStock(w, mask)} AS available,
			(${activeOnWork(user, w)} OR ${activeOnAcceptedEdition(user, w, mask)}) AS active,
			${waitingOf(user)} AS waiting
		FROM works AS w JOIN (SELECT ${target.mask} AS mask FROM works AS w WHERE w.id = ${target.workId}) AS m
		WHERE w.id = ${target.workId}`);
}

const workNotFound = () => new AppError("WORK_NOT_FOUND", "No work with this id", "work_id");

/** A work pre-booking without `formats` takes its editions' formats: a work without editions needs them. */
const noFormats = () => {
	const detail = "This work has no editions yet: name the formats you accept";
	return new AppError("VALIDATION_ERROR", detail, "formats", { errors: [{ field: "formats", detail }] });
};

const inStock = (field: TargetField) =>
	new AppError(
		"PREBOOK_BOOK_IN_STOCK",
		field === "book_id"
			? "This book is in stock: buy it instead"
			: "An edition of this work you accept is in stock: buy it instead",
		field,
	);

const duplicate = (field: TargetField) =>
	new AppError(
		"PREBOOK_DUPLICATE",
		field === "book_id"
			? "You already have an active pre-booking for this book (or for its work, in this format)"
			: "You already have an active pre-booking for this work or for one of the editions you accept",
		field,
	);

const limitReached = (field: TargetField) =>
	new AppError(
		"PREBOOK_LIMIT_REACHED",
		`You already have ${MAX_WAITING_PER_USER} waiting pre-bookings`,
		field,
	);

/**
 * Throws rule 1's refusal of a target from what a diagnosis read of it (nothing: it does not exist), in the
 * one precedence of every flow: unknown book or work (404), no formats (422), in stock (409). Returns when
 * the target itself may be pre-booked. (A work without formats has no accepted edition, so none in stock:
 * the last two never both apply.)
 */
export function assertPrebookable<S extends TargetState>(
	field: TargetField,
	state: S | undefined,
): asserts state is S {
	if (!state) throw field === "book_id" ? bookNotFound("book_id") : workNotFound();
	if (state.mask === 0) throw noFormats();
	if (state.available > 0) throw inStock(field);
}

/** Throws why `insertPrebook` added nothing, from its diagnosis: rule 1 (`assertPrebookable`), 2, then 3. */
export function refuse(field: TargetField, state: Diagnosis | undefined): never {
	assertPrebookable(field, state);
	if (state.active) throw duplicate(field);
	if (state.waiting >= MAX_WAITING_PER_USER) throw limitReached(field);
	throw duplicate(field);
}
