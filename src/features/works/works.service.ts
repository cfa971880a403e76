/**
 * Works (API.md, Catalog): a work groups the editions (books) of one book. Its editions are the books whose
 * `work_id` names it (idx_books_work); a work pre-booking waits in the line of each edition of a format it
 * accepts (features/allocation/line.ts).
 */
import { and, eq, gt, or, sql } from "drizzle-orm";
import { works } from "../../db/schema.ts";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { containsText } from "../../lib/sql.ts";
import { NOTHING, type Outcome, outcomeOf } from "../allocation/outcome.ts";
import type { WorkView } from "./works.schemas.ts";

const workNotFound = () => new AppError("WORK_NOT_FOUND", "No work with this id", "id");

/** Works with their editions, as one read (a builder: add where/order/limit). */
const workViews = (db: Db) =>
	db
		.select({
			id: works.id,
			title: works.title,
			author: works.author,
			// Walks idx_books_work for each work: its editions in id order (`works.id` spelled out: drizzle
			// writes a column of a one-table select unqualified, which the subquery would read as `e.id`).
			editionsJson: sql<string>`(SELECT json_group_array(json_array(e.id, e.format, e.isbn, e.price_cents,
					e.stock_quantity - e.held_quantity) ORDER BY e.id)
				FROM books AS e WHERE e.work_id = works.id)`,
			createdAt: works.createdAt,
		})
		.from(works)
		.$dynamic();

export function listWorks(db: Db, query: { q?: string; afterId?: number; limit: number }) {
	return workViews(db)
		.where(
			and(
				query.q ? or(containsText(works.title, query.q), containsText(works.author, query.q)) : undefined,
				query.afterId !== undefined ? gt(works.id, query.afterId) : undefined,
			),
		)
		.orderBy(works.id)
		.limit(query.limit + 1);
}

export async function getWork(db: Db, id: number): Promise<WorkView> {
	const [work] = await workViews(db).where(eq(works.id, id));
	if (!work) throw workNotFound();
	return work;
}

/** A work written: its cached entries go (and its editions', when it lost them). */
const workChanged = (workId: number, editionIds: number[] = []) =>
	outcomeOf({ catalogWorkIds: [workId], catalogBookIds: editionIds });

/** One round trip: the new work and its view (no editions yet). */
export async function createWork(
	db: Db,
	values: { title: string; author: string },
): Promise<{ work: WorkView; outcome: Outcome }> {
	const now = new Date().toISOString();
	const { inserted, view } = await batch(db, {
		inserted: db
			.insert(works)
			.values({ ...values, createdAt: now, updatedAt: now })
			.returning({ id: works.id }),
		view: workViews(db).where(sql`${works.id} = last_insert_rowid()`),
	});
	const work = view[0];
	if (inserted.length === 0 || !work) throw new Error("the inserted work was not returned");
	return { work, outcome: workChanged(work.id) };
}

export async function updateWork(
	db: Db,
	id: number,
	values: { title?: string; author?: string },
): Promise<{ work: WorkView; outcome: Outcome }> {
	if (values.title === undefined && values.author === undefined) {
		return { work: await getWork(db, id), outcome: NOTHING };
	}
	const { view } = await batch(db, {
		updated: db
			.update(works)
			.set({ ...values, updatedAt: new Date().toISOString() })
			.where(eq(works.id, id)),
		view: workViews(db).where(eq(works.id, id)),
	});
	const work = view[0];
	if (!work) throw workNotFound();
	return { work, outcome: workChanged(id) };
}

/**
 * One round trip, refused (409) while a pre-booking of the work is active (waiting or offered) — decided
 * inside the DELETE, so a work pre-booking committing first wins and one coming after finds no work.
 * The editions stay, with `work_id` null (ON DELETE SET NULL); so do the closed work pre-bookings that were
 * given an edition (a notified or fulfilled one keeps its `book_id`). Those closed before they had one
 * (cancelled while waiting) name nothing once the work is gone: they are deleted with it, as a book's
 * pre-bookings are with the book. Its editions' cached catalog entries change too (no work any more).
 */
export async function deleteWork(db: Db, id: number): Promise<Outcome> {
	const noActive = sql`NOT EXISTS (SELECT 1 FROM pre_bookings
		WHERE work_id = ${id} AND status IN ('waiting', 'offered'))`;
	const { editions, deleted, diagnosis } = await batch(db, {
		editions: rawQuery<{ id: number }>(sql`SELECT id FROM books WHERE work_id = ${id}`),
		closed: rawQuery(sql`DELETE FROM pre_bookings WHERE work_id = ${id} AND book_id IS NULL AND ${noActive}`),
		deleted: rawQuery<{ id: number }>(sql`DELETE FROM works WHERE id = ${id} AND ${noActive} RETURNING id`),
		diagnosis: rawQuery<{ active: number }>(
			sql`SELECT NOT ${noActive} AS active FROM works WHERE id = ${id}`,
		),
	});
	if (deleted.length > 0)
		return workChanged(
			id,
			editions.map((edition) => edition.id),
		);
	if (!diagnosis[0]) throw workNotFound();
	throw new AppError(
		"WORK_HAS_PREBOOKINGS",
		"Readers are waiting for this work (or hold a copy offered through it): it can be deleted once those pre-bookings are closed",
		"id",
	);
}
