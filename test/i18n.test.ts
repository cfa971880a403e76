/**
 * The reader's language and time zone (API.md: Queue messages and emails; Unsubscribe and preferences;
 * Operations, emailed links open pages): every email in the reader's language with its times in the
 * reader's zone, the language kept from the first request on, and the pages behind the links speaking it.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { de } from "../src/i18n/de";
import { en } from "../src/i18n/en";
import { fr } from "../src/i18n/fr";
import { CATALOGS, LOCALES, type Messages, messagesFor } from "../src/i18n/index";
import { utcOffsetMinutes } from "../src/lib/time-zone";
import { PREBOOK_QUEUE_NAME } from "../src/prebook-emails/email-consumer";
import {
	api,
	createAdmin,
	createBook,
	createUser,
	deliver,
	emailedLinkToken,
	prebookAll,
	recordEmails,
	runAfterCommitSteps,
	type SentEmail,
	sentEmails,
	stubQueue,
	type TestUser,
	uniqueEmail,
} from "./helpers";

/** Every path to a text of a language ("email.signUp.subject"), sorted. */
function textKeys(messages: object, prefix = ""): string[] {
	return Object.entries(messages)
		.flatMap(([key, value]) =>
			value !== null && typeof value === "object" && !Array.isArray(value)
				? textKeys(value, `${prefix}${key}.`)
				: [`${prefix}${key}`],
		)
		.sort();
}

/**
 * The texts of a language as a reader sees them: each function called with one value that serves as every
 * parameter (a title, a name, a count, or the object of facts a body takes).
 */
function rendered(messages: object): string[] {
	const facts = ["title", "price", "since", "until", "drawsUrl", "email"];
	const sample = Object.assign(
		Object.create({ toString: () => "X" }),
		Object.fromEntries(facts.map((fact) => [fact, "X"])),
	);
	return textKeys(messages).map((path) => {
		const value = path
			.split(".")
			.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], messages);
		return JSON.stringify(typeof value === "function" ? value(sample) : value);
	});
}

describe("the languages' texts", () => {
	it("every language has exactly English's texts (a missing or extra key fails here and in tsc)", () => {
		for (const locale of LOCALES) {
			expect(textKeys(CATALOGS[locale]), locale).toEqual(textKeys(en));
		}
		// The comparison catches a text left out.
		const { subject: _, ...withoutSubject } = de.email.signUp;
		const broken = { ...de, email: { ...de.email, signUp: withoutSubject } };
		expect(textKeys(broken)).not.toEqual(textKeys(en));
		expect(textKeys(en).filter((key) => !textKeys(broken).includes(key))).toEqual(["email.signUp.subject"]);
		// @ts-expect-error a language lacking a text does not compile (Messages is English's shape)
		const incomplete: Messages = broken;
		expect(incomplete).toBeDefined();
	});

	it("German and French are translated: no text reads as the English one", () => {
		// Punctuation only: German writes "label: URL" as English does (French puts a space before the colon).
		const sameByDesign = { de: ["email.link"], fr: [] as string[] };
		const keys = textKeys(en);
		const english = rendered(en);
		for (const [name, language] of [
			["de", de],
			["fr", fr],
		] as const) {
			const texts = rendered(language);
			const same = keys.filter((_, i) => texts[i] === english[i]);
			expect(same, name).toEqual(sameByDesign[name]);
		}
	});

	it("no text has a doubled space or a space left at either end", () => {
		for (const [name, language] of Object.entries(CATALOGS)) {
			const texts = rendered(language).flatMap((json): string[] => [JSON.parse(json)].flat());
			const sloppy = texts.filter((text) => / {2}|^\s|\s$/.test(text));
			expect(sloppy, name).toEqual([]);
		}
	});

	it("falls back to English for a language the store does not speak", () => {
		expect(messagesFor("es")).toBe(en);
		expect(messagesFor(null)).toBe(en);
		expect(messagesFor("de")).toBe(de);
	});
});

const MONTHS = {
	de: [
		"Januar",
		"Februar",
		"März",
		"April",
		"Mai",
		"Juni",
		"Juli",
		"August",
		"September",
		"Oktober",
		"November",
		"Dezember",
	],
	fr: [
		"janvier",
		"février",
		"mars",
		"avril",
		"mai",
		"juin",
		"juillet",
		"août",
		"septembre",
		"octobre",
		"novembre",
		"décembre",
	],
};

