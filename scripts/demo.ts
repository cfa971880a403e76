/**
 * `npm run demo`: the headline story against a running dev server, one line per step — sign in, pre-book
 * a book that is out of stock, restock it, the reader's email (its subject and the file it is in), a copy
 * held for the reader on a `hold_queue` book, a guest who pre-books with an address only and confirms
 * through the emailed link.
 *
 *   npm run demo                                  (the API of `npm run dev`: http://localhost:8787)
 *   npm run demo -- --url http://127.0.0.1:9000   (or DEMO_URL=…)
 *
 * It runs from any state, as often as you like: it first cancels the demo reader's active pre-bookings
 * (releasing a held copy), picks books that suit each step and, when none is out of stock any more, sets a
 * book's stock to its held copies ("sold out") or a book's policy, saying so. Emails are read where
 * `wrangler dev` puts them: its sent-email list (`/cdn-cgi/local/explorer/api/local/email/sending`) for
 * the subject, the file under .wrangler/tmp/email/ for the text. Each step shows exactly its own email: a
 * reader's is the one about the pre-booking the step made, a guest's goes to an address made for the run
 * (scripts/demo-emails.ts).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { DEMO_ADMIN, DEMO_READER } from "./demo-accounts.ts";
import { pickEmail, type SentEmail, type WantedEmail } from "./demo-emails.ts";

const HOLD_HOURS = 24;
const EMAIL_WAIT_MS = 30_000;
/** Where `wrangler dev`, started in this project, writes each email (`<session>/email-text/<id>.txt`). */
const EMAIL_DIR = join(process.cwd(), ".wrangler", "tmp", "email");

interface Book {
	id: number;
	title: string;
	stock_quantity: number;
	held_quantity: number;
	available_quantity: number;
	allocation: string;
}

interface PreBooking {
	id: number;
	book_id: number | null;
	status: string;
	position: number | null;
	hold_expires_at: string | null;
}

class DemoError extends Error {}

function baseUrl(args: string[]): string {
	const at = args.findIndex((arg) => arg === "--url" || arg.startsWith("--url="));
	const given = at < 0 ? process.env.DEMO_URL : args[at]?.includes("=") ? args[at]?.slice(6) : args[at + 1];
	return (given || "http://localhost:8787").replace(/\/+$/, "");
}

const base = baseUrl(process.argv.slice(2));

function say(step: string, detail: string): void {
	console.log(`  ${step.padEnd(12)} ${detail}`);
}

const ordinal = (n: number) =>
	`${n}${n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"}`;

/** One API call; any status but `expected` stops the demo, naming the call and the API's error. */
async function api<T>(
	method: string,
	path: string,
	options: { token?: string; body?: unknown; expected?: number } = {},
): Promise<T> {
	const res = await fetch(`${base}${path}`, {
		method,
		headers: {
			...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
			...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
		},
		body: options.body === undefined ? undefined : JSON.stringify(options.body),
	});
	const text = await res.text();
	const expected = options.expected ?? 200;
	if (res.status !== expected) {
		let reason = text.slice(0, 200);
		try {
			const error = JSON.parse(text) as { code?: string; detail?: string };
			if (error.code) reason = `${error.code}: ${error.detail ?? ""}`;
		} catch {
			// Not the API's JSON envelope: show the start of the body.
		}
		throw new DemoError(`${method} ${path} answered ${res.status} (expected ${expected}) — ${reason}`);
	}
	return (text ? JSON.parse(text) : undefined) as T;
}

async function serverIsUp(): Promise<void> {
	try {
		await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
	} catch {
		throw new DemoError(
			`no API answers at ${base}. Start it with \`npm run dev\` in another terminal and run the demo again ` +
				"(another address: `npm run demo -- --url http://host:port` or DEMO_URL=…).",
		);
	}
}

async function signIn(account: { email: string; password: string }): Promise<string> {
	try {
		const { access_token } = await api<{ access_token: string }>("POST", "/auth/login", { body: account });
		return access_token;
	} catch (err) {
		throw new DemoError(
			`cannot sign in as ${account.email} (${(err as Error).message}). The demo accounts are seeded by ` +
				"`npm run dev` on a fresh local database: stop it, `npm run db:reset`, `npm run dev`.",
		);
	}
}

