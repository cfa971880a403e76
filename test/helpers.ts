/**
 * Test helpers: requests go through the Worker's fetch handler with the real D1 binding, and each returns
 * only once the work the request left for after its response (`waitUntil`) has finished. Factories make
 * unique data so tests never depend on each other's rows.
 */
import {
	applyD1Migrations,
	createExecutionContext,
	createMessageBatch,
	createScheduledController,
	getQueueResult,
	reset,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { forgetPolicies } from "../src/features/allocation/expected-policy";
import { PUBLICATION_QUEUE_NAME } from "../src/features/allocation/publication-consumer";
import worker from "../src/index";
import { loadConfig } from "../src/lib/config";
import { isbn13CheckDigit } from "../src/lib/isbn";
import { emailBindingMailer } from "../src/lib/mailer";
import { hashPassword } from "../src/lib/password";
import { hashToken, newSecretToken, REFRESH_TOKEN_TTL_MS, signAccessToken } from "../src/lib/tokens";
import { consumePrebookNotifications, PREBOOK_QUEUE_NAME } from "../src/prebook-emails/email-consumer";
import type { PrebookNotifiedMessage } from "../src/prebook-emails/messages";
import { expectDocumentedError } from "./contract";

export interface ApiResponse<T = any> {
	status: number;
	headers: Headers;
	body: T;
}

export interface RequestOptions {
	body?: unknown;
	/** Sent as-is, with the given content type (default application/json). */
	rawBody?: BodyInit;
	token?: string;
	headers?: Record<string, string>;
}

/**
 * The Worker's fetch handler, awaited together with everything the request handed to `waitUntil` (the
 * payment capture record, the restock's publication confirmation): nothing keeps running behind the test.
 * A failure of that work fails the test, and so does an error answer the OpenAPI document does not list
 * (test/contract.ts).
 */
export async function fetchWorker(request: Request): Promise<Response> {
	if (!request.headers.has("CF-Connecting-IP")) request.headers.set("CF-Connecting-IP", testNetwork());
	const ctx = createExecutionContext();
	const { method, url } = request;
	const res = await worker.fetch(request, env, ctx);
	await waitOnExecutionContext(ctx);
	await expectDocumentedError(method, url, res);
	return res;
}

/** This file's first client address (10.0.0.0/8, random per file), then one more per test. */
let networkSequence = Math.floor(Math.random() * 0xfff) << 12;
const testNetworks = new Map<string, string>();

/**
 * The client address (`CF-Connecting-IP`, which Cloudflare sets on every request) of the requests a test
 * makes without one of its own: one per test, so a test's requests are one client, as they were, while
 * the coarse per-network auth budget (30 a minute, src/lib/rate-limit.ts) is not shared by every test of
 * the run. A test about addresses sets the header itself.
 */
function testNetwork(): string {
	// Keyed by file too: one runtime serves every file, so same-named tests of two files must not share one.
	const { testPath, currentTestName } = expect.getState();
	const test = `${testPath} > ${currentTestName}`;
	let address = testNetworks.get(test);
	if (address === undefined) {
		address = newNetwork();
		testNetworks.set(test, address);
	}
	return address;
}

/** A client address no request has used yet. */
export function newNetwork(): string {
	const n = ++networkSequence;
	return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export async function api<T = any>(
	method: string,
	path: string,
	options: RequestOptions = {},
): Promise<ApiResponse<T>> {
	const headers = new Headers(options.headers);
	if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
	let body: BodyInit | undefined = options.rawBody;
	if (options.body !== undefined) body = JSON.stringify(options.body);
	if (body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
	const res = await fetchWorker(new Request(`https://api.test${path}`, { method, headers, body }));
	const text = await res.text();
	let parsed: unknown = text;
	try {
		parsed = text ? JSON.parse(text) : null;
	} catch {
		// not JSON (e.g. the docs page)
	}
	return { status: res.status, headers: res.headers, body: parsed as T };
}

/**
 * The migrated, empty schema (`reset()` drops every binding's stored data) and an empty catalog cache.
 * test/setup.ts starts every file with it: one runtime serves all files (`isolate: false`). A file whose
 * tests sweep the whole database (the cron's hold expiry) calls it before each test, so that no test sweeps,
 * waits on or is slowed by another's rows. `reset()` leaves the Cache API alone and ids start again at 1, so
 * an earlier cached `GET /books/1` would answer for the new book 1: `caches.default` becomes a cache of its
 * own (the same Cache API, under a name nothing else uses).
 */
export async function startFromEmptyStorage(): Promise<void> {
	await reset();
	// Book ids start again: what the isolate remembered of the old books' policies is about other books.
	forgetPolicies();
	await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
	await startWithEmptyCache();
}

/** An empty catalog cache (`caches.default` becomes a cache of its own), for a test that counts misses. */
export async function startWithEmptyCache(): Promise<void> {
	Object.defineProperty(caches, "default", {
		value: await caches.open(`test-${crypto.randomUUID()}`),
		configurable: true,
	});
}

/**
 * Returns once at least `needMs` of the current wall-clock minute is left, waiting for the next minute if
 * not: the local rate limiter counts each minute's requests in a window aligned to the clock (Miniflare's
 * ratelimit object), so a test that counts up to a limit must not straddle two windows.
 */
export async function inOneRateWindow(needMs = 15_000): Promise<void> {
	const left = 60_000 - (Date.now() % 60_000);
	if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/**
 * Records, from now on (the spy is restored after the test), the kind of every D1 session the app opens
 * and every statement it prepares through one.
 */
export function recordD1Sessions() {
	const original = env.DB.withSession.bind(env.DB);
	const kinds: unknown[] = [];
	const statements: string[] = [];
	vi.spyOn(env.DB, "withSession").mockImplementation((constraint) => {
		kinds.push(constraint);
		const session = original(constraint);
		return {
			prepare: (query: string) => {
				statements.push(query);
				return session.prepare(query);
			},
			batch: (batch: D1PreparedStatement[]) => session.batch(batch),
			getBookmark: () => session.getBookmark(),
		} as D1DatabaseSession;
	});
	return { kinds, statements };
}

/** D1 round trips the request made, from `Server-Timing: d1;dur=…;desc="<n>"`. */
export function d1RoundTrips(res: ApiResponse): number {
	const match = /(?:^|,)\s*d1;dur=[\d.]+;desc="(\d+)"/.exec(res.headers.get("Server-Timing") ?? "");
	if (!match) throw new Error(`no d1 entry in Server-Timing: ${res.headers.get("Server-Timing")}`);
	return Number(match[1]);
}

/** Asserts the contract's error envelope. */
export function expectError(res: ApiResponse, status: number, code: string, field?: string | null) {
	expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
	expect(typeof res.body.detail).toBe("string");
	if (field !== undefined) expect(res.body.field).toBe(field);
}

let sequence = 0;
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++sequence}`;
export const uniqueEmail = (prefix = "user") => `${unique(prefix)}@example.com`;

export const PASSWORD = "correct horse battery";

export interface TestUser {
	id: number;
	email: string;
	token: string;
	refreshToken: string;
}

export async function login(email: string, password = PASSWORD, headers?: Record<string, string>) {
	const res = await api("POST", "/auth/login", { body: { email, password }, headers });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return res.body as { access_token: string; refresh_token: string };
}

/**
 * The stored hash of PASSWORD every test user gets: one PBKDF2 derivation for the run (this module is
 * evaluated once), where registering and logging in cost two per user. Logging in with PASSWORD, or erasing
 * an account with it, still checks it for real.
 */
let passwordHash: Promise<string> | undefined;
const hashOfPassword = () => {
	passwordHash ??= hashPassword(PASSWORD);
	return passwordHash;
};

/**
 * A user as registration and login leave one (the account, named "Test Reader", and one refresh-token
 * family), made in one D1 round trip with an access token signed as the login signs it: no PBKDF2 and no
 * auth request. Its address is marked verified (restock emails go only to verified addresses) unless
 * `verified: false` (an account registered before sign-up was email-first: a legacy one); admins are made
 * directly too (ADMIN_EMAILS is tested on its own). Tests whose subject is sign-up use `registerAndLogIn`.
 */
export async function createUser(
	options: { role?: "user" | "admin"; email?: string; verified?: boolean } = {},
): Promise<TestUser> {
	// As the API stores it (users.schemas.ts `emailInput`).
	const email = (options.email ?? uniqueEmail(options.role ?? "user")).trim().normalize("NFC").toLowerCase();
	const refreshToken = newSecretToken();
	const [account] = await env.DB.batch<{ id: number; token_version: number }>([
		env.DB.prepare(
			`INSERT INTO users (email, password_hash, full_name, role, email_verified)
			 VALUES (?, ?, 'Test Reader', ?, ?) RETURNING id, token_version`,
		).bind(email, await hashOfPassword(), options.role ?? "user", options.verified === false ? 0 : 1),
		env.DB.prepare(
			`INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
			 SELECT id, ?, ?, ? FROM users WHERE email = ?`,
		).bind(
			crypto.randomUUID(),
			await hashToken(refreshToken),
			new Date(Date.now() + REFRESH_TOKEN_TTL_MS).toISOString(),
			email,
		),
	]);
	const row = account?.results[0];
	if (!row) throw new Error(`could not create the test user ${email}`);
	const token = await signAccessToken({ userId: row.id, tokenVersion: row.token_version }, env.JWT_SECRET);
	return { id: row.id, email, token, refreshToken };
}

/** An email the app sent through the EMAIL binding (stubbed: `sentEmails`). */
export interface SentEmail {
	to: string;
	subject: string;
	text: string;
	html: string;
	headers?: Record<string, string>;
}

/** The token of the last link to `path` (`/signup`, `/reset-password`, `/prebooks/confirm`) emailed to `to`. */
export function emailedLinkToken(to: string, path: string): string {
	const email = sentEmails<SentEmail>()
		.filter((e) => e.to === to && e.text.includes(`${path}?token=`))
		.at(-1);
	const match = new RegExp(`${path}\\?token=([\\w-]+)`).exec(email?.text ?? "");
	if (!match?.[1]) throw new Error(`no ${path} link in the emails to ${to}`);
	return match[1];
}

/**
 * A user made through the real routes: `POST /auth/register` (the sign-up email goes out), then
 * `POST /auth/register/complete` with the emailed link's token — one PBKDF2 derivation. For tests whose
 * subject is sign-up or the tokens it issues; other tests use `createUser`. Admin as `createUser` makes
 * one (after the sign-up: its tokens stay valid).
 */
export async function registerAndLogIn(
	options: { role?: "user" | "admin"; email?: string; fullName?: string } = {},
): Promise<TestUser> {
	const email = options.email ?? uniqueEmail(options.role ?? "user");
	// Each account is made from an address of its own: setting up users spends no test's auth budget.
	const headers = { "CF-Connecting-IP": newNetwork() };
	const asked = await api("POST", "/auth/register", { body: { email }, headers });
	expect(asked.status, JSON.stringify(asked.body)).toBe(202);
	const res = await api("POST", "/auth/register/complete", {
		body: { token: emailedLinkToken(email, "/signup"), password: PASSWORD, full_name: options.fullName },
		headers,
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	if (options.role === "admin")
		await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(res.body.user.id).run();
	return { id: res.body.user.id, email, token: res.body.access_token, refreshToken: res.body.refresh_token };
}

export const createAdmin = () => createUser({ role: "admin" });

let isbnSequence = 100_000_000;
/** A unique valid ISBN-13 (978 prefix, computed check digit). */
export function uniqueIsbn(): string {
	const first12 = `978${String(++isbnSequence + Math.floor(Math.random() * 1000) * 1_000_000).slice(-9)}`;
	return `${first12}${isbn13CheckDigit(first12)}`;
}

export async function createBook(adminToken: string, fields: Record<string, unknown> = {}) {
	const res = await api("POST", "/books", {
		token: adminToken,
		body: { title: unique("Book"), author: "Test Author", price: "12.50", stock_quantity: 3, ...fields },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body as { id: number; title: string; stock_quantity: number; [key: string]: unknown };
}

/**
 * Inserts `count` verified users straight into D1 (no password hashing: they never log in) and returns the LIKE
 * pattern matching their emails, for tests about thousands of recipients.
 */
export async function bulkUsers(count: number): Promise<string> {
	const tag = `bulk-${crypto.randomUUID().slice(0, 8)}`;
	await env.DB.prepare(
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		 INSERT INTO users (email, password_hash, email_verified) SELECT ? || '-' || i || '@example.com', 'x', 1 FROM n`,
	)
		.bind(count, tag)
		.run();
	return `${tag}-%`;
}

/** `count` new verified readers waiting for the book, in the order they were made (straight into D1). */
export async function bulkLine(bookId: number, count: number): Promise<void> {
	const pattern = await bulkUsers(count);
	await env.DB.prepare(
		"INSERT INTO pre_bookings (user_id, book_id, status) SELECT id, ?, 'waiting' FROM users WHERE email LIKE ?",
	)
		.bind(bookId, pattern)
		.run();
}

/**
 * Stubs the pre-booking queue for the current test: the queue accepts every message, which is recorded
 * here and never reaches a consumer. test/setup.ts does this before every test, so no consumer ever runs in
 * the background; a test that delivers messages does it itself (`createMessageBatch` + `worker.queue`).
 * Call it to read what the app published, or to make the queue refuse (`sendBatch.mockRejectedValue`).
 * The publication queue (the rest of a long line, features/allocation/paged-publication.ts) is stubbed with it:
 * `publishRest()` delivers its steps to the Worker as the queue would, until none is left.
 */
export function stubQueue() {
	const metadata = { metrics: { backlogCount: 0, backlogBytes: 0 } };
	const send = vi.spyOn(env.PREBOOK_QUEUE, "send").mockResolvedValue({ metadata });
	const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({ metadata });
	const step = vi.spyOn(env.PUBLICATION_QUEUE, "send").mockResolvedValue({ metadata });
	vi.spyOn(env.PUBLICATION_QUEUE, "sendBatch").mockResolvedValue({ metadata });
	return {
		send,
		sendBatch,
		/** The after-commit steps queued so far (`{kind, id}`: a publication's next pages, a draw to complete). */
		steps: () => step.mock.calls.map(([body]) => body as { kind: string; id: number }),
		/** Runs the queued after-commit steps (and the ones they queue); returns how many. */
		publishRest: runAfterCommitSteps,
		/** Forgets what was published so far. */
		clear() {
			send.mockClear();
			sendBatch.mockClear();
			stepsRun.delete(step.mock);
			step.mockClear();
		},
		/** The readers of the messages the queue accepted: a refused call is recorded by the spies, not accepted. */
		acceptedUserIds: (): number[] =>
			[
				...send.mock.calls.map((call, i) => ({ result: send.mock.settledResults[i], bodies: [call[0]] })),
				...sendBatch.mock.calls.map((call, i) => ({
					result: sendBatch.mock.settledResults[i],
					bodies: [...call[0]].map((message) => message.body),
				})),
			]
				.filter(({ result }) => result?.type === "fulfilled")
				.flatMap(({ bodies }) => bodies.flatMap((body) => (body as PrebookNotifiedMessage).user_ids)),
		/** The bodies of every message sent to the queue in this test (or since `clear()`). */
		published: (): PrebookNotifiedMessage[] => [
			...send.mock.calls.map(([body]) => body as PrebookNotifiedMessage),
			...sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as PrebookNotifiedMessage)),
		],
	};
}