/** How a reader reads a moment, written out by hand: "4. Dezember 2026 um 15:05 (Europe/Berlin)". */
function readerTime(iso: string, locale: "de" | "fr", zone: string): string {
	const at = new Date(iso);
	const local = new Date(at.getTime() + utcOffsetMinutes(zone, at) * 60_000);
	const [day, month, year] = [
		local.getUTCDate(),
		MONTHS[locale][local.getUTCMonth()],
		local.getUTCFullYear(),
	];
	const time = `${String(local.getUTCHours()).padStart(2, "0")}:${String(local.getUTCMinutes()).padStart(2, "0")}`;
	return locale === "de"
		? `${day}. ${month} ${year} um ${time} (${zone})`
		: `${day} ${month} ${year} à ${time} (${zone})`;
}

const BERLIN = "Europe/Berlin";
let admin: TestUser;
beforeAll(async () => {
	admin = await createAdmin();
});

/** A signed-in reader whose preferences say `locale` and Berlin. */
async function readerIn(locale: "de" | "fr"): Promise<TestUser> {
	const reader = await createUser();
	const set = await api("PATCH", "/users/me/preferences", {
		token: reader.token,
		body: { locale, time_zone: BERLIN },
	});
	expect(set.status).toBe(200);
	return reader;
}

const emailsTo = (to: string) => sentEmails<SentEmail>().filter((email) => email.to === to);
const linkOf = async (email: string) =>
	(await env.DB.prepare(
		"SELECT expires_at, locale FROM email_tokens WHERE email = ? ORDER BY id DESC LIMIT 1",
	)
		.bind(email)
		.first<{ expires_at: string; locale: string }>()) ?? { expires_at: "", locale: "" };
const prebookRow = async (id: number) =>
	(await env.DB.prepare("SELECT notified_at, hold_expires_at FROM pre_bookings WHERE id = ?")
		.bind(id)
		.first<{ notified_at: string | null; hold_expires_at: string | null }>()) ?? {
		notified_at: null,
		hold_expires_at: null,
	};

/** The allocation's email to one reader of `book` once it gets a copy, read from the EMAIL binding. */
async function allocationEmail(reader: TestUser, allocation: string) {
	const book = await createBook(admin.token, { stock_quantity: 0, allocation });
	const [prebookId = 0] = await prebookAll([reader], book.id);
	const queue = stubQueue();
	queue.clear();
	await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 1 } });
	await runAfterCommitSteps();
	const mail = recordEmails();
	await deliver(PREBOOK_QUEUE_NAME, queue.published());
	const [email] = mail.mock.calls.map(([message]) => message as SentEmail);
	return { email, book, row: await prebookRow(prebookId) };
}

const SUBJECTS = {
	de: {
		restock: "Wieder lieferbar: ",
		offer: "Ein Exemplar ist für Sie reserviert: ",
		drawn: "Sie wurden ausgelost: ",
		guest: "Bitte bestätigen Sie Ihre Vormerkung: ",
		signUp: "Registrierung abschließen",
		accountExists: "Sie haben bereits ein Konto",
		reset: "Passwort zurücksetzen",
	},
	fr: {
		restock: "De retour en stock : ",
		offer: "Un exemplaire vous est réservé : ",
		drawn: "Le tirage au sort vous a désigné : ",
		guest: "Confirmez votre réservation : ",
		signUp: "Finalisez votre inscription",
		accountExists: "Vous avez déjà un compte",
		reset: "Réinitialisez votre mot de passe",
	},
} as const;

