/**
 * The pages behind emailed links (API.md, Operations): every link an email carries opens a page the API
 * serves, in the reader's language, whose GET changes nothing and whose form POSTs to the page's own URL.
 * Here: the guest confirmation page, and the language of every page. (The sign-up and reset pages' flows:
 * sign-up.test.ts; unsubscribe: email-trust.test.ts.)
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PREBOOK_QUEUE_NAME } from "../src/prebook-emails/email-consumer";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	d1RoundTrips,
	deliver,
	emailedLinkToken,
	prebookAll,
	recordEmails,
	type SentEmail,
	sentEmails,
	stubQueue,
	type TestUser,
	uniqueEmail,
} from "./helpers";

let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
	api("POST", path, {
		rawBody: new URLSearchParams(fields).toString(),
		headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
	});

/** A guest asks for `book` (in `language`); the link's path and query, as the email has it. */
async function guestLink(bookId: number, language?: string) {
	const email = uniqueEmail("guest-page");
	const asked = await api("POST", "/prebooks/guest", {
		body: { email, book_id: bookId },
		headers: language ? { "Accept-Language": language } : {},
	});
	expect(asked.status).toBe(202);
	return { email, path: `/prebooks/confirm?token=${emailedLinkToken(email, "/prebooks/confirm")}` };
}

const guestState = async (email: string) =>
	env.DB.prepare(
		`SELECT (SELECT count(*) FROM users WHERE email = ?1) AS accounts,
			(SELECT count(*) FROM pre_bookings WHERE user_id = (SELECT id FROM users WHERE email = ?1)) AS prebooks,
			(SELECT used_at FROM email_tokens WHERE email = ?1) AS used_at`,
	)
		.bind(email)
		.first<{ accounts: number; prebooks: number; used_at: string | null }>();

/** What every page answers with: HTML, no script allowed, never cached. */
function expectPage(res: { headers: Headers; body: unknown }, locale: string) {
	expect(res.headers.get("Content-Type")).toContain("text/html");
	expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
	expect(res.headers.get("Cache-Control")).toBe("no-store");
	expect(String(res.body)).toContain(`<html lang="${locale}">`);
	expect(String(res.body)).not.toContain("<script");
}

describe("the guest confirmation page (GET /prebooks/confirm)", () => {
	it("the emailed link opens the page: no login asked, though it lies under /prebooks", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const { email } = await guestLink(book.id);
		const [sent] = sentEmails<SentEmail>().filter((e) => e.to === email);
		const url = /http:\/\/localhost:8787(\/prebooks\/confirm\?token=[\w-]+)/.exec(sent?.text ?? "")?.[1];
		expect(url).toBeDefined();
		const page = await api("GET", url ?? "");
		expect(page.status).toBe(200);
		expectPage(page, "en");
	});

	it("GET shows the book, the address and a form, and changes nothing; its POST confirms, once", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0, title: 'Les "Misérables" <b>' });
		const { email, path } = await guestLink(book.id);
		for (let i = 0; i < 2; i++) {
			const page = await api("GET", path);
			expect(page.status).toBe(200);
			expectPage(page, "en");
			expect(page.body).toContain(email);
			expect(page.body).toContain("Les &quot;Misérables&quot; &lt;b&gt;");
			expect(page.body).toContain('<form method="post">');
			expect(page.body).toContain("Confirm my pre-booking");
			expect(d1RoundTrips(page)).toBe(1);
		}
		// Nothing changed: no account, no pre-booking, the link unused.
		expect(await guestState(email)).toEqual({ accounts: 0, prebooks: 0, used_at: null });

		const done = await form(path, { locale: "en" });
		expect(done.status).toBe(201);
		expectPage(done, "en");
		expect(done.body).toContain("You are in the line");
		expect(await guestState(email)).toMatchObject({ accounts: 1, prebooks: 1 });

		// Used: both the page and its form say so, and nothing more is made.
		for (const again of [await api("GET", path), await form(path, {})]) {
			expect(again.status).toBe(400);
			expect(again.body).toContain("This link cannot be used");
		}
		expect(await guestState(email)).toMatchObject({ accounts: 1, prebooks: 1 });
	});

	it("speaks the language the guest asked in, whatever the browser that opens it", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const { email, path } = await guestLink(book.id, "fr-FR,fr;q=0.9");
		const page = await api("GET", path, { headers: { "Accept-Language": "en-US" } });
		expectPage(page, "fr");
		expect(page.body).toContain("Confirmez votre réservation");
		expect(page.body).toContain('name="locale" value="fr"');
		const done = await form(path, { locale: "fr" }, { "Accept-Language": "en-US" });
		expect(done.status).toBe(201);
		expectPage(done, "fr");
		expect(done.body).toContain("Vous êtes dans la file d’attente");
		const account = await env.DB.prepare("SELECT locale FROM users WHERE email = ?").bind(email).first();
		expect(account).toEqual({ locale: "fr" });
	});

	it("says why nothing was made, with the JSON route's status: back in stock (409), already in the line (409)", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const { path } = await guestLink(book.id, "de");
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
		const inStock = await form(path, { locale: "de" });
		expect(inStock.status).toBe(409);
		expectPage(inStock, "de");
		expect(inStock.body).toContain("Dieses Buch ist wieder vorrätig");

		const waiting = await createBook(admin.token, { stock_quantity: 0 });
		const reader = await createUser();
		await api("POST", "/prebooks", { token: reader.token, body: { book_id: waiting.id } });
		await api("POST", "/prebooks/guest", { body: { email: reader.email, book_id: waiting.id } });
		const duplicate = await form(
			`/prebooks/confirm?token=${emailedLinkToken(reader.email, "/prebooks/confirm")}`,
			{},
		);
		expect(duplicate.status).toBe(409);
		expect(duplicate.body).toContain("You already have an active pre-booking for this book");
	});

	it("an unknown or missing token: the 400 page in the browser's language; JSON to the form is 415", async () => {
		for (const path of ["/prebooks/confirm", "/prebooks/confirm?token=nope"]) {
			const page = await api("GET", path, { headers: { "Accept-Language": "de-DE,de;q=0.9" } });
			expect(page.status, path).toBe(400);
			expectPage(page, "de");
			expect(page.body).toContain("Dieser Link kann nicht verwendet werden");
			const posted = await form(path, {}, { "Accept-Language": "fr" });
			expect(posted.status, path).toBe(400);
			expectPage(posted, "fr");
		}
		const json = await api("POST", "/prebooks/confirm?token=nope", { body: { token: "nope" } });
		expect(json.status).toBe(415);
		expect(json.body.code).toBe("UNSUPPORTED_MEDIA_TYPE");
	});
});

