/**
 * The allocation engine: who gets the copies of a book, for every policy (API.md, Pre-bookings).
 *
 * Every change that can free copies or change a line — a restock or stock decrease, a policy switch, a
 * cancel, an expiry, an erasure, an unsubscribe, a reader eligible again — appends `allocate(scope, reason,
 * now)` to its own batch. The group recounts `held_quantity` from the offered pre-bookings (so a batch that
 * released or sold held copies is exact before anything is given), runs every policy's statements (each
 * acts only on books that follow it), and recounts again. All of it is one transaction with the change:
 * "is a copy available?" and "who is next?" are evaluated inside it, so concurrent changes serialize in D1
 * and never give one copy twice or leave a servable reader waiting beside an available copy (rule 11).
 *
 * The group's result is an `Outcome`: the notices and offer rounds to email, the webhook events recorded,
 * and the books whose held copies changed (their cached catalog entries). It is published once, after the
 * commit, by `publishOutcome` (publish-outcome.ts).
 */
import { type SQL, sql } from "drizzle-orm";
import type { Allocation, AllocationReason } from "../../db/schema.ts";
import { groupAll, mapGroup, namedGroup, rawQuery, type StatementGroup } from "../../lib/batch.ts";
import { recountHeld } from "./held.ts";
import { type Outcome, outcomeOf } from "./outcome.ts";
import { POLICIES, type Policy } from "./policies.ts";
import { type LineScope, oneBook } from "./scope.ts";

export { booksIn, linesOf, linesOfReader } from "./scope.ts";

/**
 * The engine's statements for a batch, and the reader of what they did: every policy's, or (`policies`)
 * only those the caller knows the scope's books can follow — behind the allocation guard (`allocateBook`).
 */
export function allocate(
	scope: LineScope,
	reason: AllocationReason,
	now: string,
	policies: readonly Policy[] = Object.values(POLICIES),
): StatementGroup<Outcome> {
	const run = namedGroup({
		// The batch's time is its own (src/lib/clock.ts): every "created at now" below is this batch's. One
		// run of the engine per batch; the caller runs the batch through `withUniqueNow`.
		claimed: rawQuery(sql`INSERT INTO batch_clock (at) VALUES (${now})`),
		released: recountHeld(scope),
		policies: groupAll(policies.map((policy) => policy(scope, reason, now))),
		recounted: recountHeld(scope),
	});
	return {
		...run,
		read: (results) => {
			const { released, policies, recounted } = run.read(results);
			return outcomeOf(...policies, {
				catalogBookIds: [...released, ...recounted].map((row) => row.id),
			});
		},
	};
}

/**
 * `allocate` for one book, the common case: its id or SQL naming it inside the batch. With `policy` (a
 * book id only), only that policy's statements, after the allocation guard, which aborts the batch if the
 * book follows another (expected-policy.ts: run it through `withBookPolicy`).
 */
export function allocateBook(
	bookId: number | SQL,
	reason: AllocationReason,
	now: string,
	policy: Allocation | "any" = "any",
): StatementGroup<Outcome> {
	if (policy === "any" || typeof bookId !== "number") return allocate(oneBook(bookId), reason, now);
	const guarded = namedGroup({
		guard: rawQuery(sql`INSERT INTO allocation_guard (book_id, allocation) VALUES (${bookId}, ${policy})`),
		run: allocate(oneBook(bookId), reason, now, [POLICIES[policy]]),
	});
	return mapGroup(guarded, ({ run }) => run);
}
