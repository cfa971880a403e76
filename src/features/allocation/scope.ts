/**
 * Which lines a run of the engine serves: one book's (its id, or SQL the batch evaluates, such as "the
 * book of the pre-booking this batch cancels"), or the lines of a set of books given as a subquery (every
 * line a reader waits in, the books whose holds an erasure released). Either way the books are evaluated
 * inside the batch, never read beforehand.
 */
import { type SQL, sql } from "drizzle-orm";
import { linesOfPrebookings } from "./line.ts";

export type LineScope = { kind: "book"; book: SQL } | { kind: "books"; books: SQL };

export const oneBook = (bookId: number | SQL): LineScope => ({
	kind: "book",
	book: typeof bookId === "number" ? sql`${bookId}` : sql`(${bookId})`,
});

/** The books a subquery selects (one column of book ids). */
export const booksIn = (books: SQL): LineScope => ({ kind: "books", books });

/**
 * Every line the reader waits in (a work pre-booking's: every edition it accepts): what changes when they
 * become servable again. The subquery is evaluated by each statement of the group, so it keeps the lines
 * in which the batch (at `now`) just served them.
 */
export const linesOfReader = (userId: number, now: string): LineScope =>
	booksIn(
		linesOfPrebookings(sql`SELECT id FROM pre_bookings WHERE user_id = ${userId}
			AND (status = 'waiting' OR (status = 'offered' AND offered_at = ${now})
				OR (status = 'notified' AND notified_at = ${now}))`),
	);

/** The lines of the pre-bookings a subquery of ids selects (a waiting work pre-booking's: all it accepts). */
export const linesOf = (prebooks: SQL): LineScope => booksIn(linesOfPrebookings(prebooks));

/** The scope's book ids, as a subquery (`… IN (${booksOf(scope)})`). */
export const booksOf = (scope: LineScope): SQL =>
	scope.kind === "book" ? sql`SELECT ${scope.book}` : scope.books;