/** Every page of a keyset-paged list. */
async function allPages<T>(path: string, token?: string): Promise<T[]> {
	const items: T[] = [];
	let cursor: string | null = null;
	do {
		const page: { items: T[]; next_cursor: string | null } = await api(
			"GET",
			`${path}${path.includes("?") ? "&" : "?"}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
			{ token },
		);
		items.push(...page.items);
		cursor = page.next_cursor;
	} while (cursor);
	return items;
}

/** Cancels the reader's active pre-bookings (a held copy goes to the next in line) and turns emails on. */
async function tidy(reader: string): Promise<number> {
	await api("PATCH", "/users/me/preferences", { token: reader, body: { restock_emails: true } });
	const active = [
		...(await allPages<PreBooking>("/prebooks?status=waiting", reader)),
		...(await allPages<PreBooking>("/prebooks?status=offered", reader)),
	];
	for (const prebooking of active)
		await api("DELETE", `/prebooks/${prebooking.id}`, { token: reader, expected: 204 });
	return active.length;
}

/**
 * The best book for a step: `policy` and out of stock first, then `policy`, then one whose policy may be
 * switched (notify_all or hold_queue, no copy held), out of stock first. Then makes it fit, saying what it
 * changed.
 */
async function bookFor(policy: "notify_all" | "hold_queue", admin: string, exclude: number[]): Promise<Book> {
	// Signed in: answered from D1, never from the catalog's cache (up to 30 s old for a `limit` page).
	const books = (await allPages<Book>("/books", admin)).filter((book) => !exclude.includes(book.id));
	const switchable = (book: Book) =>
		["notify_all", "hold_queue"].includes(book.allocation) && book.held_quantity === 0;
	const rank = (book: Book) =>
		(book.allocation === policy ? 0 : switchable(book) ? 2 : 4) + (book.available_quantity === 0 ? 0 : 1);
	let [book] = books
		.filter((candidate) => rank(candidate) < 4)
		.sort((a, b) => rank(a) - rank(b) || a.id - b.id);
	if (!book) throw new DemoError(`no book in the catalog can be made ${policy}`);
	if (book.allocation !== policy) {
		book = await api<Book>("PATCH", `/books/${book.id}`, {
			token: admin,
			body: policy === "hold_queue" ? { allocation: policy, hold_hours: HOLD_HOURS } : { allocation: policy },
		});
		say(
			"policy",
			`"${book.title}" is now ${policy}${policy === "hold_queue" ? ` (holds for ${HOLD_HOURS} h)` : ""}`,
		);
	}
	if (book.available_quantity > 0) {
		const before = book.stock_quantity;
		book = await api<Book>("PATCH", `/books/${book.id}/stock`, {
			token: admin,
			body: { quantity: book.held_quantity },
		});
		say("sold out", `"${book.title}": stock ${before} → ${book.stock_quantity}, so it can be pre-booked`);
	}
	return book;
}

/** The file `wrangler dev` wrote an email's text to, if it is under this project's .wrangler/. */
function emailFile(messageId: string): string | undefined {
	if (!existsSync(EMAIL_DIR)) return undefined;
	const name = `${messageId.replace(/^<|>$/g, "")}.txt`;
	return readdirSync(EMAIL_DIR)
		.map((session) => join(EMAIL_DIR, session, "email-text", name))
		.find((path) => existsSync(path));
}

/**
 * The token of the confirmation link in an email's text file. The file may be listed before wrangler has
 * finished writing it: read again for a few seconds before giving up.
 */
async function confirmationToken(file: string): Promise<string> {
	const deadline = Date.now() + EMAIL_WAIT_MS;
	for (;;) {
		const token = /prebooks\/confirm\?token=([\w-]+)/.exec(readFileSync(file, "utf8"))?.[1];
		if (token) return token;
		if (Date.now() > deadline)
			throw new DemoError(`no confirmation link in ${relative(process.cwd(), file)}`);
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

/**
 * Waits for this step's email (`wanted`: to whom, about which title, since when and, for a reader's, about
 * which pre-booking: scripts/demo-emails.ts); prints where it is.
 */
async function emailTo(wanted: WantedEmail): Promise<{ subject: string; file: string }> {
	const deadline = Date.now() + EMAIL_WAIT_MS;
	for (;;) {
		const res = await fetch(`${base}/cdn-cgi/local/explorer/api/local/email/sending?per_page=100`);
		if (!res.ok)
			throw new DemoError(
				`${base} does not list its sent emails (${res.status}): the demo needs \`wrangler dev\` (npm run dev)`,
			);
		const { result } = (await res.json()) as { result: SentEmail[] };
		const found = pickEmail(result, wanted, emailFile, (file) => readFileSync(file, "utf8"));
		if (found.email) {
			say("emailed", `"${found.email.subject}" to ${wanted.to} → ${relative(process.cwd(), found.file)}`);
			return { subject: found.email.subject, file: found.file };
		}
		if (Date.now() > deadline) {
			const about = wanted.prebookId === undefined ? "" : ` for pre-booking ${wanted.prebookId}`;
			const seen = found.candidate;
			throw new DemoError(
				seen && !emailFile(seen.messageId)
					? `the email "${seen.subject}" was sent, but its file is not under ${relative(process.cwd(), EMAIL_DIR)}/ (run the demo from the project directory of \`npm run dev\`)`
					: `no email to ${wanted.to} about "${wanted.title}"${about} within ${EMAIL_WAIT_MS / 1000} s (see the npm run dev terminal)`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

/** Pre-books `book` as the reader; the place in line is what the restock has to cover. */
async function prebook(reader: string, book: Book): Promise<PreBooking> {
	const prebooking = await api<PreBooking>("POST", "/prebooks", {
		token: reader,
		body: { book_id: book.id },
		expected: 201,
	});
	if (prebooking.position === null)
		throw new DemoError(
			`pre-booking ${prebooking.id} is passed over (paused, or emails cannot reach the reader)`,
		);
	say(
		"pre-booked",
		`"${book.title}" (book ${book.id}, ${book.allocation}): pre-booking ${prebooking.id} ${prebooking.status}, ${ordinal(prebooking.position)} in line`,
	);
	return prebooking;
}

async function demo(): Promise<void> {
	const started = Date.now();
	console.log(`Bookstore demo against ${base}`);
	await serverIsUp();

	const [reader, admin] = [await signIn(DEMO_READER), await signIn(DEMO_ADMIN)];
	say("signed in", `${DEMO_READER.email} (reader) and ${DEMO_ADMIN.email} (admin)`);

	const cancelled = await tidy(reader);
	say(
		"tidied",
		cancelled === 0
			? "the reader has no active pre-booking left from before"
			: `cancelled the reader's ${cancelled} active pre-booking(s) left from before`,
	);

	// notify_all: everyone in line is told when copies come back, once.
	const told = await bookFor("notify_all", admin, []);
	const first = await prebook(reader, told);
	const restockedAt = Date.now();
	const restocked = await api<Book>("PATCH", `/books/${told.id}/stock`, {
		token: admin,
		body: { quantity: told.stock_quantity + 4 },
	});
	const notified = await api<PreBooking>("GET", `/prebooks/${first.id}`, { token: reader });
	say(
		"restocked",
		`"${told.title}": ${told.stock_quantity} → ${restocked.stock_quantity} copies; pre-booking ${first.id} ${notified.status}`,
	);
	await emailTo({ to: DEMO_READER.email, title: told.title, since: restockedAt, prebookId: first.id });

	// hold_queue: a returned copy is held for the first in line, for hold_hours.
	const held = await bookFor("hold_queue", admin, [told.id]);
	const second = await prebook(reader, held);
	const heldAt = Date.now();
	const copies = second.position ?? 1;
	const afterHold = await api<Book>("PATCH", `/books/${held.id}/stock`, {
		token: admin,
		body: { quantity: held.stock_quantity + copies },
	});
	const offered = await api<PreBooking>("GET", `/prebooks/${second.id}`, { token: reader });
	if (offered.status !== "offered")
		throw new DemoError(`pre-booking ${second.id} is ${offered.status} after the restock, not offered`);
	say(
		"held",
		`"${held.title}": ${held.stock_quantity} → ${afterHold.stock_quantity} (${afterHold.held_quantity} held); pre-booking ${second.id} offered, hold_expires_at ${offered.hold_expires_at}`,
	);
	await emailTo({ to: DEMO_READER.email, title: held.title, since: heldAt, prebookId: second.id });

	// A guest: an address only, nothing booked until the emailed link is followed. A new address per run
	// (one address gets at most 3 confirmation emails an hour), which also tells its email from any other.
	const guest = `guest-${Date.now().toString(36)}${crypto.randomUUID().slice(0, 8)}@example.com`;
	const askedAt = Date.now();
	await api("POST", "/prebooks/guest", { body: { email: guest, book_id: held.id }, expected: 202 });
	say("guest", `${guest} asked to pre-book "${held.title}" (202: confirmation sent)`);
	const { file } = await emailTo({ to: guest, title: held.title, since: askedAt });
	const token = await confirmationToken(file);
	const confirmed = await api<PreBooking>("POST", "/prebooks/guest/confirm", {
		body: { token },
		expected: 201,
	});
	say(
		"confirmed",
		`the emailed link: the guest's pre-booking ${confirmed.id} ${confirmed.status}${confirmed.position ? `, ${ordinal(confirmed.position)} in line` : ""} for "${held.title}"`,
	);

	console.log(
		`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Run it again any time: it tidies up first.`,
	);
}

try {
	await demo();
} catch (err) {
	if (!(err instanceof DemoError)) throw err;
	console.error(`npm run demo stopped: ${err.message}`);
	process.exit(1);
}
