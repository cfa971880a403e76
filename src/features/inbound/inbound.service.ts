/** Expected supply per book (API.md, Pre-bookings rule 12): what wait estimates are worked out from. */
import { asc, eq, sql } from "drizzle-orm";
import { books, type InboundRow, inboundShipments } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, bookNotFound } from "../../lib/errors.ts";

/** One round trip: the entry is made only for an existing book (decided inside the INSERT). */
export async function addInbound(
	db: Db,
	bookId: number,
	entry: { quantity: number; expectedAt: string },
): Promise<InboundRow> {
	const now = new Date().toISOString();
	const { added } = await batch(db, {
		added: db
			.insert(inboundShipments)
			.select(
				db
					.select({
						id: sql<number>`NULL`.as("id"),
						bookId: books.id,
						quantity: sql<number>`${entry.quantity}`.as("quantity"),
						expectedAt: sql<string>`${new Date(entry.expectedAt).toISOString()}`.as("expected_at"),
						receivedAt: sql<string | null>`NULL`.as("received_at"),
						createdAt: sql<string>`${now}`.as("created_at"),
					})
					.from(books)
					.where(eq(books.id, bookId)),
			)
			.returning(),
	});
	const row = added[0];
	if (!row) throw bookNotFound();
	return row;
}

export async function listInbound(db: Db, bookId: number): Promise<InboundRow[]> {
	const { rows, book } = await batch(db, {
		rows: db
			.select()
			.from(inboundShipments)
			.where(eq(inboundShipments.bookId, bookId))
			.orderBy(asc(inboundShipments.expectedAt), asc(inboundShipments.id)),
		book: db.select({ id: books.id }).from(books).where(eq(books.id, bookId)),
	});
	if (book.length === 0) throw bookNotFound();
	return rows;
}

export async function removeInbound(db: Db, bookId: number, inboundId: number): Promise<void> {
	const { removed } = await batch(db, {
		removed: rawQuery<{ id: number }>(sql`DELETE FROM inbound_shipments
			WHERE id = ${inboundId} AND book_id = ${bookId} RETURNING id`),
	});
	if (removed.length === 0) {
		throw new AppError("INBOUND_NOT_FOUND", "No expected supply with this id for this book", "inbound_id");
	}
}
