/**
 * A restock sends only the statements of its book's policy (docs/allocation.md, "One book's policy"). The
 * engine's batch carries every policy's statements, each guarded inside its SQL by `books.allocation`:
 * always right, but a restock then sends D1 about 30 statements of which one policy's act, and their
 * parsing is most of what an admin restock costs (docs/benchmarks.md, "Per-request overhead"). Knowing the
 * book's policy in advance would take a round trip of its own, so the isolate remembers the policy it last
 * saw each book follow (`notify_all`, the default, for a book it never saw), and the batch starts with the
 * allocation guard, which aborts it — nothing written — if the book follows another policy. The batch then
 * runs again with the policy the guard named: a book switched by another isolate costs one extra round
 * trip, never a wrong allocation.
 */
import { ALLOCATIONS, type Allocation } from "../../db/schema.ts";

/** Books whose policy an isolate remembers; the least recently seen are forgotten first. */
const REMEMBERED_BOOKS = 10_000;
const seen = new Map<number, Allocation>();

/** Records the policy a book was seen to follow (a batch's row of it, or the guard's answer). */
export function rememberPolicy(bookId: number, allocation: Allocation): void {
	seen.delete(bookId);
	seen.set(bookId, allocation);
	if (seen.size > REMEMBERED_BOOKS) seen.delete(seen.keys().next().value as number);
}

/** The policy this isolate last saw the book follow, `notify_all` (the default) if it never saw it. */
export const expectedPolicy = (bookId: number): Allocation => seen.get(bookId) ?? "notify_all";

/** Forgets every book (a test that empties the database reuses book ids). */
export const forgetPolicies = (): void => seen.clear();

/**
 * The policy the allocation guard said the book follows, when `err` is its refusal: walks the `cause`
 * chain for D1's message `allocation_guard:<policy>` (migrations/0035).
 */
export function guardedPolicy(err: unknown): Allocation | "other" | null {
	let current: unknown = err;
	for (let depth = 0; current instanceof Error && depth < 5; depth++) {
		const named = /allocation_guard:([a-z_]+)/.exec(current.message)?.[1];
		if (named) return (ALLOCATIONS as readonly string[]).includes(named) ? (named as Allocation) : "other";
		current = current.cause;
	}
	return null;
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
	let policy: Allocation | "any" = expectedPolicy(bookId);
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
