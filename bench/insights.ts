/**
 * `npm run bench:insights`: `GET /admin/insights/prebooks` over 365 days for a book with 100,000
 * pre-bookings, and for the whole store, under `wrangler dev` (its own local state, .wrangler/bench-insights).
 *
 * The history is seeded straight into D1 the way the app writes it, so the transition triggers keep the
 * daily counters as they would have: 100,000 readers pre-book the book over the last 365 days (an INSERT),
 * two in three are notified some hours later (an UPDATE to `notified` under a restock record whose
 * `notified_count` the batch then sets, as the engine does: the notice is counted once, on the day it is
 * recorded — today), half of those buy (an UPDATE to `fulfilled`, up to two days on), and one in ten of the
 * rest cancels. A second book gets 10,000, so the
 * store's report is not the book's. `wrangler dev` runs bench/metered-worker.ts (the production Worker with
 * a D1 binding that counts the rows D1 reports), so each answer says what it read. Prints the response time
 * (median of 15), the D1 round trips and time from Server-Timing, and the rows read; checks the figures
 * against the seeded history.
 */
import {
	type Answer,
	BENCH_ADMIN,
	call,
	cleanUp,
	d1Timing,
	login,
	seedBenchAdmin,
	seedFreshState,
	startDevServer,
} from "./local-server.ts";

const READERS = 100_000;
const OTHER = 10_000;
const RUNS = 15;
const STATE = ".wrangler/bench-insights";
const DAY_MS = 24 * 60 * 60 * 1000;

console.log(
	`Seeding ${READERS.toLocaleString()} pre-bookings over 365 days (and ${OTHER.toLocaleString()} more)…`,
);
const seedStarted = performance.now();
const { bookId, expected } = await seedFreshState(STATE, async (db) => {
	await seedBenchAdmin(db);
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, is_active) SELECT 'insight-' || i || '@example.com', 'x', 0 FROM n`,
		)
		.bind(READERS)
		.run();
	const ids: number[] = [];
	for (const [title, readers] of [
		["Insights bench", READERS],
		["Insights bench, the other book", OTHER],
	] as const) {
		const book = await db
			.prepare("INSERT INTO books (title, author, price_cents) VALUES (?, 'Bench', 1000) RETURNING id")
			.bind(title)
			.first<{ id: number }>();
		if (!book) throw new Error("could not seed a book");
		// Spread over the last 365 days (a day per reader id modulo 365, an hour by id too).
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
				 SELECT id, ?, 'waiting',
					strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (id % 365) || ' days', '-' || (id % 24) || ' hours')
				 FROM users WHERE email LIKE 'insight-%' ORDER BY id LIMIT ?`,
			)
			.bind(book.id, readers)
			.run();
		// Every statement below is a transition the triggers count, as the engine's and checkout's are: the
		// engine marks a notice's readers (no row trigger fires) and then sets its record's count (counted once).
		const notice = await db
			.prepare(
				`INSERT INTO restocks (book_id, quantity_before, quantity_after, notified_count, reason, created_at)
				 VALUES (?, 0, 5, 0, 'restock', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) RETURNING id`,
			)
			.bind(book.id)
			.first<{ id: number }>();
		if (!notice) throw new Error("could not seed a restock");
		await db
			.prepare(
				`UPDATE pre_bookings SET status = 'notified', restock_id = ?,
					notified_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+' || (id % 7) || ' hours')
				 WHERE book_id = ? AND id % 3 <> 0`,
			)
			.bind(notice.id, book.id)
			.run();
		await db
			.prepare(
				"UPDATE restocks SET notified_count = (SELECT count(*) FROM pre_bookings WHERE restock_id = restocks.id) WHERE id = ?",
			)
			.bind(notice.id)
			.run();
		await db
			.prepare(
				`UPDATE pre_bookings SET status = 'fulfilled',
					fulfilled_at = strftime('%Y-%m-%dT%H:%M:%fZ', notified_at, '+' || (id % 48) || ' hours')
				 WHERE book_id = ? AND status = 'notified' AND id % 2 = 0`,
			)
			.bind(book.id)
			.run();
		await db
			.prepare(
				`UPDATE pre_bookings SET status = 'cancelled', cancelled_at = created_at
				 WHERE book_id = ? AND status = 'waiting' AND id % 10 = 0`,
			)
			.bind(book.id)
			.run();
		ids.push(book.id);
	}
	// What the report must say: each transition on the day of its own timestamp — a notice on the day it was
	// recorded (today, in the range), so every notified reader.
	const [from, to] = [new Date(Date.now() - 364 * DAY_MS), new Date()].map((at) =>
		at.toISOString().slice(0, 10),
	);
	const counts = await db
		.prepare(
			`SELECT sum(substr(created_at, 1, 10) BETWEEN ?1 AND ?2) AS signups,
				sum(notified_at IS NOT NULL) AS notified,
				sum(status = 'fulfilled' AND substr(fulfilled_at, 1, 10) BETWEEN ?1 AND ?2) AS fulfilled
			 FROM pre_bookings WHERE book_id = ?3`,
		)
		.bind(from, to, ids[0])
		.first<{ signups: number; notified: number; fulfilled: number }>();
	return { bookId: ids[0], expected: counts };
});
console.log(`(seeded in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s)`);

