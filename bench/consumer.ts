/**
 * `npm run bench:consumer`: the restock email consumer working through 100,000 notified recipients.
 *
 * Runs bench/consumer-worker.ts in wrangler's local test harness (in memory, on a port the system picks):
 * the production queue consumer, given a recording mailer and a metered D1. The recipients are published
 * as the producer publishes them (100 ids a message, `sendBatch` calls of 100 messages) to a local
 * `prebook-notifications` queue consumed with wrangler.toml's settings (batches of 10 messages). Prints
 * emails per second and D1 round trips per 100 recipients, and fails unless every recipient got exactly
 * one email and the ledger records it as sent.
 *
 * `--send-ms=N` makes every send wait N ms, as a provider would (default 0: the consumer's own cost).
 */
import { randomBytes } from "node:crypto";
import { createTestHarness, unstable_readConfig } from "wrangler";
import { LOCAL_VARS } from "../scripts/local-vars.ts";

// wrangler logs every queue batch at "info"; keep warnings and errors.
process.env.WRANGLER_LOG ??= "warn";

const RECIPIENTS = 100_000;
const IDS_PER_MESSAGE = 100;
const MESSAGES_PER_SEND = 100;
const QUEUE = "prebook-notifications";
const TIMEOUT_MS = 10 * 60 * 1000;
const sendMs = Number(/^--send-ms=(\d+)$/.exec(process.argv[2] ?? "")?.[1] ?? 0);

interface Seeded {
	book_id: number;
	restock_id: number;
	notified_at: string;
	user_ids: number[];
}

interface Stats {
	emails: number;
	recipients: number;
	d1: { roundTrips: number; durationMs: number; rowsRead: number; rowsWritten: number };
	ledger: Record<string, number>;
}

/** The producer binding as seen from Node. */
interface LocalQueue {
	sendBatch(messages: { body: unknown }[]): Promise<unknown>;
}

// The bench Worker gets the app's D1 database, compatibility date, zod alias and queue consumer settings.
const app = unstable_readConfig({ config: "wrangler.toml" });
const consumer = app.queues.consumers?.find((declared: { queue: string }) => declared.queue === QUEUE);
const db = app.d1_databases[0];
if (!consumer || !db) throw new Error(`wrangler.toml declares no ${QUEUE} consumer or no D1 database`);

const server = createTestHarness({
	workers: [
		{
			config: {
				name: "bench-consumer",
				main: "bench/consumer-worker.ts",
				compatibility_date: app.compatibility_date,
				// The consumer reads the app's configuration (MAIL_FROM, APP_URL…), which also requires a secret.
				vars: {
					...app.vars,
					...LOCAL_VARS,
					JWT_SECRET: randomBytes(32).toString("base64url"),
					UNSUBSCRIBE_SECRET: randomBytes(32).toString("base64url"),
				},
				alias: app.alias,
				d1_databases: [{ binding: "DB", database_id: db.database_id, migrations_dir: db.migrations_dir }],
				queues: {
					producers: [{ binding: "PREBOOK_QUEUE", queue: QUEUE }],
					// No retries: a failed delivery must fail the benchmark, not hide in a retry.
					consumers: [
						{
							queue: QUEUE,
							max_batch_size: consumer.max_batch_size,
							max_batch_timeout: consumer.max_batch_timeout,
							max_retries: 0,
						},
					],
				},
			},
		},
	],
});

/** Errors and warnings the bench Worker logged (a failed send is logged as a warning). */
const problems = () =>
	server
		.getLogs()
		.filter((log: { level: string }) => log.level === "error" || log.level === "warn")
		.map((log: { message: string }) => log.message);

try {
	await server.listen();
	const worker = server.getWorker();
	await worker.applyD1Migrations("DB");
	console.log(`Seeding ${RECIPIENTS.toLocaleString()} notified recipients…`);
	const seeded = (await (
		await worker.fetch("/seed", { method: "POST", body: JSON.stringify({ recipients: RECIPIENTS, sendMs }) })
	).json()) as Seeded;

	const { user_ids, ...restock } = seeded;
	const messages = [];
	for (let i = 0; i < user_ids.length; i += IDS_PER_MESSAGE)
		messages.push({
			body: { type: "prebook.notified", ...restock, user_ids: user_ids.slice(i, i + IDS_PER_MESSAGE) },
		});

	const queue = (await worker.getEnv()).PREBOOK_QUEUE as LocalQueue;
	const started = performance.now();
	for (let i = 0; i < messages.length; i += MESSAGES_PER_SEND)
		await queue.sendBatch(messages.slice(i, i + MESSAGES_PER_SEND));
	let stats: Stats;
	for (;;) {
		stats = (await (await worker.fetch("/stats")).json()) as Stats;
		if (stats.emails >= RECIPIENTS) break;
		if (problems().length > 0) throw new Error(`the consumer reported problems:\n${problems().join("\n")}`);
		if (performance.now() - started > TIMEOUT_MS)
			throw new Error(`timed out with ${stats.emails} of ${RECIPIENTS} emails`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	const seconds = (performance.now() - started) / 1000;

	const per100 = (value: number) =>
		((value / RECIPIENTS) * 100).toLocaleString(undefined, { maximumFractionDigits: 2 });
	console.log(
		[
			"",
			`recipients         ${RECIPIENTS.toLocaleString()} in ${messages.length.toLocaleString()} messages, consumed ${consumer.max_batch_size} messages per invocation${sendMs ? `, ${sendMs} ms per send` : ""}`,
			`emails per second  ${Math.round(stats.emails / seconds).toLocaleString()} (${stats.emails.toLocaleString()} emails in ${seconds.toFixed(1)} s, publishing included)`,
			`D1 round trips     ${per100(stats.d1.roundTrips)} per 100 recipients (${stats.d1.roundTrips.toLocaleString()} in all, ${(stats.d1.durationMs / 1000).toFixed(1)} s spent in D1)`,
			`D1 rows            ${per100(stats.d1.rowsRead)} read, ${per100(stats.d1.rowsWritten)} written per 100 recipients`,
		].join("\n"),
	);
	if (
		stats.recipients !== RECIPIENTS ||
		stats.ledger.sent !== RECIPIENTS ||
		Object.keys(stats.ledger).length !== 1
	)
		throw new Error(
			`expected ${RECIPIENTS} distinct emails, each sent once in the ledger: ${JSON.stringify(stats)}`,
		);
	if (problems().length > 0) throw new Error(`the consumer reported problems:\n${problems().join("\n")}`);
} finally {
	await server.close();
}
