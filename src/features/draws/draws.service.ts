/** The public audit of lottery draws (API.md, Pre-bookings): no personal data, only ids and scores. */
import { and, asc, desc, eq, isNotNull, lt, sql } from "drizzle-orm";
import { books, drawEntries, draws } from "../../db/schema.ts";
import { batch } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound } from "../../lib/errors.ts";
import type { DrawView, EntryView } from "./draws.schemas.ts";

const drawColumns = {
	id: draws.id,
	status: draws.status,
	seedCommitment: draws.seedCommitment,
	seed: draws.seed,
	copies: draws.copies,
	entries: draws.entries,
	openedAt: draws.openedAt,
	closedAt: draws.closedAt,
};

/** A book's draws, newest first; 404 for an unknown book. One round trip. */
export async function listDraws(
	db: Db,
	bookId: number,
	query: { beforeId?: number; limit: number },
): Promise<DrawView[]> {
	const { rows, book } = await batch(db, {
		rows: db
			.select(drawColumns)
			.from(draws)
			.where(and(eq(draws.bookId, bookId), query.beforeId ? lt(draws.id, query.beforeId) : undefined))
			.orderBy(desc(draws.id))
			.limit(query.limit + 1),
		book: db.select({ id: books.id }).from(books).where(eq(books.id, bookId)),
	});
	if (book.length === 0) throw bookNotFound();
	return rows;
}

/** A closed draw's entries by score; 404 for another book's or an unknown draw, 409 while it is not closed. */
export async function listEntries(
	db: Db,
	bookId: number,
	drawId: number,
	query: { after?: { score: string; id: number }; limit: number },
): Promise<EntryView[]> {
	const { rows, draw } = await batch(db, {
		rows: db
			.select({
				prebookId: drawEntries.prebookId,
				score: sql<string>`${drawEntries.score}`,
				won: drawEntries.won,
			})
			.from(drawEntries)
			.innerJoin(draws, eq(draws.id, drawEntries.drawId))
			.where(
				and(
					eq(drawEntries.drawId, drawId),
					eq(draws.bookId, bookId),
					eq(draws.status, "closed"),
					isNotNull(drawEntries.score),
					query.after
						? sql`(${drawEntries.score}, ${drawEntries.prebookId}) > (${query.after.score}, ${query.after.id})`
						: undefined,
				),
			)
			.orderBy(asc(drawEntries.score), asc(drawEntries.prebookId))
			.limit(query.limit + 1),
		draw: db
			.select({ status: draws.status })
			.from(draws)
			.where(and(eq(draws.id, drawId), eq(draws.bookId, bookId))),
	});
	const status = draw[0]?.status;
	if (status === undefined)
		throw new AppError("DRAW_NOT_FOUND", "No draw with this id for this book", "draw_id");
	if (status !== "closed")
		throw new AppError("DRAW_OPEN", "This draw is not closed yet: its entries are not final", "draw_id");
	return rows;
}
