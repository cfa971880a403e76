/**
 * `npm run bench`: times the restock fan-out end to end under `wrangler dev`.
 *
 * For 1,000, 10,000 and 100,000 waiting pre-bookings of one book it sends `PATCH /books/{id}/stock`
 * (0 → 5) and prints the response time (the D1 batch plus publishing every notified id to the queue),
 * the D1 round trips and time from Server-Timing, and the rows D1 read and wrote. It uses its own local
 * state under .wrangler/bench (your dev data is untouched) and stops the server when done.
 * The seeded users are inactive, so the queue consumer skips them instead of sending 100,000 emails.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { getPlatformProxy } from "wrangler";

const SIZES = [1_000, 10_000, 100_000];
const STATE = ".wrangler/bench";
const ADMIN = { email: "admin@bookstore.local", password: "bench-admin-password" };
const JWT_SECRET = randomBytes(32).toString("base64url");

function wrangler(args: string[]): void {
	const result = spawnSync("wrangler", args, {
		stdio: ["ignore", "ignore", "inherit"],
		env: { ...process.env, CI: "true" },
	});
	if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed`);
}

/** The part of the D1 binding the seeding uses (this script runs in Node, without Workers types). */
interface LocalD1 {
	prepare(query: string): {
		bind(...values: unknown[]): { run(): Promise<unknown>; first<T>(): Promise<T | null> };
	};
}

async function seed(): Promise<number[]> {
	const { env, dispose } = await getPlatformProxy<{ DB: LocalD1 }>({
		configPath: "wrangler.toml",
		persist: { path: `${STATE}/v3` },
	});
	try {
		const max = Math.max(...SIZES);
		await env.DB.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, is_active) SELECT 'bench-' || i || '@example.com', 'x', 0 FROM n`,
		)
			.bind(max)
			.run();
		const bookIds: number[] = [];
		for (const size of SIZES) {
			const book = await env.DB.prepare(
				"INSERT INTO books (title, author, price_cents, stock_quantity) VALUES (?, 'Bench', 1000, 0) RETURNING id",
			)
				.bind(`Bench ${size}`)
				.first<{ id: number }>();
			if (!book) throw new Error("could not seed a book");
			await env.DB.prepare(
				`INSERT INTO pre_bookings (user_id, book_id, status)
				 SELECT id, ?, 'waiting' FROM users WHERE email LIKE 'bench-%' ORDER BY id LIMIT ?`,
			)
				.bind(book.id, size)
				.run();
			bookIds.push(book.id);
		}
		return bookIds;
	} finally {
		await dispose();
	}
}

/**
 * The address `wrangler dev --port 0` bound: the system picks a free port, so a busy one can never make
 * the benchmark measure another server. Fails loudly if wrangler exits or never says where it listens.
 */
async function serverAddress(server: ChildProcess, logLines: string[]): Promise<string> {
	for (let attempt = 0; attempt < 120; attempt++) {
		if (server.exitCode !== null) throw new Error(`wrangler dev exited:\n${logLines.join("\n")}`);
		for (const line of logLines) {
			const ready = /Ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
			if (ready?.[1] && (await fetch(`${ready[1]}/health`).catch(() => null))?.ok) return ready[1];
		}
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	throw new Error("wrangler dev did not start within 60 s");
}

async function json(base: string, method: string, path: string, body: unknown, token?: string) {
	const res = await fetch(`${base}${path}`, {
		method,
		headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
		body: JSON.stringify(body),
	});
	return { res, body: (await res.json()) as Record<string, unknown> };
}

rmSync(STATE, { recursive: true, force: true });
wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE]);
console.log(
	`Seeding ${Math.max(...SIZES).toLocaleString()} users and ${SIZES.map((s) => s.toLocaleString()).join(" / ")} waiting pre-bookings…`,
);
const bookIds = await seed();

const logLines: string[] = [];
const server = spawn(
	"wrangler",
	["dev", "--port", "0", "--ip", "127.0.0.1", "--persist-to", STATE, "--var", `JWT_SECRET:${JWT_SECRET}`],
	{ stdio: ["ignore", "pipe", "pipe"] },
);
for (const stream of [server.stdout, server.stderr])
	stream?.on("data", (chunk: Buffer) => logLines.push(...chunk.toString().split("\n")));

try {
	const base = await serverAddress(server, logLines);
	await json(base, "POST", "/auth/register", ADMIN);
	const login = await json(base, "POST", "/auth/login", ADMIN);
	const token = login.body.access_token as string;

	console.log("\nwaiting   response   d1 round trips   d1 time   rows read   rows written   ms per 1k");
	for (const [index, size] of SIZES.entries()) {
		const bookId = bookIds[index];
		const started = performance.now();
		const { res } = await json(base, "PATCH", `/books/${bookId}/stock`, { quantity: 5 }, token);
		const elapsed = performance.now() - started;
		if (!res.ok) throw new Error(`restock answered ${res.status}`);
		const timing = res.headers.get("Server-Timing") ?? "";
		const [, d1Ms = "?", trips = "?"] = /d1;dur=([\d.]+);desc="(\d+)"/.exec(timing) ?? [];
		await new Promise((resolve) => setTimeout(resolve, 300));
		const logged = logLines
			.map((line) => /\{.*"event":"restock_notified".*\}/.exec(line)?.[0])
			.filter((line): line is string => Boolean(line))
			.map((line) => JSON.parse(line) as Record<string, number>)
			.find((event) => event.book_id === bookId);
		console.log(
			[
				size.toLocaleString().padStart(7),
				`${elapsed.toFixed(0)} ms`.padStart(10),
				String(trips).padStart(16),
				`${d1Ms} ms`.padStart(9),
				String(logged?.d1_rows_read ?? "?").padStart(11),
				String(logged?.d1_rows_written ?? "?").padStart(14),
				(elapsed / (size / 1000)).toFixed(1).padStart(11),
			].join(" "),
		);
		if (logged && logged.notified !== size)
			throw new Error(`expected ${size} notified, got ${logged.notified}`);
	}
	const failures = logLines.filter((line) => line.includes("restock_publish_failed"));
	if (failures.length > 0) throw new Error(`publishing failed:\n${failures.join("\n")}`);
} finally {
	server.kill("SIGTERM");
}
