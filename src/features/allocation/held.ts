/**
 * `held_quantity` (API.md, Pre-bookings rule 11): the copies held for the book's offers and for its
 * lottery draws being closed. Never incremented by hand: every batch that offers, expires, cancels, passes,
 * sells or draws recounts it from those rows, so it cannot drift; the triggers of migrations/0021 keep
 * `0 <= held_quantity <= stock_quantity`.
 */
import { sql } from "drizzle-orm";
import { rawQuery } from "../../lib/batch.ts";
import { booksOf, type LineScope } from "./scope.ts";

/**
 * Sets the scope's books' `held_quantity` to their offered pre-bookings plus their closing draws' copies
 * where it differs (counted once per book, over idx_pre_bookings_book_offered and idx_draws_closing) and
 * returns those books.
 */
export const recountHeld = (scope: LineScope) =>
	rawQuery<{ id: number }>(sql`UPDATE books SET held_quantity = held.n
		FROM (SELECT b.id AS book_id,
				(SELECT count(*) FROM pre_bookings AS p WHERE p.book_id = b.id AND p.status = 'offered')
				+ (SELECT coalesce(sum(d.copies), 0) FROM draws AS d WHERE d.book_id = b.id AND d.status = 'closing') AS n
			FROM books AS b WHERE b.id IN (${booksOf(scope)})) AS held
		WHERE books.id = held.book_id AND books.held_quantity <> held.n
		RETURNING books.id`);