const stepsRun = new WeakMap<object, number>();
/**
 * Delivers the `prebook-publication` steps the app queued in this test (a long line's next pages, a closed
 * draw's completion) to the Worker, as the queue would, until none is left; returns how many ran.
 */
export async function runAfterCommitSteps(): Promise<number> {
	const queued = vi.mocked(env.PUBLICATION_QUEUE.send).mock;
	let ran = 0;
	for (;;) {
		const next = stepsRun.get(queued) ?? 0;
		if (next >= queued.calls.length) return ran;
		stepsRun.set(queued, next + 1);
		await deliver(PUBLICATION_QUEUE_NAME, [queued.calls[next]?.[0]]);
		ran += 1;
	}
}

/**
 * Stubs the webhook queue for the current test, for the same reason: its consumer would POST to the
 * receivers' URLs in the background. test/setup.ts does it before every test; the webhook tests read what
 * was enqueued through `captureWebhookQueue` (test/webhooks-helpers.ts) and run the consumer themselves.
 */
export function stubWebhookQueue() {
	const metadata = { metrics: { backlogCount: 0, backlogBytes: 0 } };
	vi.spyOn(env.WEBHOOK_QUEUE, "send").mockResolvedValue({ metadata });
	vi.spyOn(env.WEBHOOK_QUEUE, "sendBatch").mockResolvedValue({ metadata });
}

