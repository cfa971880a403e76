/**
 * Every email the bookstore sends, from one small template: plain text and HTML from the same parts.
 * Content is text, never markup: the HTML escapes every string by construction, and the subject and
 * headers are reduced to one line (`headerText`), so no book title or name can inject markup or a header.
 */

import { headerText, type OutgoingEmail } from "../lib/mailer.ts";
import { formatCents } from "../lib/money.ts";

interface Link {
	label: string;
	url: string;
}

export interface EmailParts {
	to: string;
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
	const greeting = parts.fullName ? `Hello ${parts.fullName},` : "Hello,";
	const footerLinks = parts.footerLinks ?? [];
	const text = [
		greeting,
		"",
		...parts.body.flatMap((paragraph) => [paragraph, ""]),
		`${parts.action.label}: ${parts.action.url}`,
		"",
		"--",
		parts.reason,
		...footerLinks.map((link) => `${link.label}: ${link.url}`),
	].join("\n");
	const html = [
		`<p>${escapeHtml(greeting)}</p>`,
		...parts.body.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
		`<p><a href="${escapeHtml(parts.action.url)}"><strong>${escapeHtml(parts.action.label)}</strong></a></p>`,
		`<hr><p><small>${escapeHtml(parts.reason)}</small></p>`,
		...footerLinks.map(
			(link) => `<p><small><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></small></p>`,
		),
	].join("\n");
	const headers = Object.fromEntries(
		Object.entries(parts.headers ?? {}).map(([name, value]) => [name, headerText(value)]),
	);
	return { to: parts.to, subject: headerText(parts.subject), text, html, headers };
}

/** "2026-11-24T10:15:30.123Z" → "24 Nov 2026, 10:15 UTC": one unambiguous form for every reader. */
/** When a hold ends, in the reader's time zone, named (e.g. "27 Nov 2026, 09:00 (Europe/Berlin)"). */
export function formatHoldExpiry(iso: string, timeZone = "UTC"): string {
	const date = new Date(iso);
	const day = date.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone });
	const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone });
	return timeZone === "UTC" ? `${day}, ${time} UTC` : `${day}, ${time} (${timeZone})`;
}

export interface Unsubscribe {
	/** Cancels the pre-booking the email is about. */
	prebookUrl: string;
	/** Cancels it and turns restock emails off. */
	allUrl: string;
}

/**
 * The headers and links of every restock and hold email: RFC 8058 one-click unsubscribe (the POST needs
 * no login; the GET only shows a page), marked as automatic, with both choices visible in the footer.
 */
function unsubscribeParts(unsubscribe: Unsubscribe): Pick<EmailParts, "headers" | "footerLinks"> {
	return {
		headers: {
			"List-Unsubscribe": `<${unsubscribe.allUrl}>`,
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted": "auto-generated",
		},
		footerLinks: [
			{ label: "Cancel this pre-booking", url: unsubscribe.prebookUrl },
			{ label: "Stop all restock emails", url: unsubscribe.allUrl },
		],
	};
}

export interface BookEmailInput {
	to: string;
	fullName: string | null;
	bookId: number;
	title: string;
	priceCents: number;
	appUrl: string;
	unsubscribe: Unsubscribe;
}

/** notify_all: the book is back; first come, first served. */
export function restockEmail(input: BookEmailInput): OutgoingEmail {
	return renderEmail({
		to: input.to,
		fullName: input.fullName,
		subject: `Back in stock: ${input.title}`,
		body: [`"${input.title}", which you pre-booked, is back in stock at ${formatCents(input.priceCents)}.`],
		action: {
			label: "Get your copy before it sells out again",
			url: `${input.appUrl}/books/${input.bookId}`,
		},
		reason: "You received this email because you pre-booked this book.",
		...unsubscribeParts(input.unsubscribe),
	});
}

/** hold_queue: a copy is held for this reader until the hold expires. */
/** A held copy: the reader reached the front of the line, or (`drawn`) a lottery draw picked them. */
export function offerEmail(
	input: BookEmailInput & { holdExpiresAt: string; timeZone?: string; drawn?: boolean },
): OutgoingEmail {
	const until = formatHoldExpiry(input.holdExpiresAt, input.timeZone);
	const held = `a copy of "${input.title}" (${formatCents(input.priceCents)}) is held for you until ${until}.`;
	return renderEmail({
		to: input.to,
		fullName: input.fullName,
		subject: input.drawn ? `You won the draw: ${input.title}` : `A copy is held for you: ${input.title}`,
		body: input.drawn
			? [
					`The draw for "${input.title}" picked you: ${held}`,
					`Anyone can check the draw: ${input.appUrl}/books/${input.bookId}/draws. After that time the copy goes to the next reader the draw picked.`,
				]
			: [`It's your turn: ${held}`, "After that it goes to the next reader in line."],
		action: { label: "Buy it before then", url: `${input.appUrl}/books/${input.bookId}` },
		reason: input.drawn
			? "You received this email because you pre-booked this book and were drawn for a copy."
			: "You received this email because you pre-booked this book and reached the front of its line.",
		...unsubscribeParts(input.unsubscribe),
	});
}

/** Double opt-in of a guest pre-booking: nothing is booked until the reader follows the link. */
export function guestConfirmationEmail(input: { to: string; title: string; url: string }): OutgoingEmail {
	return renderEmail({
		to: input.to,
		fullName: null,
		subject: `Confirm your pre-booking: ${input.title}`,
		body: [
			`Someone — hopefully you — asked to be told when "${input.title}" is back in stock.`,
			"Confirm to join the line. The link works for 24 hours. If it was not you, ignore this email: nothing happens.",
		],
		action: { label: "Confirm my pre-booking", url: input.url },
		reason: "You received this email because this address was entered to pre-book a book.",
		headers: { "Auto-Submitted": "auto-generated" },
	});
}
