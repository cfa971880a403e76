/**
 * `npm run bench:hold`: the hold queue under `wrangler dev`, at scale.
 *
 *  1. Restock: three `hold_queue` books with 1,000 / 10,000 / 100,000 waiting pre-bookings are restocked
 *     0 → half of that (`PATCH /books/{id}/stock`), so 500 / 5,000 / 50,000 become `offered` in one request.
 *     Prints the response time (the D1 batch plus publishing every offered id to the queue), the D1 round
 *     trips and time (Server-Timing), the rows D1 read and wrote, and ms per 1,000 offered; checks the
 *     number offered (the response's and `GET /books/{id}`'s `held_quantity`, the `offer_round_published`
 *     log).
 *  2. Expiry: the cron is run as a user runs it under `wrangler dev`,
 *     `/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=<ms>`, with a time past every hold (the holds last
 *     48 hours, and quiet hours may move an end up to 12 hours later: rule 13), once per run until a run
 *     expires nothing. Prints per run the holds expired and offered,
 *     the batches, the time it took and its D1 round trips and rows; checks that every hold of the three
 *     restocks expired and its copy went to the next in line.
 *  3. Place in line: `GET /prebooks?limit=100` for readers with 100 waiting pre-bookings each, on 100
 *     books with lines of 5,000: one reader has 100 ahead on every book, one 1,000, one 5,000. Prints the
 *     response time, the D1 round trips (must be 1), D1 time and rows, and checks every position.
 *     Then beyond the count's cap (AHEAD_CAP, 10,000): two readers with 100 pre-bookings each, one on a
 *     line of 100,000 and 99 on lines of 20,000 — one at the back of every line (100,000 and 20,000 ahead:
 *     exact, from the waiting counter), one in the middle (50,000 and 10,000 ahead, as many behind: the
 *     estimate). Checks the back reader's positions, prints the middle reader's largest error.
 *
 * Everything is seeded directly into its own local D1 (.wrangler/bench-hold), never through the API. The
 * 100,000 seeded users are verified and active — the hold queue passes over readers it cannot tell, so
 * only they are offered copies. Nobody is emailed: the worker's producer counts the ids put on the queue
 * instead (bench/tallying-queue.ts); the benchmark waits until every offer is on it (a long round's rest
 * goes through the `prebook-publication` queue) before measuring the next thing, so the figures are the
 * request's (or the run's) alone. The readers are verified too (so they have a `position`), but none of
 * their books is ever restocked.
 *
 * Rows read and written: the app logs them only for notify_all restocks, so the server runs
 * bench/metered-worker.ts — the production Worker with a D1 binding that adds them up.
 */
import { hashPassword } from "../src/lib/password.ts";
import {
	type Answer,
	BENCH_ADMIN,
	call,
	cleanUp,
	type DevServer,
	d1Timing,
	login,
	seedBenchAdmin,
	seedFreshState,
	startDevServer,
} from "./local-server.ts";

const WAITING = [1_000, 10_000, 100_000];
/** `npm run bench:hold -- --place-only`: only part 3 (no hold books, no restocks, no cron runs). */
const PLACE_ONLY = process.argv.includes("--place-only");
const USERS = Math.max(...WAITING);
/** Lines of `LINE` on `READER_BOOKS` books; in each, one reader per depth has that many waiting ahead. */
const READER_BOOKS = 100;
const LINE = 5_000;
const DEPTHS = [100, 1_000, 5_000];
const STATE = ".wrangler/bench-hold";
const readerAccount = (depth: number) => ({
	email: `reader-${depth}@bench.local`,
	password: "bench-reader-password",
});
const HOLD_HOURS = 48;
/** The most quiet hours (rule 13) move a hold's end: from 21:00 to the next 09:00. */
const QUIET_HOURS_SHIFT = 12;
const HOUR = 60 * 60 * 1000;
const MAX_CRON_RUNS = 10;
const GET_PREBOOKS_REPEATS = 5;
/** Beyond the cap: one line of `DEEP_LINE` and `READER_BOOKS - 1` of `DEEP_OTHER`; readers in the middle and at the back. */
const DEEP_LINE = 100_000;
const DEEP_OTHER = 20_000;
const DEEP_READERS = [
	{ name: "middle", fraction: 0.5 },
	{ name: "back", fraction: 1 },
] as const;
const deepAccount = (name: string) => ({
	email: `reader-deep-${name}@bench.local`,
	password: "bench-reader-password",
});

