/**
 * `npm run bench:lottery`: a lottery draw over 10,000 and 100,000 entries under `wrangler dev`.
 *
 * For each size, one lottery book with that many waiting, verified, active readers and an open draw; then
 * `PATCH /books/{id}/stock` 0 → 5: the restock's batch holds the copies and closes the draw on every entry,
 * and answers; a `prebook-publication` step then scores the entries (HMAC-SHA256 each), writes the scores
 * and offers the 5 lowest. It prints the response time, the restock's own D1 round trips, and when the
 * draw was closed with its winners offered (polling the public draws route from the request's start), and
 * what the scoring step cost in D1 (its `draw_completed` log: round trips, D1 time, rows read and written).
 * Its own local state under .wrangler/bench-lottery (your dev data is untouched).
 */
import {
	BENCH_ADMIN,
	call,
	d1Timing,
	login,
	seedBenchAdmin,
	seedBook,
	seedFreshState,
	seedLine,
	seedOpenDraw,
	seedReaders,
	startDevServer,
} from "./local-server.ts";

const SIZES = [10_000, 100_000];
const STATE = ".wrangler/bench-lottery";

console.log(`Seeding ${Math.max(...SIZES).toLocaleString()} readers and a lottery book per size…`);
const bookIds = await seedFreshState(STATE, async (db) => {
	await seedBenchAdmin(db);
	await seedReaders(db, "draw", Math.max(...SIZES));
	const ids: number[] = [];
	for (const size of SIZES) {
		const bookId = await seedBook(db, `Bench draw ${size}`, "lottery");
		await seedOpenDraw(db, bookId);
		await seedLine(db, bookId, "draw", size);
		ids.push(bookId);
	}
	return ids;
});

const server = await startDevServer(STATE);
try {
	const { base } = server;
	const token = await login(base, BENCH_ADMIN);
	console.log(
		"\n  entries   response   restock d1 round trips   draw closed after   copies   offered   " +
			"scoring step: d1 round trips   d1 time   rows read   rows written",
	);
	for (const [index, size] of SIZES.entries()) {
		const bookId = bookIds[index];
		const started = performance.now();
		const { res, ms } = await call(base, "PATCH", `/books/${bookId}/stock`, { body: { quantity: 5 }, token });
		if (!res.ok) throw new Error(`restock answered ${res.status}`);
		let closed: { status: string; copies: number; entries: number } | undefined;
		while (!closed && performance.now() - started < 120_000) {
			const draws = (await (await fetch(`${base}/books/${bookId}/draws`)).json()) as {
				items: { status: string; copies: number; entries: number }[];
			};
			closed = draws.items.find((draw) => draw.status === "closed");
			if (!closed) await new Promise((resolve) => setTimeout(resolve, 100));
		}
		const closedAfter = performance.now() - started;
		// The queue step that scored the draw logs what it cost in D1 (publication-consumer.ts).
		await new Promise((resolve) => setTimeout(resolve, 500));
		const step = server.events("draw_completed").at(-1) as
			| { d1_round_trips: number; d1_ms: number; d1_rows_read: number; d1_rows_written: number }
			| undefined;
		console.log(
			[
				size.toLocaleString().padStart(9),
				`${ms.toFixed(0)} ms`.padStart(10),
				String(d1Timing(res)?.roundTrips ?? "?").padStart(24),
				`${closedAfter.toFixed(0)} ms`.padStart(19),
				String(closed?.copies ?? "?").padStart(8),
				String(
					server.events("offer_round_published").find((e) => e.book_id === bookId)?.offered ?? "?",
				).padStart(9),
				String(step?.d1_round_trips ?? "?").padStart(31),
				`${step?.d1_ms ?? "?"} ms`.padStart(9),
				String(step?.d1_rows_read ?? "?").padStart(11),
				String(step?.d1_rows_written ?? "?").padStart(14),
			].join(" "),
		);
		if (closed?.entries !== size)
			throw new Error(`expected a draw over ${size} entries, got ${closed?.entries}`);
	}
} finally {
	server.stop();
}
