/**
 * What the `wrangler dev` benchmarks share (bench/restock.ts, bench/hold-queue.ts): a fresh local D1 under
 * its own state directory, seeded directly through `getPlatformProxy` (never through the API), then
 * `wrangler dev --port 0` on that state, its address read from what wrangler reports, and its log lines
 * kept so a benchmark can read the events the Worker logged.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { getPlatformProxy } from "wrangler";
import { localVarArgs } from "../scripts/local-vars.ts";
import { hashPassword } from "../src/lib/password.ts";

function wrangler(args: string[]): void {
	const result = spawnSync("wrangler", args, {
		stdio: ["ignore", "ignore", "inherit"],
		env: { ...process.env, CI: "true" },
	});
	if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed`);
}

/** The part of the D1 binding the seeding uses (this script runs in Node, without Workers types). */
export interface LocalD1 {
	prepare(query: string): {
		bind(...values: unknown[]): { run(): Promise<unknown>; first<T>(): Promise<T | null> };
	};
}

/**
 * What a benchmark leaves behind — its `wrangler dev` servers, its local state (a D1 of 100,000 users is
 * hundreds of MB) — undone by `cleanUp()`, which every benchmark awaits when it ends, and on Ctrl-C or
 * SIGTERM: servers stopped first, then their state removed.
 */
const cleanups: (() => Promise<void> | void)[] = [];

let cleaning: Promise<void> | undefined;

/**
 * `wrangler dev` rebuilds the Worker when a file it bundles changes (an edit under src/ while a benchmark
 * runs): the new isolate has lost the old one's in-memory state (the tallies, the remembered policies) and
 * its first requests pay the new isolate's start. Said at once, and the run fails.
 */
function rebuiltMidRun(): void {
	if (process.exitCode) return;
	console.error(
		"\n✗ a source file changed during the run: wrangler rebuilt the Worker mid-benchmark, so these figures are not to be trusted. Run it again without editing.",
	);
	process.exitCode = 1;
}

/** Undoes everything registered, once: a second call (Ctrl-C, then the benchmark's `finally`) waits for the first. */
export function cleanUp(): Promise<void> {
	cleaning ??= (async () => {
		for (const undo of cleanups.splice(0).reverse()) {
			try {
				await undo();
			} catch (err) {
				console.error(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
			}
		}
	})();
	return cleaning;
}

// `on`, not `once`: stopping wrangler may signal the process group again, which must not kill this process
// before the state is removed.
for (const signal of ["SIGINT", "SIGTERM"] as const)
	process.on(signal, () => {
		if (cleaning) return;
		console.error(`\n${signal}: stopping the servers and removing the benchmark's state…`);
		void cleanUp().finally(() => process.exit(130));
	});
// A benchmark that failed outside its `finally` (while seeding, say): what is left goes as the process exits
// (servers are sent SIGTERM, state is removed, without waiting).
process.once("exit", () => {
	for (const undo of cleanups.splice(0).reverse()) {
		try {
			void undo();
		} catch {
			// Exiting anyway.
		}
	}
});

/** Removes `path` (a benchmark's state) when the benchmark ends. */
function removeWhenDone(path: string): void {
	cleanups.push(() => rmSync(path, { recursive: true, force: true }));
}

/** The benchmark's admin, made directly (admin comes with a verified address, never with registration). */
export const BENCH_ADMIN = { email: "admin@bookstore.local", password: "bench-admin-password" };

export async function seedBenchAdmin(db: LocalD1): Promise<void> {
	await db
		.prepare(
			"INSERT INTO users (email, password_hash, full_name, role, email_verified) VALUES (?, ?, 'Bench Admin', 'admin', 1)",
		)
		.bind(BENCH_ADMIN.email, await hashPassword(BENCH_ADMIN.password))
		.run();
}

/**
 * `count` readers `<prefix>-1@example.com` … `<prefix>-<count>@example.com`, with a verified address unless
 * `verified` is false, active unless `active` is false (the consumer emails no inactive reader).
 */
export async function seedReaders(
	db: LocalD1,
	prefix: string,
	count: number,
	{ verified = true, active = true }: { verified?: boolean; active?: boolean } = {},
): Promise<void> {
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, email_verified, is_active)
			 SELECT ? || '-' || i || '@example.com', 'x', ?, ? FROM n`,
		)
		.bind(count, prefix, verified ? 1 : 0, active ? 1 : 0)
		.run();
}

/** An out-of-stock book that follows `allocation`; its id. */
export async function seedBook(db: LocalD1, title: string, allocation = "notify_all"): Promise<number> {
	const book = await db
		.prepare(
			"INSERT INTO books (title, author, price_cents, stock_quantity, allocation) VALUES (?, 'Bench', 1000, 0, ?) RETURNING id",
		)
		.bind(title, allocation)
		.first<{ id: number }>();
	if (!book) throw new Error(`could not seed the book ${title}`);
	return book.id;
}

/** The first `size` readers of `prefix` (in id order) waiting for the book, in that order. */
export async function seedLine(db: LocalD1, bookId: number, prefix: string, size: number): Promise<void> {
	await db
		.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status)
			 SELECT id, ?, 'waiting' FROM users WHERE email LIKE ? || '-%' ORDER BY id LIMIT ?`,
		)
		.bind(bookId, prefix, size)
		.run();
}