/** Pre-bookings were made over the past 30 days, one a second in each line. */
const since = new Date(Date.now() - 30 * 24 * HOUR).toISOString();
const madeAt = (secondsExpr: string) =>
	`strftime('%Y-%m-%dT%H:%M:%fZ', '${since}', '+' || (${secondsExpr}) || ' seconds')`;

console.log(
	`Seeding ${USERS.toLocaleString()} users, ${WAITING.map((n) => n.toLocaleString()).join(" / ")} waiting on three hold_queue books, and ${DEPTHS.length} readers ${DEPTHS.map((d) => d.toLocaleString()).join(" / ")} deep in ${READER_BOOKS} lines, and 2 readers in lines of ${DEEP_LINE.toLocaleString()} and ${DEEP_OTHER.toLocaleString()}…`,
);
const seedStarted = performance.now();
const seeded = await seedFreshState(STATE, async (db) => {
	await seedBenchAdmin(db);
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, email_verified) SELECT 'bench-' || i || '@example.com', 'x', 1 FROM n`,
		)
		.bind(USERS)
		.run();
	const first = await db.prepare("SELECT min(id) AS id FROM users").bind().first<{ id: number }>();
	if (!first) throw new Error("could not seed the users");
	const addBook = async (title: string) => {
		const book = await db
			.prepare(
				`INSERT INTO books (title, author, price_cents, stock_quantity, allocation, hold_hours)
				 VALUES (?, 'Bench', 1000, 0, 'hold_queue', ?) RETURNING id`,
			)
			.bind(title, HOLD_HOURS)
			.first<{ id: number }>();
		if (!book) throw new Error("could not seed a book");
		return book.id;
	};
	/** `count` users from the `offset`-th (wrapping around), in line on `bookId` one second apart. */
	const line = (bookId: number, offset: number, count: number) =>
		db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status, created_at)
				 SELECT ? + (? + i) % ?, ?, 'waiting', ${madeAt("i")}
				 FROM (WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) SELECT i FROM n)`,
			)
			.bind(first.id, offset, USERS, bookId, count)
			.run();

	const holdBooks: number[] = [];
	for (const size of PLACE_ONLY ? [] : WAITING) {
		const bookId = await addBook(`Hold ${size}`);
		await line(bookId, 0, size);
		holdBooks.push(bookId);
	}
	/** A reader who signs in (the place-in-line requests are theirs); their id. */
	const addReader = async (account: { email: string; password: string }) => {
		const reader = await db
			.prepare(
				"INSERT INTO users (email, password_hash, full_name, email_verified) VALUES (?, ?, 'Bench Reader', 1) RETURNING id",
			)
			.bind(account.email, await hashPassword(account.password))
			.first<{ id: number }>();
		if (!reader) throw new Error("could not seed a reader");
		return reader.id;
	};
	const readers: number[] = [];
	for (const depth of DEPTHS) readers.push(await addReader(readerAccount(depth)));
	for (let k = 0; k < READER_BOOKS; k++) {
		const bookId = await addBook(`Line ${k}`);
		// Each of the 100,000 users waits on five of these lines.
		await line(bookId, (k * LINE) % USERS, LINE);
		// Each reader between the line's (depth - j)th and next pre-booking: `depth` ahead, the j shallower
		// readers included.
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status, created_at) VALUES ${DEPTHS.map(() => `(?, ?, 'waiting', ${madeAt("?")})`).join(", ")}`,
			)
			.bind(...DEPTHS.flatMap((depth, j) => [readers[j], bookId, depth - j - 0.5]))
			.run();
	}
	// Beyond the cap: readers in lines of 100,000 (one book) and 20,000 (the other 99).
	const deepReaders: number[] = [];
	for (const { name } of DEEP_READERS) deepReaders.push(await addReader(deepAccount(name)));
	for (let k = 0; k < READER_BOOKS; k++) {
		const size = k === 0 ? DEEP_LINE : DEEP_OTHER;
		const bookId = await addBook(`Deep ${k}`);
		await line(bookId, (k * DEEP_OTHER) % USERS, size);
		// As above: the j-th reader has `fraction × size` ahead, the shallower reader included.
		await db
			.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status, created_at) VALUES ${DEEP_READERS.map(() => `(?, ?, 'waiting', ${madeAt("?")})`).join(", ")}`,
			)
			.bind(...DEEP_READERS.flatMap(({ fraction }, j) => [deepReaders[j], bookId, fraction * size - j - 0.5]))
			.run();
	}
	return { holdBooks };
});
console.log(`(seeded in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s)`);

