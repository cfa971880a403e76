/**
 * `npm run bench:lottery`: a lottery draw over 10,000 and 100,000 entries under `wrangler dev`.
 *
 * For each size, one lottery book with that many waiting, verified, active readers and an open draw; then
 * `PATCH /books/{id}/stock` 0 → 5: the restock's batch holds the copies and closes the draw on every entry,
 * and the Worker scores the entries (HMAC-SHA256 each), writes the scores and offers the 5 lowest before
 * answering. It prints the response time, the restock's own D1 round trips and the draw's state afterwards.
 * Its own local state under .wrangler/bench-lottery (your dev data is untouched).
 */
import {
	BENCH_ADMIN,
	call,
	d1Timing,
	login,
	seedBenchAdmin,
	seedFreshState,
	startDevServer,
} from "./local-server.ts";

const SIZES = [10_000, 100_000];
const STATE = ".wrangler/bench-lottery";

console.log(`Seeding ${Math.max(...SIZES).toLocaleString()} readers and a lottery book per size…`);
const bookIds = await seedFreshState(STATE, async (db) => {
	await seedBenchAdmin(db);
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, email_verified) SELECT 'draw-' || i || '@example.com', 'x', 1 FROM n`,
		)
		.bind(Math.max(...SIZES))
		.run();
	const ids: number[] = [];
	for (const size of SIZES) {
		const book = await db
			.prepare(
				"INSERT INTO books (title, author, price_cents, stock_quantity, allocation) VALUES (?, 'Bench', 1000, 0, 'lottery') RETURNING id",
			)
			.bind(`Bench draw ${size}`)
			.first<{ id: number }>();
		if (!book) throw new Error("could not seed a book");
		// A fixed commitment is enough here: the benchmark measures the work, not the secrecy.
		await db
			.prepare(
				"INSERT INTO draws (book_id, status, seed, seed_commitment, opened_at) VALUES (?, 'open', ?, ?, ?)",
			)
			.bind(book.id, "ab".repeat(32), "cd".repeat(32), new Date().toISOString())
			.run();
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status)
				 SELECT id, ?, 'waiting' FROM users WHERE email LIKE 'draw-%' ORDER BY id LIMIT ?`,
			)
			.bind(book.id, size)
			.run();
		ids.push(book.id);
	}
	return ids;
});

const server = await startDevServer(STATE);
try {
	const { base } = server;
	const token = await login(base, BENCH_ADMIN);
	console.log("\n  entries   response   restock d1 round trips   draw     copies   offered");
	for (const [index, size] of SIZES.entries()) {
		const bookId = bookIds[index];
		const { res, ms } = await call(base, "PATCH", `/books/${bookId}/stock`, { body: { quantity: 5 }, token });
		if (!res.ok) throw new Error(`restock answered ${res.status}`);
		const draws = (await (await fetch(`${base}/books/${bookId}/draws`)).json()) as {
			items: { status: string; copies: number; entries: number }[];
		};
		const closed = draws.items.find((draw) => draw.status === "closed");
		console.log(
			[
				size.toLocaleString().padStart(9),
				`${ms.toFixed(0)} ms`.padStart(10),
				String(d1Timing(res)?.roundTrips ?? "?").padStart(24),
				(closed ? "closed" : "open").padStart(8),
				String(closed?.copies ?? "?").padStart(8),
				String(
					server.events("offer_round_published").find((e) => e.book_id === bookId)?.offered ?? "?",
				).padStart(9),
			].join(" "),
		);
		if (closed?.entries !== size)
			throw new Error(`expected a draw over ${size} entries, got ${closed?.entries}`);
	}
} finally {
	server.stop();
}
