/**
 * `npm run bench:restock`: times the restock fan-out end to end under `wrangler dev`.
 *
 * For 1,000, 10,000 and 100,000 waiting pre-bookings of one book it sends `PATCH /books/{id}/stock`
 * (0 → 5) and prints the response time (the D1 batch plus publishing every notified id to the queue),
 * the D1 round trips and time from Server-Timing, and the rows D1 read and wrote. It uses its own local
 * state under .wrangler/bench (your dev data is untouched) and stops the server when done.
 * The seeded users are inactive, so the queue consumer skips them instead of sending 100,000 emails.
 *
 * Then the same restock on `waves` books with 10,000 and 100,000 waiting (verified, active readers, so the
 * engine serves them): only the first wave, 5 copies × wave_factor 3 = 15 readers, is notified, and the
 * line is walked no further than that.
 *
 * Then the same two restocks of an edition whose line is 100,000 deep, half of it work pre-bookings (a
 * work with a paperback and a hardcover; every other reader pre-booked the work, any format): its own
 * pre-bookings and the work's, interleaved in line order (docs/allocation.md, "Works").
 */
import {
	BENCH_ADMIN,
	call,
	cleanUp,
	d1Timing,
	login,
	seedBenchAdmin,
	seedFreshState,
	startDevServer,
} from "./local-server.ts";

const SIZES = [1_000, 10_000, 100_000];
const WAVE_SIZES = [10_000, 100_000];
const WORK_LINE = 100_000;
const STATE = ".wrangler/bench";

console.log(
	`Seeding ${Math.max(...SIZES).toLocaleString()} users and ${SIZES.map((s) => s.toLocaleString()).join(" / ")} waiting pre-bookings…`,
);
const bookIds = await seedFreshState(STATE, async (db) => {
	await seedBenchAdmin(db);
	const max = Math.max(...SIZES);
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, is_active) SELECT 'bench-' || i || '@example.com', 'x', 0 FROM n`,
		)
		.bind(max)
		.run();
	const ids: number[] = [];
	for (const size of SIZES) {
		const book = await db
			.prepare(
				"INSERT INTO books (title, author, price_cents, stock_quantity) VALUES (?, 'Bench', 1000, 0) RETURNING id",
			)
			.bind(`Bench ${size}`)
			.first<{ id: number }>();
		if (!book) throw new Error("could not seed a book");
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status)
				 SELECT id, ?, 'waiting' FROM users WHERE email LIKE 'bench-%' ORDER BY id LIMIT ?`,
			)
			.bind(book.id, size)
			.run();
		ids.push(book.id);
	}
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, email_verified) SELECT 'wave-' || i || '@example.com', 'x', 1 FROM n`,
		)
		.bind(Math.max(...WAVE_SIZES))
		.run();
	for (const size of WAVE_SIZES) {
		const book = await db
			.prepare(
				"INSERT INTO books (title, author, price_cents, stock_quantity, allocation) VALUES (?, 'Bench', 1000, 0, 'waves') RETURNING id",
			)
			.bind(`Bench waves ${size}`)
			.first<{ id: number }>();
		if (!book) throw new Error("could not seed a book");
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status)
				 SELECT id, ?, 'waiting' FROM users WHERE email LIKE 'wave-%' ORDER BY id LIMIT ?`,
			)
			.bind(book.id, size)
			.run();
		ids.push(book.id);
	}
	// Work lines: the paperback of a work under each policy, its line half its own, half the work's.
	for (const [policy, users] of [
		["notify_all", "bench-%"],
		["waves", "wave-%"],
	] as const) {
		const work = await db
			.prepare("INSERT INTO works (title, author) VALUES (?, 'Bench') RETURNING id")
			.bind(`Bench work ${policy}`)
			.first<{ id: number }>();
		const paperback = await db
			.prepare(
				`INSERT INTO books (title, author, price_cents, stock_quantity, allocation, work_id, format)
				 VALUES (?, 'Bench', 1000, 0, ?, ?, 'paperback') RETURNING id`,
			)
			.bind(`Bench work ${policy} paperback`, policy, work?.id)
			.first<{ id: number }>();
		await db
			.prepare(
				`INSERT INTO books (title, author, price_cents, stock_quantity, allocation, work_id, format)
				 VALUES (?, 'Bench', 1000, 0, ?, ?, 'hardcover')`,
			)
			.bind(`Bench work ${policy} hardcover`, policy, work?.id)
			.run();
		if (!work || !paperback) throw new Error("could not seed a work");
		// Every other reader pre-booked the work (paperback or hardcover: mask 3), the rest the paperback.
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, work_id, formats_mask, status)
				 SELECT id, CASE WHEN id % 2 = 0 THEN ?1 END, CASE WHEN id % 2 = 1 THEN ?2 END,
					CASE WHEN id % 2 = 1 THEN 3 END, 'waiting'
				 FROM users WHERE email LIKE ?3 ORDER BY id LIMIT ?4`,
			)
			.bind(paperback.id, work.id, users, WORK_LINE)
			.run();
		ids.push(paperback.id);
	}
	return ids;
});

const server = await startDevServer(STATE);
try {
	const { base } = server;
	const token = await login(base, BENCH_ADMIN);

	/** Restocks the book 0 → 5 and prints one row; checks how many readers it notified. */
	const restock = async (bookId: number | undefined, size: number, expectNotified: number) => {
		const { res, ms: elapsed } = await call(base, "PATCH", `/books/${bookId}/stock`, {
			body: { quantity: 5 },
			token,
		});
		if (!res.ok) throw new Error(`restock answered ${res.status}`);
		const timing = d1Timing(res);
		await new Promise((resolve) => setTimeout(resolve, 300));
		const logged = server.events("restock_notified").find((event) => event.book_id === bookId);
		console.log(
			[
				size.toLocaleString().padStart(9),
				String(logged?.notified ?? "?").padStart(9),
				`${elapsed.toFixed(0)} ms`.padStart(10),
				String(timing?.roundTrips ?? "?").padStart(16),
				`${timing?.ms ?? "?"} ms`.padStart(9),
				String(logged?.d1_rows_read ?? "?").padStart(11),
				String(logged?.d1_rows_written ?? "?").padStart(14),
				(elapsed / (size / 1000)).toFixed(1).padStart(11),
			].join(" "),
		);
		if (logged && logged.notified !== expectNotified)
			throw new Error(`expected ${expectNotified} notified, got ${logged.notified}`);
	};
	const header =
		"  waiting  notified   response   d1 round trips   d1 time   rows read   rows written   ms per 1k";
	console.log(`\nnotify_all\n${header}`);
	for (const [index, size] of SIZES.entries()) await restock(bookIds[index], size, size);
	console.log(`\nwaves (wave_factor 3: one wave of 15)\n${header}`);
	for (const [index, size] of WAVE_SIZES.entries()) await restock(bookIds[SIZES.length + index], size, 15);
	const workLines = SIZES.length + WAVE_SIZES.length;
	console.log(`\nan edition's line of ${WORK_LINE.toLocaleString()}, half work pre-bookings\n${header}`);
	console.log("notify_all:");
	await restock(bookIds[workLines], WORK_LINE, WORK_LINE);
	console.log("waves (one wave of 15):");
	await restock(bookIds[workLines + 1], WORK_LINE, 15);
	const failures = server.logLines.filter((line) => line.includes("notice_publish_failed"));
	if (failures.length > 0) throw new Error(`publishing failed:\n${failures.join("\n")}`);
} finally {
	await cleanUp();
}