const num = (value: unknown) => (typeof value === "number" ? value : Number.NaN);
const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString("en-US") : "?");
const ms = (n: number) => `${n.toFixed(0)} ms`;
const pause = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

/** The bench Worker's `X-Bench-D1: <round trips>;<rows read>;<rows written>`. */
function rows(answer: Answer): { read: number; written: number } {
	const [, read = Number.NaN, written = Number.NaN] = (answer.res.headers.get("X-Bench-D1") ?? "")
		.split(";")
		.map(Number);
	return { read, written };
}

/**
 * Waits until every offer made so far is on the queue: the readers the `offer_round_published` log lines
 * count (requests and cron runs) against the ids the worker's producer counted (bench/tallying-queue.ts;
 * a long round's rest is published by the `prebook-publication` queue's steps, which run in `wrangler dev`
 * too). The time spent waiting is added up for the summary.
 */
let waitedForPublication = 0;
async function drained(server: DevServer, timeoutMs = 2 * 60 * 1000): Promise<void> {
	const started = performance.now();
	for (;;) {
		const offered = server.events("offer_round_published").reduce((sum, e) => sum + num(e.offered), 0);
		const tallies = (await (await fetch(`${server.base}/__bench/published`)).json()) as Record<
			string,
			{ ids: number }
		>;
		const published = Object.entries(tallies)
			.filter(([key]) => key.startsWith("prebook.offered:"))
			.reduce((sum, [, tally]) => sum + tally.ids, 0);
		if (published >= offered) {
			waitedForPublication += performance.now() - started;
			return;
		}
		if (performance.now() - started > timeoutMs)
			throw new Error(`${published} of ${offered} offered readers on the queue within ${timeoutMs} ms`);
		await pause(250);
	}
}