/** Cart, checkout and stock, through the API. */
export const addToCart = (user: TestUser, bookId: unknown, quantity: unknown) =>
	api("POST", "/cart/items", { token: user.token, body: { book_id: bookId, quantity } });
export const checkout = (
	user: TestUser,
	body: Record<string, unknown> = {},
	headers: Record<string, string> = {},
) => api("POST", "/orders/checkout", { token: user.token, body, headers });
export const stockOf = async (bookId: number): Promise<number> =>
	(await api("GET", `/books/${bookId}`)).body.stock_quantity;
export const cartOf = async (user: TestUser) => (await api("GET", "/cart", { token: user.token })).body;

/** Buys `quantity` copies of a book for the user (cart, then checkout) and returns the confirmed order. */
export async function buy(user: TestUser, bookId: number, quantity = 1) {
	expect((await addToCart(user, bookId, quantity)).status).toBe(201);
	const res = await checkout(user);
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body as { id: number; status: string; total: string; [key: string]: unknown };
}

/**
 * The email provider, faked for the queue consumer: `deliver` hands the consumer a mailer over this
 * recording binding (the app's own mailer, so what is recorded is exactly what Email Service would get);
 * `failFor` addresses get the provider's error. The real EMAIL binding is not spied on: it is an RPC stub,
 * and a spy restored in one test could linger into the next.
 */
