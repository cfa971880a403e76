/**
 * Email readers can trust (API.md: verified addresses, guest pre-booking, unsubscribe and preferences,
 * privacy; sign-up and password reset are test/sign-up.test.ts). The email provider is faked by recording what the app hands the EMAIL binding.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { loadConfig } from "../src/lib/config";
import type { PrebookMessage } from "../src/prebook-emails/messages";
import { signUnsubscribeToken } from "../src/prebook-emails/unsubscribe-token";
import {
	api,
	buy,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	expectError,
	fetchWorker,
	login,
	newNetwork,
	PASSWORD,
	sentEmails,
	type TestUser,
	uniqueEmail,
} from "./helpers";
import { expectInvariants } from "./invariants";

interface SentEmail {
	to: string;
	subject: string;
	text: string;
	html: string;
	headers?: Record<string, string>;
}

/** What the app sent through the EMAIL binding from now on (the binding is stubbed: test/setup.ts). */
function captureEmails() {
	const already = sentEmails().length;
	return () => sentEmails<SentEmail>().slice(already);
}

/** The token of the last link of `path` in the emails to `to`. */
function linkToken(emails: SentEmail[], to: string, path: string): string {
	const email = emails.filter((e) => e.to === to).at(-1);
	const match = new RegExp(`${path.replace("/", "\\/")}\\?token=([\\w-]+)`).exec(email?.text ?? "");
	if (!match?.[1]) throw new Error(`no ${path} link in the emails to ${to}`);
	return match[1];
}

const unsubscribeLinks = (email: SentEmail) => {
	const [prebook, all] = [...email.text.matchAll(/https?:\/\/[^\s]+\/unsubscribe\/([\w.-]+)/g)].map(
		(m) => m[1],
	);
	return { prebook: prebook as string, all: all as string };
};

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

async function deliverAll(messages: PrebookMessage[]) {
	const batch = createMessageBatch(
		"prebook-notifications",
		messages.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, env);
	return getQueueResult(batch, ctx);
}

/** Restocks a new out-of-stock book pre-booked by `readers`; returns the queue messages (not delivered). */
async function restockFor(readers: TestUser[], fields: Record<string, unknown> = {}) {
	const book = await createBook(admin.token, { stock_quantity: 0, ...fields });
	for (const reader of readers)
		await api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } });
	const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
	await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
	const messages = sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as PrebookMessage));
	sendBatch.mockRestore();
	return { book, messages };
}

/** A guest account (a confirmed guest pre-booking of a new out-of-stock book) and the emails since. */
async function confirmedGuest() {
	const emails = captureEmails();
	const book = await createBook(admin.token, { stock_quantity: 0 });
	const email = uniqueEmail("guest");
	await api("POST", "/prebooks/guest", { body: { email, book_id: book.id } });
	await api("POST", "/prebooks/guest/confirm", {
		body: { token: linkToken(emails(), email, "/prebooks/confirm") },
	});
	return { emails, book, email };
}

describe("verified addresses", () => {
	it("unverified readers are recorded skipped, never emailed; verified ones are emailed", async () => {
		const [verified, unverified] = [await createUser(), await createUser({ verified: false })];
		const { messages } = await restockFor([verified, unverified]);
		const emails = captureEmails();
		await deliverAll(messages);
		expect(emails().map((e) => e.to)).toEqual([verified.email]);
		const restocks = await api("GET", "/admin/restocks?limit=1", { token: admin.token });
		expect(restocks.body.items[0]).toMatchObject({ notified_count: 2, sent_count: 1, skipped_count: 1 });
		// A retry of the same message never emails the skipped reader, even once verified.
		await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(unverified.id).run();
		await deliverAll(messages);
		expect(emails()).toHaveLength(1);
	});
});