/** The first logged `name` event matching `match`, waiting for the log line to arrive (it may trail the response). */
async function logged(
	server: DevServer,
	name: string,
	match: (event: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
	for (let attempt = 0; attempt < 100; attempt++) {
		const event = server.events(name).find(match);
		if (event) return event;
		await pause(100);
	}
	throw new Error(`the Worker did not log ${name}`);
}

function problems(server: DevServer): string[] {
	const bad = [
		"offer_round_publish_failed",
		"hold_expiry_failed",
		"cron_task_failed",
		"prebook_emails_error",
		"offer_round_relayed",
		"restock_relayed",
	];
	return bad.flatMap((name) => server.events(name).map((event) => JSON.stringify(event)));
}

/** Parts 1 and 2: the hold_queue restocks, then the expiry sweep run until idle. */
async function holdAndExpire(base: string, admin: string): Promise<void> {
	// 1. The hold_queue restock.
	console.log(
		"\nhold_queue restock (PATCH /books/{id}/stock 0 → half the line)\n" +
			"waiting   offered   response   d1 round trips   d1 time   rows read   rows written   ms per 1k offered",
	);
	for (const [index, waiting] of WAITING.entries()) {
		const bookId = seeded.holdBooks[index] as number;
		const copies = waiting / 2;
		const answer = await call(base, "PATCH", `/books/${bookId}/stock`, {
			body: { quantity: copies },
			token: admin,
		});
		if (!answer.res.ok)
			throw new Error(`restock answered ${answer.res.status}: ${JSON.stringify(answer.body)}`);
		const timing = d1Timing(answer.res);
		const published = await logged(server, "offer_round_published", (event) => event.book_id === bookId);
		await drained(server);
		const book = await call(base, "GET", `/books/${bookId}`);
		const held = [answer.body.held_quantity, book.body.held_quantity, published.offered];
		if (!held.every((n) => n === copies))
			throw new Error(
				`expected ${copies} offered; response, GET /books (${book.res.status}: ${JSON.stringify(book.body).slice(0, 300)}) and the log say ${held.join(", ")}`,
			);
		const { read, written } = rows(answer);
		console.log(
			[
				fmt(waiting).padStart(7),
				fmt(copies).padStart(9),
				ms(answer.ms).padStart(10),
				String(timing?.roundTrips ?? "?").padStart(16),
				`${timing?.ms ?? "?"} ms`.padStart(9),
				fmt(read).padStart(11),
				fmt(written).padStart(14),
				(answer.ms / (copies / 1000)).toFixed(1).padStart(19),
			].join(" "),
		);
	}
	console.log(
		`(offered checked three ways: the response's and GET /books/{id}'s held_quantity and offer_round_published; ` +
			`published as ${server
				.events("offer_round_published")
				.map((e) => `${fmt(num(e.messages))} messages in ${fmt(num(e.batches))} sendBatch calls`)
				.join(" / ")})`,
	);

	// 2. The expiry sweep: every hold above lapsed (a time past their 48 hours, and past the 09:00 that quiet
	// hours move an end between 21:00 and 09:00 to: up to 12 hours more), the cron run until idle.
	console.log(
		`\nexpiry sweep (GET /cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=<now + ${HOLD_HOURS + QUIET_HOURS_SHIFT + 1} h>, run after run)\n` +
			"run   batches   expired   offered   duration   d1 round trips   rows read   rows written   ms per 1k expired   per book (expired)",
	);
	const lapsedAt = Date.now() + (HOLD_HOURS + QUIET_HOURS_SHIFT + 1) * HOUR;
	const expiredPerBook = new Map<number, number>();
	for (let run = 1; run <= MAX_CRON_RUNS; run++) {
		// One millisecond apart, so each run's log lines carry their own scheduled_time.
		const time = lapsedAt + run;
		const scheduledTime = new Date(time).toISOString();
		const answer = await call(base, "GET", `/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=${time}`);
		if (!answer.res.ok)
			throw new Error(`the cron run answered ${answer.res.status}: ${JSON.stringify(answer.body)}`);
		// Logged by bench/metered-worker.ts once the run's work is done, after every line of the run.
		const meter = await logged(server, "bench_cron_run", (event) => event.scheduled_time === scheduledTime);
		const batches = server.events("holds_expired").filter((event) => event.scheduled_time === scheduledTime);
		const expired = batches.reduce((sum, e) => sum + num(e.expired), 0);
		const offered = batches.reduce((sum, e) => sum + num(e.offered), 0);
		const perBook = new Map<number, number>();
		for (const batch of batches) {
			const bookId = num(batch.book_id);
			perBook.set(bookId, (perBook.get(bookId) ?? 0) + num(batch.expired));
			expiredPerBook.set(bookId, (expiredPerBook.get(bookId) ?? 0) + num(batch.expired));
		}
		await drained(server);
		console.log(
			[
				String(run).padStart(3),
				String(batches.length).padStart(9),
				fmt(expired).padStart(9),
				fmt(offered).padStart(9),
				ms(answer.ms).padStart(10),
				fmt(num(meter.d1_round_trips)).padStart(16),
				fmt(num(meter.d1_rows_read)).padStart(11),
				fmt(num(meter.d1_rows_written)).padStart(14),
				(expired > 0 ? (answer.ms / (expired / 1000)).toFixed(1) : "—").padStart(19),
				`  ${[...perBook].map(([book, n]) => `${fmt(WAITING[seeded.holdBooks.indexOf(book)] ?? book)} line: ${fmt(n)}`).join(", ") || "nothing lapsed"}`,
			].join(" "),
		);
		if (expired === 0) break;
	}
	for (const [index, waiting] of WAITING.entries()) {
		const bookId = seeded.holdBooks[index] as number;
		const copies = waiting / 2;
		const book = await call(base, "GET", `/books/${bookId}`);
		// Every hold expired once, and its copy went to the next in line (the line had as many again).
		if (expiredPerBook.get(bookId) !== copies || book.body.held_quantity !== copies)
			throw new Error(
				`${waiting} line: expected ${copies} expired and ${copies} held again, got ${expiredPerBook.get(bookId)} and ${book.body.held_quantity}`,
			);
	}
	console.log(
		`(checked: ${WAITING.map((n) => fmt(n / 2)).join(" / ")} holds expired, and as many offered to the next in line — held_quantity unchanged)`,
	);
}

const server = await startDevServer(STATE, "bench/metered-worker.ts");
try {
	const { base } = server;
	const admin = await login(base, BENCH_ADMIN);

	if (!PLACE_ONLY) await holdAndExpire(base, admin);

	// 3. GET /prebooks with the place in line, for each depth.
	console.log(
		`\nGET /prebooks?limit=100 — ${READER_BOOKS} waiting pre-bookings each on a line of ${fmt(LINE)}, ${GET_PREBOOKS_REPEATS} requests per reader\n` +
			"ahead on each   response (each request)          d1 round trips   d1 time (each request)      rows read",
	);
	for (const depth of DEPTHS) {
		const reader = await login(base, readerAccount(depth));
		const answers: Answer[] = [];
		for (let i = 0; i < GET_PREBOOKS_REPEATS; i++) {
			const answer = await call(base, "GET", "/prebooks?limit=100", { token: reader });
			if (!answer.res.ok) throw new Error(`GET /prebooks answered ${answer.res.status}`);
			const items = answer.body.items as { position: number | null }[];
			if (items.length !== READER_BOOKS || items.some((item) => item.position !== depth + 1))
				throw new Error(
					`expected ${READER_BOOKS} items at position ${depth + 1}, got ${JSON.stringify(items.slice(0, 3))}…`,
				);
			const trips = d1Timing(answer.res)?.roundTrips;
			if (trips !== 1) throw new Error(`GET /prebooks took ${trips} D1 round trips`);
			answers.push(answer);
		}
		const each = (values: number[]) => `${values.map((v) => v.toFixed(0)).join(" / ")} ms`;
		console.log(
			[
				fmt(depth).padStart(13),
				` ${each(answers.map((a) => a.ms))}`.padEnd(34),
				"1".padStart(14),
				`   ${each(answers.map((a) => d1Timing(a.res)?.ms ?? Number.NaN))}`.padEnd(30),
				[...new Set(answers.map((a) => fmt(rows(a).read)))].join(", ").padStart(9),
			].join(" "),
		);
	}
	console.log(`(checked: ${READER_BOOKS} items per reader, each at position ahead + 1)`);

	// 3b. Beyond the cap.
	console.log(
		`\nGET /prebooks?limit=100 beyond the cap — ${READER_BOOKS} waiting pre-bookings each: 1 on a line of ${fmt(DEEP_LINE)}, ${READER_BOOKS - 1} on lines of ${fmt(DEEP_OTHER)}, ${GET_PREBOOKS_REPEATS} requests per reader\n` +
			"reader   ahead (100k line / 20k lines)   response (each request)          d1 round trips   d1 time (each request)      rows read   largest error",
	);
	for (const { name, fraction } of DEEP_READERS) {
		const reader = await login(base, deepAccount(name));
		const answers: Answer[] = [];
		let largestError = 0;
		for (let i = 0; i < GET_PREBOOKS_REPEATS; i++) {
			const answer = await call(base, "GET", "/prebooks?limit=100", { token: reader });
			if (!answer.res.ok) throw new Error(`GET /prebooks answered ${answer.res.status}`);
			const items = answer.body.items as { book_title: string; position: number | null }[];
			if (items.length !== READER_BOOKS)
				throw new Error(`expected ${READER_BOOKS} items, got ${items.length}`);
			for (const item of items) {
				const ahead = fraction * (item.book_title === "Deep 0" ? DEEP_LINE : DEEP_OTHER);
				const error = Math.abs((item.position ?? Number.NaN) - (ahead + 1));
				if (!(error <= (fraction === 1 ? 0 : 0.01 * ahead)))
					throw new Error(`${name} reader: expected position ${ahead + 1}, got ${item.position}`);
				largestError = Math.max(largestError, error);
			}
			const trips = d1Timing(answer.res)?.roundTrips;
			if (trips !== 1) throw new Error(`GET /prebooks took ${trips} D1 round trips`);
			answers.push(answer);
		}
		const each = (values: number[]) => `${values.map((v) => v.toFixed(0)).join(" / ")} ms`;
		console.log(
			[
				name.padEnd(6),
				`${fmt(fraction * DEEP_LINE)} / ${fmt(fraction * DEEP_OTHER)}`.padStart(31),
				` ${each(answers.map((a) => a.ms))}`.padEnd(34),
				"1".padStart(14),
				`   ${each(answers.map((a) => d1Timing(a.res)?.ms ?? Number.NaN))}`.padEnd(30),
				[...new Set(answers.map((a) => fmt(rows(a).read)))].join(", ").padStart(9),
				String(largestError).padStart(15),
			].join(" "),
		);
	}
	console.log("(checked: the back reader's positions exact, the middle reader's within 1 %)");

	console.log(
		`\n(before each measurement the bench waited until every offer was on the queue: ${(waitedForPublication / 1000).toFixed(0)} s in all)`,
	);
	const found = problems(server);
	if (found.length > 0) throw new Error(`the Worker logged problems:\n${found.join("\n")}`);
} finally {
	await cleanUp();
}