let provider: ReturnType<typeof fakeProvider> | null = null;
const fakeProvider = (failFor: string[]) =>
	vi.fn(async (message: unknown) => {
		const to = (message as { to: string }).to;
		if (failFor.includes(to)) throw new Error("provider refused the message");
		return { messageId: crypto.randomUUID() };
	});

export function recordEmails(failFor: string[] = []) {
	const send = fakeProvider(failFor);
	provider = send;
	return Object.assign(send, {
		/** The recipients, in the order they were sent to. */
		recipients: () => send.mock.calls.map(([message]) => (message as { to: string }).to),
	});
}

/** Called before each test (test/setup.ts): no recorder carries over. */
export function forgetEmailRecorder(): void {
	provider = null;
}

/**
 * The EMAIL binding is stubbed before every test (test/setup.ts), like the queue: nothing leaves, and
 * what the app sent from a request (verification, guest confirmation) is kept here, in order.
 */
const outbox: unknown[] = [];
export function stubEmailBinding(): void {
	outbox.length = 0;
	vi.spyOn(env.EMAIL, "send").mockImplementation(async (message) => {
		outbox.push(message);
		return { messageId: crypto.randomUUID() };
	});
}
/** The emails the app sent through the EMAIL binding during this test. */
export const sentEmails = <T = unknown>() => [...outbox] as T[];

