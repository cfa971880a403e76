/**
 * Every email the bookstore sends, from one small template: plain text and HTML from the same parts, in
 * the reader's language (the texts: src/i18n/, one file per language) with times in the reader's time zone.
 * Content is text, never markup: the HTML escapes every string by construction, and the subject and
 * headers are reduced to one line (`headerText`), so no book title or name can inject markup or a header.
 */

import { formatDateTime, formatPrice, type Locale, messagesFor, supportedLocale } from "../i18n/index.ts";
import { headerText, type OutgoingEmail } from "../lib/mailer.ts";

interface Link {
	label: string;
	url: string;
}

/** Who reads an email: the language it is written in and the zone its times are shown in. */
export interface Reader {
	locale: string;
	timeZone: string;
}

/** An address without an account (or a test): English, UTC. */
const DEFAULT_READER: Reader = { locale: "en", timeZone: "UTC" };

export interface EmailParts {
	to: string;
	locale: Locale;
	subject: string;
	fullName: string | null;
	/** Paragraphs of plain text. */
	body: string[];
	/** The one thing to do (a button in HTML). */
	action: Link;
	/** Why the reader gets this email. */
	reason: string;
	/** Footer links (cancel, unsubscribe). */
	footerLinks?: Link[];
	headers?: Record<string, string>;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export function renderEmail(parts: EmailParts): OutgoingEmail {
	const texts = messagesFor(parts.locale).email;
	const greeting = texts.greeting(parts.fullName);
	const footerLinks = parts.footerLinks ?? [];
	const text = [
		greeting,
		"",
		...parts.body.flatMap((paragraph) => [paragraph, ""]),
		texts.link(parts.action.label, parts.action.url),
		"",
		"--",
		parts.reason,
		...footerLinks.map((link) => texts.link(link.label, link.url)),
	].join("\n");
	const html = [
		`<html lang="${parts.locale}"><body>`,
		`<p>${escapeHtml(greeting)}</p>`,
		...parts.body.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
		`<p><a href="${escapeHtml(parts.action.url)}"><strong>${escapeHtml(parts.action.label)}</strong></a></p>`,
		`<hr><p><small>${escapeHtml(parts.reason)}</small></p>`,
		...footerLinks.map(
			(link) => `<p><small><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></small></p>`,
		),
		"</body></html>",
	].join("\n");
	// Content-Language is on Email Service's allow-list (PLATFORM.md): mail clients offer to translate.
	const headers = Object.fromEntries(
		Object.entries({ ...parts.headers, "Content-Language": parts.locale }).map(([name, value]) => [
			name,
			headerText(value),
		]),
	);
	return { to: parts.to, subject: headerText(parts.subject), text, html, headers };
}

interface Unsubscribe {
	/** Cancels the pre-booking the email is about. */
	prebookUrl: string;
	/** Cancels it and turns restock emails off. */
	allUrl: string;
}

/**
 * The headers and links of every restock and hold email: RFC 8058 one-click unsubscribe (the POST needs
 * no login; the GET only shows a page), marked as automatic, with both choices visible in the footer.
 */
function unsubscribeParts(
	unsubscribe: Unsubscribe,
	locale: Locale,
): Pick<EmailParts, "headers" | "footerLinks"> {
	const texts = messagesFor(locale).email;
	return {
		headers: {
			"List-Unsubscribe": `<${unsubscribe.allUrl}>`,
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted": "auto-generated",
		},
		footerLinks: [
			{ label: texts.cancelPrebook, url: unsubscribe.prebookUrl },
			{ label: texts.stopRestockEmails, url: unsubscribe.allUrl },
		],
	};
}

/**
 * Where an email's book link goes: the storefront's page of the book, or — when APP_URL is this API
 * itself (no storefront, as under `npm run dev`) — the small page the API serves, since `/books/{id}` there
 * is the JSON route.
 */
const bookPageUrl = (appUrl: string, apiUrl: string | undefined, bookId: number) =>
	appUrl === apiUrl ? `${apiUrl}/books/${bookId}/page` : `${appUrl}/books/${bookId}`;

export interface BookEmailInput {
	to: string;
	fullName: string | null;
	bookId: number;
	title: string;
	priceCents: number;
	appUrl: string;
	/** This API's URL: when it equals `appUrl`, the book link opens the API's book page. */
	apiUrl?: string;
	unsubscribe: Unsubscribe;
	/** The reader's language and time zone (preferences); English and UTC when left out. */
	reader?: Reader;
}

/** notify_all: the book is back (since `notifiedAt`); first come, first served. */
export function restockEmail(input: BookEmailInput & { notifiedAt?: string }): OutgoingEmail {
	const reader = input.reader ?? DEFAULT_READER;
	const locale = supportedLocale(reader.locale);
	const texts = messagesFor(locale).email.restock;
	return renderEmail({
		to: input.to,
		locale,
		fullName: input.fullName,
		subject: texts.subject(input.title),
		body: texts.body({
			title: input.title,
			price: formatPrice(input.priceCents, locale),
			since: formatDateTime(input.notifiedAt ?? new Date().toISOString(), locale, reader.timeZone),
		}),
		action: { label: texts.action, url: bookPageUrl(input.appUrl, input.apiUrl, input.bookId) },
		reason: texts.reason,
		...unsubscribeParts(input.unsubscribe, locale),
	});
}

/** A held copy: the reader reached the front of the line, or (`drawn`) a lottery draw picked them. */
export function offerEmail(
	input: BookEmailInput & { holdExpiresAt: string; drawn?: boolean },
): OutgoingEmail {
	const reader = input.reader ?? DEFAULT_READER;
	const locale = supportedLocale(reader.locale);
	const email = messagesFor(locale).email;
	const facts = {
		title: input.title,
		price: formatPrice(input.priceCents, locale),
		until: formatDateTime(input.holdExpiresAt, locale, reader.timeZone),
	};
	const texts = input.drawn ? email.drawn : email.offer;
	return renderEmail({
		to: input.to,
		locale,
		fullName: input.fullName,
		subject: texts.subject(input.title),
		body: input.drawn
			? email.drawn.body({ ...facts, drawsUrl: `${input.appUrl}/books/${input.bookId}/draws` })
			: email.offer.body(facts),
		action: { label: texts.action, url: bookPageUrl(input.appUrl, input.apiUrl, input.bookId) },
		reason: texts.reason,
		...unsubscribeParts(input.unsubscribe, locale),
	});
}

/** Double opt-in of a guest pre-booking: nothing is booked until the reader follows the link. */
export function guestConfirmationEmail(input: {
	to: string;
	title: string;
	url: string;
	expiresAt: string;
	reader: Reader;
}): OutgoingEmail {
	const locale = supportedLocale(input.reader.locale);
	const texts = messagesFor(locale).email.guestConfirmation;
	return renderEmail({
		to: input.to,
		locale,
		fullName: null,
		subject: texts.subject(input.title),
		body: texts.body({
			title: input.title,
			until: formatDateTime(input.expiresAt, locale, input.reader.timeZone),
		}),
		action: { label: texts.action, url: input.url },
		reason: texts.reason,
		headers: { "Auto-Submitted": "auto-generated" },
	});
}