describe.each(["de", "fr"] as const)("emails in %s, times in the reader's zone", (locale) => {
	const subjects = SUBJECTS[locale];

	it("back in stock: the subject and the time it came back", async () => {
		const reader = await readerIn(locale);
		const { email, book, row } = await allocationEmail(reader, "notify_all");
		expect(email?.subject).toBe(`${subjects.restock}${book.title}`);
		expect(email?.text).toContain(readerTime(row.notified_at ?? "", locale, BERLIN));
		expect(email?.html).toContain(`<html lang="${locale}">`);
		expect(email?.headers?.["Content-Language"]).toBe(locale);
		// The one-click unsubscribe headers are as they were; the footer links are translated.
		expect(email?.headers).toMatchObject({
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted": "auto-generated",
		});
		expect(email?.headers?.["List-Unsubscribe"]).toMatch(/^<https?:\/\/[^>]+\/unsubscribe\/[^>]+>$/);
		expect(email?.text).toContain(messagesFor(locale).email.stopRestockEmails);
	});

	it("a held copy: the subject and the hold's end", async () => {
		const reader = await readerIn(locale);
		const { email, book, row } = await allocationEmail(reader, "hold_queue");
		expect(email?.subject).toBe(`${subjects.offer}${book.title}`);
		expect(row.hold_expires_at).not.toBeNull();
		expect(email?.text).toContain(readerTime(row.hold_expires_at ?? "", locale, BERLIN));
	});

	it("a draw won: the subject and the hold's end", async () => {
		const reader = await readerIn(locale);
		const { email, book, row } = await allocationEmail(reader, "lottery");
		expect(email?.subject).toBe(`${subjects.drawn}${book.title}`);
		expect(email?.text).toContain(readerTime(row.hold_expires_at ?? "", locale, BERLIN));
	});

	it("password reset: in the account's language, the link's end in its zone", async () => {
		const reader = await readerIn(locale);
		await api("POST", "/auth/password/forgot", { body: { email: reader.email } });
		const [email] = emailsTo(reader.email);
		expect(email?.subject).toBe(subjects.reset);
		expect(email?.text).toContain(readerTime((await linkOf(reader.email)).expires_at, locale, BERLIN));
	});

	it("a sign-up of a registered address: the note in the account's language and zone", async () => {
		const reader = await readerIn(locale);
		await api("POST", "/auth/register", { body: { email: reader.email } });
		const [email] = emailsTo(reader.email);
		expect(email?.subject).toBe(subjects.accountExists);
		expect(email?.text).toContain(readerTime((await linkOf(reader.email)).expires_at, locale, BERLIN));
	});

	it("a sign-up of a new address: in the language of the request's Accept-Language (UTC: no zone known yet)", async () => {
		const address = uniqueEmail(`signup-${locale}`);
		await api("POST", "/auth/register", {
			body: { email: address },
			headers: { "Accept-Language": `${locale};q=0.9, xx;q=1` },
		});
		const [email] = emailsTo(address);
		expect(email?.subject).toBe(subjects.signUp);
		expect(email?.text).toContain(readerTime((await linkOf(address)).expires_at, locale, "UTC"));
	});

	it("a guest confirmation: in the request's language for a new address, the account's for a registered one", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const address = uniqueEmail(`guest-${locale}`);
		await api("POST", "/prebooks/guest", {
			body: { email: address, book_id: book.id },
			headers: { "Accept-Language": locale },
		});
		const [email] = emailsTo(address);
		expect(email?.subject).toBe(`${subjects.guest}${book.title}`);
		expect(email?.text).toContain(readerTime((await linkOf(address)).expires_at, locale, "UTC"));

		const reader = await readerIn(locale);
		await api("POST", "/prebooks/guest", {
			body: { email: reader.email, book_id: book.id },
			headers: { "Accept-Language": "en" },
		});
		const [toReader] = emailsTo(reader.email);
		expect(toReader?.subject).toBe(`${subjects.guest}${book.title}`);
		expect(toReader?.text).toContain(readerTime((await linkOf(reader.email)).expires_at, locale, BERLIN));
	});
});

describe("the language is kept from the first request on", () => {
	it("a guest who asked in French gets the later restock email in French, whoever confirms the link", async () => {
		const book = await createBook(admin.token, { stock_quantity: 0 });
		const address = uniqueEmail("guest-kept");
		await api("POST", "/prebooks/guest", {
			body: { email: address, book_id: book.id },
			headers: { "Accept-Language": "fr-CH, fr;q=0.9" },
		});
		// Confirmed by a client that names no language (a mail app's preview, curl).
		const confirmed = await api("POST", "/prebooks/guest/confirm", {
			body: { token: emailedLinkToken(address, "/prebooks/confirm") },
		});
		expect(confirmed.status).toBe(201);
		const queue = stubQueue();
		queue.clear();
		await api("PATCH", `/books/${book.id}/stock`, { token: admin.token, body: { quantity: 2 } });
		const mail = recordEmails();
		await deliver(PREBOOK_QUEUE_NAME, queue.published());
		const [email] = mail.mock.calls.map(([message]) => message as SentEmail);
		expect(email?.to).toBe(address);
		expect(email?.subject).toBe(`De retour en stock : ${book.title}`);
	});

	it("a sign-up asked for in German makes a German account when completed without Accept-Language", async () => {
		const address = uniqueEmail("signup-kept");
		await api("POST", "/auth/register", { body: { email: address }, headers: { "Accept-Language": "de" } });
		const done = await api("POST", "/auth/register/complete", {
			body: { token: emailedLinkToken(address, "/signup"), password: "a long enough password" },
		});
		expect(done.status).toBe(201);
		const preferences = await api("GET", "/users/me/preferences", { token: done.body.access_token });
		expect(preferences.body).toMatchObject({ locale: "de" });
	});
});
