/**
 * A restock sends only the statements of its book's policy (docs/allocation.md, "One book's policy"). The
 * engine's batch carries every policy's statements, each guarded inside its SQL by `books.allocation`:
 * always right, but a restock then sends D1 about 30 statements of which one policy's act, and their
 * parsing is most of what an admin restock costs (docs/benchmarks.md, "Per-request overhead"). Knowing the
 * book's policy in advance would take a round trip of its own, so the isolate remembers the policy it last
 * saw each book follow, and a restock of a book it remembers starts with the allocation guard, which aborts
 * the batch — nothing written — if the book follows another policy. The batch then runs again with the
 * policy the guard named: a book switched by another isolate costs one extra round trip, never a wrong
 * allocation. A book the isolate never saw gets every policy's statements (one round trip, as before).
 */
import { ALLOCATIONS, type Allocation } from "../../db/schema.ts";
import { matchErrorChain } from "../../lib/errors.ts";

/** Books whose policy an isolate remembers; the least recently seen are forgotten first. */
const REMEMBERED_BOOKS = 10_000;
const seen = new Map<number, Allocation>();

/** Records the policy a book was seen to follow (a batch's row of it, or the guard's answer). */
export function rememberPolicy(bookId: number, allocation: Allocation): void {
	seen.delete(bookId);
	seen.set(bookId, allocation);
	if (seen.size > REMEMBERED_BOOKS) seen.delete(seen.keys().next().value as number);
}

/**
 * The policy this isolate last saw the book follow; `any` (every policy's statements) for a book it never
 * saw: guessing the default would cost every other book's first restock in an isolate a second round trip.
 */
const expectedPolicy = (bookId: number): Allocation | "any" => seen.get(bookId) ?? "any";

/** Forgets every book (a test that empties the database reuses book ids). */
export const forgetPolicies = (): void => seen.clear();

/**
 * The policy the allocation guard said the book follows, when `err` is its refusal: walks the `cause`
 * chain for D1's message `allocation_guard:<policy>` (migrations/0035).
 */
function guardedPolicy(err: unknown): Allocation | "other" | null {
	const named = matchErrorChain(err, /allocation_guard:([a-z_]+)/)?.[1];
	if (!named) return null;
	return (ALLOCATIONS as readonly string[]).includes(named) ? (named as Allocation) : "other";
}

/**
 * Runs `attempt` — a batch whose engine is `allocateBook(bookId, …, policy)` — with the policy the isolate
 * expects of the book; when the guard refuses, once more with the policy it named; a book switched again
 * in between (or to a policy this code does not know) runs with every policy (`"any"`), which is always
 * right.
 */
export async function withBookPolicy<T>(
	bookId: number,
	attempt: (policy: Allocation | "any") => Promise<T>,
): Promise<T> {
	let policy = expectedPolicy(bookId);
	for (let tries = 0; ; tries++) {
		try {
			return await attempt(policy);
		} catch (err) {
			const actual = guardedPolicy(err);
			if (actual === null || policy === "any") throw err;
			if (actual !== "other") rememberPolicy(bookId, actual);
			policy = actual === "other" || tries > 0 ? "any" : actual;
		}
	}
}
