/**
 * The Worker that `npm run bench:consumer` (bench/consumer.ts) runs locally; never deployed. Its queue
 * handler is the production consumer of `prebook-notifications`, given a mailer that records instead of
 * sending and a D1 binding that counts round trips (the same metering as `Server-Timing`). Its fetch
 * handler seeds the notified recipients and reports what was recorded.
 */
import { createDb, newD1Usage } from "../src/lib/db.ts";
import type { Mailer } from "../src/lib/mailer.ts";
import { consumePrebookNotifications } from "../src/prebook-emails/email-consumer.ts";

const usage = newD1Usage();
const recipients = new Set<string>();
let emails = 0;
/** Simulated provider latency per send (0: the consumer's own cost only). */
let sendMs = 0;

const recordingMailer: Mailer = {
	async send(email) {
		if (sendMs > 0) await new Promise((resolve) => setTimeout(resolve, sendMs));
		if (!email.subject.startsWith("Back in stock: ")) throw new Error(`unexpected subject ${email.subject}`);
		emails += 1;
		recipients.add(email.to);
	},
};

/** `count` active users, each with a pre-booking `notified` by one restock of one book. */
async function seed(db: D1Database, count: number) {
	await db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			 INSERT INTO users (email, password_hash, full_name, email_verified) SELECT 'reader-' || i || '@example.com', 'x', 'Reader ' || i, 1 FROM n`,
		)
		.bind(count)
		.run();
	const book = await db
		.prepare(
			"INSERT INTO books (title, author, price_cents, stock_quantity) VALUES ('Bench', 'Bench', 1000, 5) RETURNING id",
		)
		.first<{ id: number }>();
	if (!book) throw new Error("could not seed the book");
	const notifiedAt = new Date().toISOString();
	const restock = await db
		.prepare(
			"INSERT INTO restocks (book_id, quantity_before, quantity_after, notified_count, published_at) VALUES (?, 0, 5, ?, ?) RETURNING id",
		)
		.bind(book.id, count, notifiedAt)
		.first<{ id: number }>();
	if (!restock) throw new Error("could not seed the restock");
	await db
		.prepare(
			`INSERT INTO pre_bookings (user_id, book_id, status, notified_at, restock_id)
			 SELECT id, ?, 'notified', ?, ? FROM users ORDER BY id`,
		)
		.bind(book.id, notifiedAt, restock.id)
		.run();
	const users = await db.prepare("SELECT id FROM users ORDER BY id").raw<[number]>();
	return {
		book_id: book.id,
		restock_id: restock.id,
		notified_at: notifiedAt,
		user_ids: users.map(([id]) => id),
	};
}

async function ledger(db: D1Database) {
	const { results } = await db
		.prepare("SELECT status, count(*) AS count FROM email_deliveries GROUP BY status")
		.all<{ status: string; count: number }>();
	return Object.fromEntries(results.map((row) => [row.status, row.count]));
}

export default {
	async queue(batch, env) {
		await consumePrebookNotifications(
			batch,
			{ ...env, DB: createDb(env.DB, usage).$client },
			recordingMailer,
		);
	},

	async fetch(request, env) {
		const url = new URL(request.url);
		if (request.method === "POST" && url.pathname === "/seed") {
			const options = (await request.json()) as { recipients: number; sendMs: number };
			sendMs = options.sendMs;
			return Response.json(await seed(env.DB, options.recipients));
		}
		if (url.pathname === "/stats") {
			return Response.json({ emails, recipients: recipients.size, d1: usage, ledger: await ledger(env.DB) });
		}
		return new Response("not found", { status: 404 });
	},
} satisfies ExportedHandler<Env>;