let messageSequence = 0;
/**
 * Delivers message bodies to the Worker's queue handler, as the queue would, and returns what the consumer
 * acknowledged and retried once its work (and any `waitUntil`) is done.
 */
export async function deliver(queue: string, bodies: unknown[], attempts = 1) {
	const batch = createMessageBatch(
		queue,
		bodies.map((body) => ({ id: `msg-${++messageSequence}`, timestamp: new Date(), attempts, body })),
	);
	// getQueueResult records that a message was retried but not its delay: spy for the delays.
	const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
	const ctx = createExecutionContext();
	if (queue === PREBOOK_QUEUE_NAME && provider) {
		const send = provider;
		await consumePrebookNotifications(
			batch,
			env,
			emailBindingMailer({ send } as unknown as SendEmail, loadConfig(env).mailFrom),
		);
	} else {
		// Called as the runtime calls it, with the context (the handler's own type leaves it out: unused today).
		const handler: Required<Pick<ExportedHandler<Env>, "queue">> = worker;
		await handler.queue(batch, env, ctx);
	}
	return {
		result: await getQueueResult(batch, ctx),
		ids: batch.messages.map((m) => m.id),
		retryDelays: retries.flatMap((spy) => spy.mock.calls.map(([options]) => options?.delaySeconds)),
	};
}

/** Runs the Worker's cron (`scheduled`) as the platform would at `at` (ms), and waits for all its work. */
/**
 * When a hold that would end at `end` ends for a reader in UTC (rule 13): between 21:00 and 09:00 it moves
 * to the next 09:00 — the same morning after midnight, the next morning before it.
 */
export function holdEndInUtc(end: number): number {
	const at = new Date(end);
	const hour = at.getUTCHours();
	if (hour >= 9 && hour < 21) return end;
	const morning = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), 9);
	return hour >= 21 ? morning + 24 * 60 * 60 * 1000 : morning;
}

/**
 * A minute after the pre-booking's hold ends: quiet hours (rule 13) move an end that falls between 21:00 and
 * 09:00 in the reader's zone to the next 09:00, so "an hour later" is not when a 1-hour hold lapses all day.
 */
export async function afterHoldOf(prebookId: number): Promise<number> {
	const row = await env.DB.prepare("SELECT hold_expires_at FROM pre_bookings WHERE id = ?")
		.bind(prebookId)
		.first<{ hold_expires_at: string | null }>();
	if (!row?.hold_expires_at) throw new Error(`pre-booking ${prebookId} holds no copy`);
	return Date.parse(row.hold_expires_at) + 60_000;
}

export async function runCron(at: number = Date.now()): Promise<void> {
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), env, ctx);
	await waitOnExecutionContext(ctx);
}

/** Each reader pre-books the book (201 expected); the pre-booking ids, in order. */
export async function prebookAll(readers: TestUser[], bookId: number): Promise<number[]> {
	const ids: number[] = [];
	for (const reader of readers) {
		const res = await api("POST", "/prebooks", { token: reader.token, body: { book_id: bookId } });
		expect(res.status, JSON.stringify(res.body)).toBe(201);
		ids.push(res.body.id);
	}
	return ids;
}