describe("guest pre-booking (double opt-in)", () => {
	it("answers 202 with identical bodies for a new address and a registered one", async () => {
		const emails = captureEmails();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const member = await createUser();
		const stranger = uniqueEmail("guest");
		const answers = [];
		for (const email of [stranger, member.email]) {
			const res = await api("POST", "/prebooks/guest", { body: { email, book_id: book.id } });
			expect(res.status).toBe(202);
			expect(d1RoundTrips(res)).toBe(1);
			const { request_id: _, ...body } = res.body;
			answers.push(body);
		}
		expect(answers[0]).toEqual({ status: "confirmation_sent" });
		expect(answers[1]).toEqual(answers[0]);
		expect(
			emails()
				.filter((e) => e.subject.startsWith("Confirm your pre-booking"))
				.map((e) => e.subject),
		).toEqual([`Confirm your pre-booking: ${book.title}`, `Confirm your pre-booking: ${book.title}`]);
		// Nothing is booked before the link is followed.
		const rows = await env.DB.prepare("SELECT count(*) AS n FROM pre_bookings WHERE book_id = ?")
			.bind(book.id)
			.first<{ n: number }>();
		expect(rows?.n).toBe(0);
	});

	it("confirming creates the pre-booking on a guest account; the link is single use (then 400 AUTH_INVALID_TOKEN)", async () => {
		const emails = captureEmails();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const email = uniqueEmail("guest");
		await api("POST", "/prebooks/guest", { body: { email, book_id: book.id } });
		const token = linkToken(emails(), email, "/prebooks/confirm");
		const confirmed = await api("POST", "/prebooks/guest/confirm", { body: { token } });
		expect(confirmed.status).toBe(201);
		expect(confirmed.body).toMatchObject({ book_id: book.id, status: "waiting", position: 1 });
		expect(d1RoundTrips(confirmed)).toBe(1);
		expectError(
			await api("POST", "/prebooks/guest/confirm", { body: { token } }),
			400,
			"AUTH_INVALID_TOKEN",
			"token",
		);
		const guest = await env.DB.prepare("SELECT is_guest, email_verified FROM users WHERE email = ?")
			.bind(email)
			.first();
		expect(guest).toEqual({ is_guest: 1, email_verified: 1 });
		expectError(
			await api("POST", "/auth/login", { body: { email, password: PASSWORD } }),
			401,
			"AUTH_INVALID_CREDENTIALS",
		);
		expectError(
			await api("POST", "/prebooks/guest/confirm", { body: { token: "not-a-token" } }),
			400,
			"AUTH_INVALID_TOKEN",
		);
	});

	it("a replayed link after the guest cancelled answers 400 AUTH_INVALID_TOKEN and creates nothing", async () => {
		const emails = captureEmails();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const email = uniqueEmail("guest");
		await api("POST", "/prebooks/guest", { body: { email, book_id: book.id } });
		const token = linkToken(emails(), email, "/prebooks/confirm");
		const confirmed = await api("POST", "/prebooks/guest/confirm", { body: { token } });
		expect(confirmed.status).toBe(201);
		// The guest cancels through the one-click link its emails carry.
		const guest = await env.DB.prepare("SELECT id FROM users WHERE email = ?")
			.bind(email)
			.first<{ id: number }>();
		const unsubscribe = await signUnsubscribeToken(loadConfig(env).unsubscribeSecret, {
			scope: "prebook",
			userId: guest?.id ?? 0,
			prebookId: confirmed.body.id,
		});
		expect((await api("POST", `/unsubscribe/${unsubscribe}`)).status).toBe(200);

		expectError(
			await api("POST", "/prebooks/guest/confirm", { body: { token } }),
			400,
			"AUTH_INVALID_TOKEN",
			"token",
		);
		const rows = await env.DB.prepare("SELECT status FROM pre_bookings WHERE book_id = ? ORDER BY id")
			.bind(book.id)
			.all();
		expect(rows.results).toEqual([{ status: "cancelled" }]);
	});

	it("two parallel confirmations of one link: one 201, one 400, one pre-booking", async () => {
		for (let round = 0; round < 5; round++) {
			const emails = captureEmails();
			const book = await createBook(admin.token, { stock_quantity: 0 });
			// A new address (the guest account is made by the confirmation) and a registered one.
			const email = round % 2 === 0 ? uniqueEmail("guest") : (await createUser()).email;
			await api("POST", "/prebooks/guest", { body: { email, book_id: book.id } });
			const token = linkToken(emails(), email, "/prebooks/confirm");
			const answers = await Promise.all(
				Array.from({ length: 2 }, () => api("POST", "/prebooks/guest/confirm", { body: { token } })),
			);
			expect(answers.map((res) => res.status).sort()).toEqual([201, 400]);
			expectError(answers.find((res) => res.status === 400) as never, 400, "AUTH_INVALID_TOKEN", "token");
			const rows = await env.DB.prepare(
				"SELECT count(*) AS n, (SELECT count(*) FROM users WHERE email = ?) AS accounts FROM pre_bookings WHERE book_id = ?",
			)
				.bind(email, book.id)
				.first();
			expect(rows).toEqual({ n: 1, accounts: 1 });
			await expectInvariants();
		}
	});

	it("a registered address gets the pre-booking on its account", async () => {
		const emails = captureEmails();
		const member = await createUser();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await api("POST", "/prebooks/guest", { body: { email: member.email, book_id: book.id } });
		await api("POST", "/prebooks/guest/confirm", {
			body: { token: linkToken(emails(), member.email, "/prebooks/confirm") },
		});
		const mine = await api("GET", "/prebooks", { token: member.token });
		expect(mine.body.items.map((p: { book_id: number }) => p.book_id)).toContain(book.id);
	});

	it("a guest is notified at restock like anyone, and finishing a sign-up of the address later keeps the pre-bookings", async () => {
		const { emails, book, email } = await confirmedGuest();
		const sendBatch = vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		await deliverAll(
			sendBatch.mock.calls.flatMap(([batch]) => [...batch].map((m) => m.body as PrebookMessage)),
		);
		expect(emails().some((e) => e.to === email && e.subject === `Back in stock: ${book.title}`)).toBe(true);

		// Finishing a sign-up of the address later keeps the guest's pre-bookings (test/sign-up.test.ts).
		await api("POST", "/auth/register", { body: { email } });
		const signedUp = await api("POST", "/auth/register/complete", {
			body: { token: linkToken(emails(), email, "/signup"), password: PASSWORD, full_name: "Former Guest" },
		});
		expect(signedUp.status).toBe(201);
		const tokens = await login(email);
		const mine = await api("GET", "/prebooks", { token: tokens.access_token });
		expect(mine.body.items.map((p: { book_id: number; status: string }) => [p.book_id, p.status])).toEqual([
			[book.id, "notified"],
		]);
	});

	it("a guest link for an address someone registered but never verified neither verifies that account nor books on it", async () => {
		const emails = captureEmails();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		// Registered before sign-up was email-first, never verified (perhaps by a squatter).
		const squatter = await createUser({ verified: false });
		await api("POST", "/prebooks/guest", { body: { email: squatter.email, book_id: book.id } });
		expectError(
			await api("POST", "/prebooks/guest/confirm", {
				body: { token: linkToken(emails(), squatter.email, "/prebooks/confirm") },
			}),
			400,
			"AUTH_INVALID_TOKEN",
			"token",
		);
		const account = await env.DB.prepare(
			"SELECT email_verified, (SELECT count(*) FROM pre_bookings WHERE user_id = users.id) AS prebookings FROM users WHERE id = ?",
		)
			.bind(squatter.id)
			.first();
		expect(account).toEqual({ email_verified: 0, prebookings: 0 });
		expect((await api("GET", "/prebooks", { token: squatter.token })).body.items).toEqual([]);
	});

	it("requests without a usable client address share one guest-link budget (never unlimited)", async () => {
		captureEmails();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const unknown = { "CF-Connecting-IP": "not-an-address" };
		const answers = [];
		for (let i = 0; i < 21; i++)
			answers.push(
				(
					await api("POST", "/prebooks/guest", {
						headers: unknown,
						body: { email: uniqueEmail("g"), book_id: book.id },
					})
				).status,
			);
		expect(answers.slice(0, 20).every((status) => status === 202)).toBe(true);
		expect(answers[20]).toBe(429);
	});

	it("refuses unknown books (404) and books in stock (409); past 3 links an hour to one address it answers 202 and sends nothing", async () => {
		const emails = captureEmails();
		const inStock = await createBook(admin.token, { stock_quantity: 3 });
		const out = await createBook(admin.token, { stock_quantity: 0 });
		const email = uniqueEmail("guest");
		expectError(
			await api("POST", "/prebooks/guest", { body: { email, book_id: 999_999 } }),
			404,
			"BOOK_NOT_FOUND",
			"book_id",
		);
		expectError(
			await api("POST", "/prebooks/guest", { body: { email, book_id: inStock.id } }),
			409,
			"PREBOOK_BOOK_IN_STOCK",
			"book_id",
		);
		const answers = [];
		for (let i = 0; i < 4; i++)
			answers.push(await api("POST", "/prebooks/guest", { body: { email, book_id: out.id } }));
		expect(answers.map((res) => res.status)).toEqual([202, 202, 202, 202]);
		expect(answers[3]?.body).toMatchObject({ status: "confirmation_sent" });
		expect(emails().filter((e) => e.to === email)).toHaveLength(3);
	});

	it("at most 3 guest-confirmation emails an hour and 10 a day to one address, whoever asks; beyond, 202 and no email", async () => {
		const emails = captureEmails();
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const email = uniqueEmail("bombed");
		const sentTo = () => emails().filter((e) => e.to === email).length;
		// Each request from a network of its own: the cap is the address's, whoever asks.
		const ask = async () => {
			const res = await api("POST", "/prebooks/guest", {
				headers: { "CF-Connecting-IP": newNetwork() },
				body: { email, book_id: book.id },
			});
			expect(res.status).toBe(202);
			expect(res.body).toMatchObject({ status: "confirmation_sent" });
		};
		/** The links to the address so far were sent `minutes` earlier than recorded. */
		const age = (minutes: number) =>
			env.DB.prepare(
				`UPDATE email_tokens SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?) WHERE email = ?`,
			)
				.bind(`-${minutes} minutes`, email)
				.run();

		for (const expected of [
			[1, 2, 3, 3, 3],
			[4, 5, 6, 6],
			[7, 8, 9, 9],
		]) {
			for (const count of expected) {
				await ask();
				expect(sentTo()).toBe(count);
			}
			await age(61);
		}
		// The tenth of the day is sent; then none, although this hour has room.
		await ask();
		expect(sentTo()).toBe(10);
		await age(61);
		await ask();
		await ask();
		expect(sentTo()).toBe(10);
		const links = await env.DB.prepare("SELECT count(*) AS n FROM email_tokens WHERE email = ?")
			.bind(email)
			.first();
		expect(links).toEqual({ n: 10 });
		// A day after the first ones, the address may be emailed again.
		await age(24 * 60 - 4 * 61 + 1);
		await ask();
		expect(sentTo()).toBe(11);
	});
});

