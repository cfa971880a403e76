/**
 * The time a batch stamps its rows with, unique to the batch.
 *
 * The allocation engine finds what its own batch did by that time — the restock record, wave, offer round
 * or draw it created `at now`, the readers it notified `at now` (features/allocation) — so two batches
 * must never share one. They could: a Worker's clock does not advance while it runs (`Date.now()` moves
 * with I/O), so two requests in one isolate often read the same millisecond, and two isolates can too.
 * `batchNow()` never returns the same time twice in an isolate (the next millisecond when the clock has not
 * moved), and every engine batch claims its time in `batch_clock` (a primary key): a batch whose time
 * another isolate already used fails on that key and `withUniqueNow` runs it again with a later one.
 */
import { sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { constraintViolation } from "./errors.ts";

/** The latest time this isolate returned from its clock. */
let last = 0;
/** The latest time it returned ahead of its clock (a cron run scheduled later than the clock says). */
let ahead = 0;
/** How far past its scheduled time one cron run's batches may be stamped. */
const AHEAD_RUN_MS = 60_000;

/**
 * Now, as stored (ISO 8601, milliseconds), later than any time this isolate returned from its clock
 * before; or `notBefore` (a cron run's scheduled time), when that is later than now, itself never twice.
 * A time ahead of the clock does not move the clock's side: the requests after it are stamped with their
 * own time (the claim on `batch_clock` settles the rare equal one).
 */
function batchNow(notBefore?: Date): string {
	last = Math.max(Date.now(), last + 1);
	const floor = notBefore?.getTime() ?? 0;
	if (floor <= last) return new Date(last).toISOString();
	// The runs of one schedule follow each other; a run far from the last one ahead (another schedule, a
	// test's clock) starts at its own time.
	ahead = floor > ahead || ahead - floor > AHEAD_RUN_MS ? floor : ahead + 1;
	return new Date(ahead).toISOString();
}

/**
 * Forgets the times handed out (tests: a test that moved `Date.now()` ahead must not leave every later
 * test's batches stamped in that future; one runtime serves every test file).
 */
export function forgetBatchTimes(): void {
	last = 0;
	ahead = 0;
}

/** Attempts before a collision is reported as the error it is (each a millisecond later at least). */
const ATTEMPTS = 5;

/**
 * Runs `run` — a service's batch that stamps its rows with `now` and runs the engine — with a time no
 * other batch used: again with a later time when the batch's claim on `batch_clock` collided (nothing of
 * it was written: the whole batch aborted). A cron sweep passes its run's time as `notBefore`.
 */
export async function withUniqueNow<T>(run: (now: string) => Promise<T>, notBefore?: Date): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await run(batchNow(notBefore));
		} catch (err) {
			const violation = constraintViolation(err);
			if (attempt >= ATTEMPTS || violation?.kind !== "unique" || !violation.target.includes("batch_clock")) {
				throw err;
			}
		}
	}
}

/** How long a claimed time is kept: far longer than any clock of a running batch can lag behind. */
const CLAIMS_KEPT_MS = 60 * 60 * 1000;

/** Cron: forgets the times claimed over an hour ago (no batch can be stamped with one again). */
export async function purgeBatchClock(db: Db, now: Date): Promise<void> {
	await db.run(
		sql`DELETE FROM batch_clock WHERE at < ${new Date(now.getTime() - CLAIMS_KEPT_MS).toISOString()}`,
	);
}