describe("every page speaks the reader's language", () => {
	it("the sign-up page: the language of the request that asked for the link, its form's answer too", async () => {
		const email = uniqueEmail("seite");
		await api("POST", "/auth/register", { body: { email }, headers: { "Accept-Language": "de" } });
		const path = `/signup?token=${emailedLinkToken(email, "/signup")}`;
		const page = await api("GET", path);
		expect(page.status).toBe(200);
		expectPage(page, "de");
		expect(page.body).toContain("Registrierung abschließen");
		const short = await form(path, { locale: "de", password: "kurz" });
		expect(short.status).toBe(422);
		expect(short.body).toContain("Das Passwort muss 8 bis 128 Zeichen lang sein.");
		const done = await form(path, { locale: "de", password: "ein langes Passwort" });
		expect(done.status).toBe(201);
		expect(done.body).toContain("Ihr Konto ist bereit");
		const account = await env.DB.prepare("SELECT locale FROM users WHERE email = ?").bind(email).first();
		expect(account).toEqual({ locale: "de" });
	});

	it("a form posted without its hidden language field answers in the link's language and keeps it", async () => {
		// A storefront posting the sign-up form itself, from an English browser.
		const email = uniqueEmail("ohne-feld");
		await api("POST", "/auth/register", { body: { email }, headers: { "Accept-Language": "de" } });
		const signUp = `/signup?token=${emailedLinkToken(email, "/signup")}`;
		const done = await form(signUp, { password: "ein langes Passwort" }, { "Accept-Language": "en-US" });
		expect(done.status).toBe(201);
		expectPage(done, "de");
		const account = await env.DB.prepare("SELECT locale FROM users WHERE email = ?").bind(email).first();
		expect(account).toEqual({ locale: "de" });
		// The guest confirmation, confirmed and then posted again (used).
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const guest = await guestLink(book.id, "fr-FR,fr;q=0.9");
		const confirmed = await form(guest.path, {}, { "Accept-Language": "en-US" });
		expect(confirmed.status).toBe(201);
		expectPage(confirmed, "fr");
		const again = await form(guest.path, {}, { "Accept-Language": "en-US" });
		expect(again.status).toBe(400);
		expectPage(again, "fr");
	});

	it("the reset page: the account's language", async () => {
		const reader = await createUser();
		await api("PATCH", "/users/me/preferences", { token: reader.token, body: { locale: "fr" } });
		await api("POST", "/auth/password/forgot", { body: { email: reader.email } });
		const page = await api(
			"GET",
			`/reset-password?token=${emailedLinkToken(reader.email, "/reset-password")}`,
		);
		expect(page.status).toBe(200);
		expectPage(page, "fr");
		expect(page.body).toContain("Choisissez un nouveau mot de passe");
	});

	it("a used or expired link's page speaks the link's language, not the browser's", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		// A guest confirmation, used.
		const guest = await guestLink(book.id, "fr-FR,fr;q=0.9");
		expect((await form(guest.path, { locale: "fr" })).status).toBe(201);
		// A sign-up link, used.
		const email = uniqueEmail("benutzt");
		await api("POST", "/auth/register", { body: { email }, headers: { "Accept-Language": "de" } });
		const signUp = `/signup?token=${emailedLinkToken(email, "/signup")}`;
		expect((await form(signUp, { locale: "de", password: "ein langes Passwort" })).status).toBe(201);
		// A reset link, expired.
		const reader = await createUser();
		await api("PATCH", "/users/me/preferences", { token: reader.token, body: { locale: "fr" } });
		await api("POST", "/auth/password/forgot", { body: { email: reader.email } });
		const reset = `/reset-password?token=${emailedLinkToken(reader.email, "/reset-password")}`;
		await env.DB.prepare(
			"UPDATE email_tokens SET expires_at = ? WHERE email = ? AND purpose = 'reset_password'",
		)
			.bind(new Date(Date.now() - 60_000).toISOString(), reader.email)
			.run();

		for (const [path, locale, title] of [
			[guest.path, "fr", "Ce lien ne peut pas être utilisé"],
			[signUp, "de", "Dieser Link kann nicht verwendet werden"],
			[reset, "fr", "Ce lien ne peut pas être utilisé"],
		] as const) {
			const page = await api("GET", path, { headers: { "Accept-Language": "en-US" } });
			expect(page.status, path).toBe(400);
			expectPage(page, locale);
			expect(page.body).toContain(title);
			expect(d1RoundTrips(page)).toBe(1);
		}
	});

	it("the unsubscribe page: the reader's language; an unknown link: the browser's", async () => {
		const reader = await createUser();
		await api("PATCH", "/users/me/preferences", { token: reader.token, body: { locale: "de" } });
		const book = await createBook(admin.token, { stock_quantity: 0 });
		await api("POST", "/prebooks", { token: reader.token, body: { book_id: book.id } });
		const { signUnsubscribeToken } = await import("../src/prebook-emails/unsubscribe-token");
		const prebook = await env.DB.prepare("SELECT id FROM pre_bookings WHERE user_id = ?")
			.bind(reader.id)
			.first<{ id: number }>();
		const token = await signUnsubscribeToken(env.UNSUBSCRIBE_SECRET, {
			scope: "prebook",
			userId: reader.id,
			prebookId: prebook?.id ?? 0,
		});
		const page = await api("GET", `/unsubscribe/${token}`, { headers: { "Accept-Language": "en" } });
		expect(page.status).toBe(200);
		expectPage(page, "de");
		expect(page.body).toContain("Meine Vormerkung stornieren");
		const done = await form(`/unsubscribe/${token}`, { "List-Unsubscribe": "One-Click" });
		expect(done.status).toBe(200);
		expect(done.body).toContain("Ihre Vormerkung ist storniert");
		const unknown = await api("GET", "/unsubscribe/v1.p.1.1.tampered", {
			headers: { "Accept-Language": "fr" },
		});
		expect(unknown.status).toBe(404);
		expectPage(unknown, "fr");
	});
});