describe("one-click unsubscribe", () => {
	async function emailedReader(fields: Record<string, unknown> = {}) {
		const reader = await createUser();
		const { book, messages } = await restockFor([reader], fields);
		const emails = captureEmails();
		await deliverAll(messages);
		const email = emails().find((e) => e.to === reader.email) as SentEmail;
		return { reader, book, email };
	}

	it("a one-click cancel of a held copy drops the book's cached catalog entry, as DELETE /prebooks/{id} does", async () => {
		const { book, email } = await emailedReader({ allocation: "hold_queue" });
		await api("GET", `/books/${book.id}`);
		const cached = await api("GET", `/books/${book.id}`);
		expect(d1RoundTrips(cached)).toBe(0);
		expect(cached.body.held_quantity).toBe(1);
		const res = await api("POST", `/unsubscribe/${unsubscribeLinks(email).prebook}`);
		expect(res.status).toBe(200);
		const after = await api("GET", `/books/${book.id}`);
		expect(d1RoundTrips(after)).toBe(1);
		expect(after.body.held_quantity).toBe(0);
	});

	it("every restock and hold email carries List-Unsubscribe (HTTPS in production), One-Click and Auto-Submitted, and visible links", async () => {
		for (const allocation of ["notify_all", "hold_queue"]) {
			const { email } = await emailedReader({ allocation });
			expect(email.headers).toMatchObject({
				"List-Unsubscribe": expect.stringMatching(/^<http:\/\/localhost:8787\/unsubscribe\/v1\.a\.[\w.-]+>$/),
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"Auto-Submitted": "auto-generated",
			});
			expect(email.text).toContain("Cancel this pre-booking: http://localhost:8787/unsubscribe/v1.p.");
			expect(email.text).toContain("Stop all restock emails: http://localhost:8787/unsubscribe/v1.a.");
			expect(email.html).toContain('href="http://localhost:8787/unsubscribe/v1.p.');
		}
	});

	it("GET shows what will happen and changes nothing; POST One-Click cancels the pre-booking; a replay is harmless", async () => {
		const { reader, book, email } = await emailedReader();
		const { prebook } = unsubscribeLinks(email);
		const page = await api("GET", `/unsubscribe/${prebook}`);
		expect(page.status).toBe(200);
		expect(page.headers.get("Content-Type")).toContain("text/html");
		expect(page.body).toContain(book.title);
		expect(page.body).toContain('<form method="post">');
		expect(d1RoundTrips(page)).toBe(1);
		const before = await api("GET", "/prebooks", { token: reader.token });
		expect(before.body.items[0].status).toBe("notified");
		const pages: string[] = [];
		for (let i = 0; i < 2; i++) {
			const done = await api("POST", `/unsubscribe/${prebook}`, {
				rawBody: "List-Unsubscribe=One-Click",
				headers: { "Content-Type": "application/x-www-form-urlencoded" },
			});
			expect(done.status).toBe(200);
			expect(d1RoundTrips(done)).toBe(1);
			pages.push(done.body);
		}
		// The first click cancelled it; the second says there was nothing left to cancel.
		expect(pages[0]).toContain("Your pre-booking is cancelled");
		expect(pages[1]).toContain("Nothing to cancel");
		const after = await api("GET", "/prebooks", { token: reader.token });
		expect(after.body.items[0].status).toBe("cancelled");
		expect((await api("GET", "/users/me/preferences", { token: reader.token })).body).toEqual({
			restock_emails: true,
			locale: "en",
			time_zone: "UTC",
		});
	});

	it("a link to a pre-booking already closed (bought) says there is nothing to cancel, and changes nothing but emails for 'all'", async () => {
		const { reader, book, email } = await emailedReader();
		const { prebook, all } = unsubscribeLinks(email);
		expect((await buy(reader, book.id)).status).toBe("confirmed");
		const status = async () => (await api("GET", "/prebooks", { token: reader.token })).body.items[0].status;
		expect(await status()).toBe("fulfilled");

		const page = await api("GET", `/unsubscribe/${prebook}`);
		expect(page.status).toBe(200);
		expect(page.body).toContain("Nothing to cancel");
		expect(page.body).toContain("no longer active");
		expect(page.body).not.toContain("<form");
		const clicked = await api("POST", `/unsubscribe/${prebook}`, {
			rawBody: "List-Unsubscribe=One-Click",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
		});
		expect(clicked.status).toBe(200);
		expect(clicked.body).toContain("Nothing to cancel");
		expect(clicked.body).not.toContain("is cancelled");

		const allPage = await api("GET", `/unsubscribe/${all}`);
		expect(allPage.body).toContain("no longer active");
		expect(allPage.body).not.toContain("This cancels your pre-booking");
		const allDone = await api("POST", `/unsubscribe/${all}`, {
			rawBody: "List-Unsubscribe=One-Click",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
		});
		expect(allDone.body).toContain("Done: restock emails are off.");
		expect(await status()).toBe("fulfilled");
		expect((await api("GET", "/users/me/preferences", { token: reader.token })).body.restock_emails).toBe(
			false,
		);
	});

	it("the 'all' link also turns restock emails off; a tampered token is 404", async () => {
		const { reader, email } = await emailedReader();
		const { all } = unsubscribeLinks(email);
		const done = await api("POST", `/unsubscribe/${all}`, {
			rawBody: "List-Unsubscribe=One-Click",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
		});
		expect(done.status).toBe(200);
		expect((await api("GET", "/users/me/preferences", { token: reader.token })).body).toEqual({
			restock_emails: false,
			locale: "en",
			time_zone: "UTC",
		});
		const forged = all.replace(/\.a\.(\d+)\./, (_, id) => `.a.${Number(id) + 1}.`);
		expect((await api("GET", `/unsubscribe/${forged}`)).status).toBe(404);
		expect((await api("POST", `/unsubscribe/${forged}`)).status).toBe(404);
		expect((await api("GET", "/unsubscribe/garbage")).status).toBe(404);
	});

	it("answers any token that is not a genuine one, however long, with the 404 page (never a 422)", async () => {
		const { email } = await emailedReader();
		const { prebook } = unsubscribeLinks(email);
		for (const token of ["a".repeat(201), `${prebook}${"x".repeat(300)}`, "%F0%9F%93%9A".repeat(100)]) {
			for (const method of ["GET", "POST"]) {
				const res = await api(method, `/unsubscribe/${token}`);
				expect(res.status, `${method} ${token.slice(0, 20)}`).toBe(404);
				expect(res.headers.get("Content-Type")).toContain("text/html");
				expect(res.body).toContain("This link is not valid");
			}
		}
	});

	it("POST takes any one-click body (forms, text, none) but JSON, which is 415", async () => {
		const { reader, email } = await emailedReader();
		const { prebook } = unsubscribeLinks(email);
		const status = async () => (await api("GET", "/prebooks", { token: reader.token })).body.items[0].status;
		for (const [type, body] of [
			["application/json", JSON.stringify({ "List-Unsubscribe": "One-Click" })],
			["application/merge-patch+json; charset=utf-8", "{}"],
		] as const) {
			const refused = await api("POST", `/unsubscribe/${prebook}`, {
				rawBody: body,
				headers: { "Content-Type": type },
			});
			expectError(refused, 415, "UNSUPPORTED_MEDIA_TYPE", null);
		}
		expect(await status()).toBe("notified");
		const form = new FormData();
		form.set("List-Unsubscribe", "One-Click");
		const multipart = await fetchWorker(
			new Request(`https://api.test/unsubscribe/${prebook}`, { method: "POST", body: form }),
		);
		expect(multipart.status).toBe(200);
		expect(await multipart.text()).toContain("Your pre-booking is cancelled");
		expect(await status()).toBe("cancelled");
		const empty = await api("POST", `/unsubscribe/${prebook}`);
		expect(empty.status).toBe(200);
		// Senders that do not follow RFC 8058 to the letter still unsubscribe: text, or bytes with no type.
		for (const init of [
			{ body: "List-Unsubscribe=One-Click" }, // text/plain;charset=UTF-8
			{ body: new TextEncoder().encode("List-Unsubscribe=One-Click") }, // no Content-Type
			{
				body: "List-Unsubscribe=One-Click",
				headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
			},
		]) {
			const res = await fetchWorker(
				new Request(`https://api.test/unsubscribe/${prebook}`, { method: "POST", ...init }),
			);
			expect(res.status).toBe(200);
		}
	});

	it("with restock emails off, the next restock records the reader skipped", async () => {
		const reader = await createUser();
		const patched = await api("PATCH", "/users/me/preferences", {
			token: reader.token,
			body: { restock_emails: false },
		});
		expect(patched.body).toEqual({ restock_emails: false, locale: "en", time_zone: "UTC" });
		expectError(
			await api("PATCH", "/users/me/preferences", { token: reader.token, body: { restock_emails: "no" } }),
			422,
			"VALIDATION_ERROR",
		);
		const { messages } = await restockFor([reader]);
		const emails = captureEmails();
		await deliverAll(messages);
		expect(emails()).toHaveLength(0);
		const delivery = await env.DB.prepare("SELECT status FROM email_deliveries WHERE user_id = ?")
			.bind(reader.id)
			.first();
		expect(delivery).toEqual({ status: "skipped" });
	});
});