/** The bench Worker's `X-Bench-D1: <round trips>;<rows read>;<rows written>`. */
const rowsRead = (answer: Answer) => Number((answer.res.headers.get("X-Bench-D1") ?? "").split(";")[1]);
const median = (values: number[]) =>
	[...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const server = await startDevServer(STATE, "bench/metered-worker.ts");
try {
	const { base } = server;
	const token = await login(base, BENCH_ADMIN);
	const to = new Date().toISOString().slice(0, 10);
	const from = new Date(Date.now() - 364 * DAY_MS).toISOString().slice(0, 10);
	console.log(`\nGET /admin/insights/prebooks?from=${from}&to=${to}[&book_id], ${RUNS} runs each`);
	console.log("  scope                 response (p50)   d1 round trips   d1 time (p50)   rows read   days");
	for (const [label, query] of [
		[`book (${READERS.toLocaleString()})`, `&book_id=${bookId}`],
		["store", ""],
	] as const) {
		const answers: Answer[] = [];
		for (let run = 0; run < RUNS; run++)
			answers.push(
				await call(base, "GET", `/admin/insights/prebooks?from=${from}&to=${to}${query}`, { token }),
			);
		const last = answers.at(-1) as Answer;
		if (!last.res.ok) throw new Error(`insights answered ${last.res.status}: ${JSON.stringify(last.body)}`);
		const trips = new Set(answers.map((answer) => d1Timing(answer.res)?.roundTrips));
		if (trips.size !== 1 || !trips.has(1))
			throw new Error(`expected 1 round trip, got ${[...trips].join(", ")}`);
		if (label.startsWith("book")) {
			const body = last.body as { signups: number; notified: number; fulfilled: number };
			for (const key of ["signups", "notified", "fulfilled"] as const)
				if (body[key] !== expected?.[key]) throw new Error(`${key}: ${body[key]}, seeded ${expected?.[key]}`);
		}
		console.log(
			[
				label.padEnd(20),
				`${median(answers.map((answer) => answer.ms)).toFixed(0)} ms`.padStart(16),
				"1".padStart(16),
				`${median(answers.map((answer) => d1Timing(answer.res)?.ms ?? Number.NaN)).toFixed(0)} ms`.padStart(
					15,
				),
				rowsRead(last).toLocaleString("en-US").padStart(11),
				String((last.body.by_day as unknown[]).length).padStart(6),
			].join(" "),
		);
		console.log(
			`    ${JSON.stringify({ ...last.body, by_day: `[${(last.body.by_day as unknown[]).length} days]` })}`,
		);
	}
} finally {
	await cleanUp();
}