/** An open draw on a lottery book, with a fixed seed: the benchmarks measure the work, not the secrecy. */
export async function seedOpenDraw(db: LocalD1, bookId: number): Promise<void> {
	await db
		.prepare(
			"INSERT INTO draws (book_id, status, seed, seed_commitment, opened_at) VALUES (?, 'open', ?, ?, ?)",
		)
		.bind(bookId, "ab".repeat(32), "cd".repeat(32), new Date().toISOString())
		.run();
}

/**
 * Deletes `state`, applies the migrations to a fresh local D1 there, and hands its binding to `seed`; the
 * state is removed again by `cleanUp()`.
 */
export async function seedFreshState<T>(state: string, seed: (db: LocalD1) => Promise<T>): Promise<T> {
	rmSync(state, { recursive: true, force: true });
	removeWhenDone(state);
	wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
	const { env, dispose } = await getPlatformProxy<{ DB: LocalD1 }>({
		configPath: "wrangler.toml",
		persist: { path: `${state}/v3` },
	});
	try {
		return await seed(env.DB);
	} finally {
		await dispose();
	}
}

export interface DevServer {
	base: string;
	/** wrangler's process id (workerd runs among its descendants). */
	pid: number;
	/** Everything wrangler and the Worker printed so far, line by line. */
	logLines: string[];
	/** The JSON log lines of one event (`{"event": name, …}`) the Worker printed so far. */
	events(name: string): Record<string, unknown>[];
	/** Stops wrangler; resolves once it has exited (`cleanUp()` does it too). */
	stop(): Promise<void>;
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

/**
 * `wrangler dev` on `state` (with a fresh JWT_SECRET); `entry` replaces wrangler.toml's `main`, `extraArgs`
 * are added to wrangler's (e.g. `--inspector-port`).
 */
export async function startDevServer(
	state: string,
	entry?: string,
	extraArgs: string[] = [],
): Promise<DevServer> {
	const jwtSecret = randomBytes(32).toString("base64url");
	const logLines: string[] = [];
	const server = spawn(
		"wrangler",
		[
			"dev",
			...(entry ? [entry] : []),
			"--port",
			"0",
			"--ip",
			"127.0.0.1",
			"--persist-to",
			state,
			...extraArgs,
			// The development configuration (never wrangler.toml's production one) and fresh secrets.
			...localVarArgs({
				JWT_SECRET: jwtSecret,
				UNSUBSCRIBE_SECRET: randomBytes(32).toString("base64url"),
			}),
		],
		{ stdio: ["ignore", "pipe", "pipe"] },
	);
	for (const stream of [server.stdout, server.stderr])
		stream?.on("data", (chunk: Buffer) => {
			const lines = chunk.toString().split("\n");
			logLines.push(...lines);
			if (lines.some((line) => line.includes("Reloading local server"))) rebuiltMidRun();
		});
	const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
	const stop = () => {
		if (server.exitCode === null && server.signalCode === null) server.kill("SIGTERM");
		return exited;
	};
	cleanups.push(stop);
	try {
		const base = await serverAddress(server, logLines);
		const events = (name: string) =>
			logLines
				.map((line) => /\{.*"event":"([a-z_]+)".*\}/.exec(line))
				.filter((match): match is RegExpExecArray => match?.[1] === name)
				.map((match) => JSON.parse(match[0]) as Record<string, unknown>);
		return { base, pid: server.pid as number, logLines, events, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}

export interface Answer {
	res: Response;
	body: Record<string, unknown>;
	/** From sending the request to the whole body received. */
	ms: number;
}

export async function call(
	base: string,
	method: string,
	path: string,
	options: { body?: unknown; token?: string } = {},
): Promise<Answer> {
	const started = performance.now();
	const res = await fetch(`${base}${path}`, {
		method,
		headers: {
			...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
			...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
		},
		body: options.body === undefined ? undefined : JSON.stringify(options.body),
	});
	const text = await res.text();
	const ms = performance.now() - started;
	let body: Record<string, unknown> = {};
	try {
		body = JSON.parse(text) as Record<string, unknown>;
	} catch {
		body = { text };
	}
	return { res, body, ms };
}

/** The app's `Server-Timing: d1;dur=…;desc="<round trips>"`. */
export function d1Timing(res: Response): { ms: number; roundTrips: number } | null {
	const [, ms, trips] = /d1;dur=([\d.]+);desc="(\d+)"/.exec(res.headers.get("Server-Timing") ?? "") ?? [];
	return ms === undefined || trips === undefined ? null : { ms: Number(ms), roundTrips: Number(trips) };
}

export async function login(base: string, account: { email: string; password: string }): Promise<string> {
	const { res, body } = await call(base, "POST", "/auth/login", { body: account });
	if (!res.ok) throw new Error(`login of ${account.email} answered ${res.status}`);
	return body.access_token as string;
}