describe("the book link of a restock or held-copy email", () => {
	it("with no storefront (APP_URL is this API) it opens the API's book page, in the browser's language", async () => {
		const reader = await createUser();
		const book = await createBook(admin.token, {
			stock_quantity: 0,
			allocation: "hold_queue",
			price: "1234.5",
		});
		await prebookAll([reader], book.id);
		const queue = stubQueue();
		queue.clear();
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 3 } });
		const mail = recordEmails();
		await deliver(PREBOOK_QUEUE_NAME, queue.published());
		const [email] = mail.mock.calls.map(([message]) => message as SentEmail);
		const link = `http://localhost:8787/books/${book.id}/page`;
		expect(email?.text).toContain(link);
		expect(email?.html).toContain(`href="${link}"`);

		const page = await api("GET", `/books/${book.id}/page`, { headers: { "Accept-Language": "de" } });
		expect(page.status).toBe(200);
		expectPage(page, "de");
		expect(page.body).toContain(book.title);
		expect(page.body).toContain("Preis: 1.234,50");
		// Three copies came back, one is held for the reader: two are available to anyone.
		expect(page.body).toContain("Derzeit 2 Exemplare vorrätig.");
		const missing = await api("GET", "/books/999999/page", { headers: { "Accept-Language": "fr" } });
		expect(missing.status).toBe(404);
		expectPage(missing, "fr");
	});
});