describe("privacy: export and erasure", () => {
	it("exports the caller's data and nobody else's", async () => {
		const [reader, other] = [await createUser(), await createUser()];
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const shelf = await createBook(admin.token, { stock_quantity: 5 });
		for (const user of [reader, other]) {
			await api("POST", "/prebooks", { token: user.token, body: { book_id: book.id } });
			await api("POST", "/wishlist", { token: user.token, body: { book_id: shelf.id } });
		}
		await api("POST", "/cart/items", { token: reader.token, body: { book_id: shelf.id, quantity: 1 } });
		await api("POST", "/orders/checkout", { token: reader.token, body: {} });
		// What the sign-in keeps about the address: a failed login, a reset link asked for, a session.
		const from = { "CF-Connecting-IP": "192.0.2.77" };
		await api("POST", "/auth/login", {
			body: { email: reader.email, password: "not-the-password" },
			headers: from,
		});
		await api("POST", "/auth/password/forgot", { body: { email: reader.email }, headers: from });
		await api("POST", "/auth/login", {
			body: { email: other.email, password: "not-the-password" },
			headers: from,
		});
		const res = await api("GET", "/users/me/export", { token: reader.token });
		expect(res.status).toBe(200);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(d1RoundTrips(res)).toBe(1);
		expect(res.body.account).toMatchObject({ id: reader.id, email: reader.email });
		expect(res.body.preferences).toEqual({ restock_emails: true, locale: "en", time_zone: "UTC" });
		expect(res.body.pre_bookings.map((p: { book_id: number }) => p.book_id)).toEqual([book.id]);
		expect(res.body.wishlist.map((w: { book_id: number }) => w.book_id)).toEqual([shelf.id]);
		expect(res.body.orders).toHaveLength(1);
		// Money as every other answer gives it: a string with 2 decimals.
		expect(res.body.orders[0]).toMatchObject({
			total: shelf.price,
			items: [{ book_id: shelf.id, unit_price: shelf.price, quantity: 1 }],
		});
		expect(JSON.stringify(res.body.orders)).not.toContain("_cents");
		expect(res.body.failed_logins).toEqual([{ attempted_at: expect.any(String) }]);
		expect(res.body.email_links).toMatchObject([{ purpose: "reset_password" }]);
		// Anyone may fail a login or ask a link for an address: their network is not the caller's to see.
		expect(JSON.stringify(res.body)).not.toContain("192.0.2.77");
		expect(res.body.sessions.length).toBeGreaterThanOrEqual(1);
		expect(JSON.stringify(res.body)).not.toContain(other.email);
	});

	it("erasure anonymises and deactivates in one batch: tokens end, active pre-bookings cancelled, held copies passed on, orders kept", async () => {
		captureEmails();
		const reader = await createUser();
		const next = await createUser();
		const held = await createBook(admin.token, { stock_quantity: 0, allocation: "hold_queue" });
		for (const user of [reader, next])
			await api("POST", "/prebooks", { token: user.token, body: { book_id: held.id } });
		vi.spyOn(env.PREBOOK_QUEUE, "sendBatch").mockResolvedValue({} as never);
		await api("PATCH", `/books/${held.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const shelf = await createBook(admin.token, { stock_quantity: 5 });
		await api("POST", "/cart/items", { token: reader.token, body: { book_id: shelf.id, quantity: 1 } });
		const order = await api("POST", "/orders/checkout", { token: reader.token, body: {} });

		expectError(
			await api("DELETE", "/users/me", { token: reader.token, body: { password: "wrong password" } }),
			401,
			"AUTH_INVALID_CREDENTIALS",
			"password",
		);
		const erased = await api("DELETE", "/users/me", { token: reader.token, body: { password: PASSWORD } });
		expect(erased.status).toBe(204);
		expect(d1RoundTrips(erased)).toBe(2);

		const row = await env.DB.prepare("SELECT email, full_name, is_active FROM users WHERE id = ?")
			.bind(reader.id)
			.first();
		expect(row).toEqual({ email: `deleted-user-${reader.id}@invalid`, full_name: null, is_active: 0 });
		expectError(await api("GET", "/users/me", { token: reader.token }), 401, "AUTH_INVALID_TOKEN");
		expectError(
			await api("POST", "/auth/refresh", { body: { refresh_token: reader.refreshToken } }),
			401,
			"AUTH_INVALID_TOKEN",
		);
		const statuses = await env.DB.prepare(
			"SELECT user_id, status FROM pre_bookings WHERE book_id = ? ORDER BY id",
		)
			.bind(held.id)
			.all();
		expect(statuses.results).toEqual([
			{ user_id: reader.id, status: "cancelled" },
			{ user_id: next.id, status: "offered" },
		]);
		const kept = await env.DB.prepare("SELECT user_id, status FROM orders WHERE id = ?")
			.bind(order.body.id)
			.first();
		expect(kept).toEqual({ user_id: reader.id, status: "confirmed" });
	});

	it("a bearer token is no password oracle: wrong erasure passwords count towards the login limits", async () => {
		const reader = await createUser();
		const network = { "CF-Connecting-IP": "198.51.100.23" };
		const guesses = await Promise.all(
			Array.from({ length: 12 }, (_, i) =>
				api("DELETE", "/users/me", {
					token: reader.token,
					headers: network,
					body: { password: `wrong guess ${i}` },
				}),
			),
		);
		// Reserved inside the INSERT: 10 failures per network, however many run at once.
		expect(guesses.filter((res) => res.status === 401)).toHaveLength(10);
		const refused = guesses.filter((res) => res.status === 429);
		expect(refused).toHaveLength(2);
		for (const res of refused) {
			expectError(res, 429, "RATE_LIMITED");
			expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
		}

		// The right password is refused too from that network (no oracle), and nothing was erased…
		expectError(
			await api("DELETE", "/users/me", {
				token: reader.token,
				headers: network,
				body: { password: PASSWORD },
			}),
			429,
			"RATE_LIMITED",
		);
		// …and the same ledger as login: this network cannot log in to the account either.
		expectError(
			await api("POST", "/auth/login", {
				headers: network,
				body: { email: reader.email, password: PASSWORD },
			}),
			429,
			"RATE_LIMITED",
		);
		const row = await env.DB.prepare("SELECT is_active FROM users WHERE id = ?").bind(reader.id).first();
		expect(row).toEqual({ is_active: 1 });
		// The owner elsewhere still can.
		const erased = await api("DELETE", "/users/me", {
			token: reader.token,
			headers: { "CF-Connecting-IP": "203.0.113.9" },
			body: { password: PASSWORD },
		});
		expect(erased.status).toBe(204);
		// The right password left no failure behind on that network.
		const left = await env.DB.prepare(
			"SELECT count(*) AS n FROM login_attempts WHERE network = '203.0.113.9'",
		).first();
		expect(left).toEqual({ n: 0 });
	});
});
