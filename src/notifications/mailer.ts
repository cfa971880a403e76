/**
 * Outgoing email behind a small interface: the app uses the Cloudflare Email Service binding (`EMAIL`),
 * tests pass a recorder or a failing sender (the provider's answer is the only thing they fake).
 */
import { formatCents } from "../lib/money.ts";

export interface OutgoingEmail {
	to: string;
	subject: string;
	text: string;
	html: string;
}

export interface Mailer {
	send(email: OutgoingEmail): Promise<void>;
}

/** "Bookstore <notifications@example.com>" or a bare address, as the binding's `from`. */
export function parseSender(value: string): { name: string; email: string } | string {
	const match = /^\s*(.+?)\s*<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$/.exec(value);
	return match ? { name: match[1] as string, email: match[2] as string } : value.trim();
}

/**
 * A header value on one line, whatever reaches the mailer: line breaks and other controls become spaces,
 * so no stored text (a title) can add a header. Input validation already refuses them; this is the net.
 */
export const headerText = (value: string): string =>
	value
		.replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
		.replace(/\s+/g, " ")
		.trim();

export function emailBindingMailer(binding: SendEmail, from: string): Mailer {
	const sender = parseSender(from);
	return {
		async send(email) {
			await binding.send({
				from: sender,
				to: headerText(email.to),
				subject: headerText(email.subject),
				text: email.text,
				html: email.html,
			});
		},
	};
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export interface RestockEmailInput {
	to: string;
	fullName: string | null;
	bookId: number;
	title: string;
	priceCents: number;
	appUrl: string;
}

/** The back-in-stock email: subject names the book; plain text and HTML; links to the book. */
export function composeRestockEmail(input: RestockEmailInput): OutgoingEmail {
	const link = `${input.appUrl}/books/${input.bookId}`;
	const price = formatCents(input.priceCents);
	const greeting = input.fullName ? `Hello ${input.fullName},` : "Hello,";
	return {
		to: input.to,
		subject: `Back in stock: ${input.title}`,
		text: [
			greeting,
			"",
			`"${input.title}", which you pre-booked, is back in stock at ${price}.`,
			`Get your copy before it sells out again: ${link}`,
			"",
			"You received this email because you pre-booked this book.",
		].join("\n"),
		html: [
			`<p>${escapeHtml(greeting)}</p>`,
			`<p><strong>${escapeHtml(input.title)}</strong>, which you pre-booked, is back in stock at ${price}.</p>`,
			`<p><a href="${escapeHtml(link)}">Get your copy</a> before it sells out again.</p>`,
			"<p><small>You received this email because you pre-booked this book.</small></p>",
		].join("\n"),
	};
}

export interface OfferEmailInput extends RestockEmailInput {
	/** RFC 3339 UTC. */
	holdExpiresAt: string;
}

/** "2026-11-24T10:15:30.123Z" → "24 Nov 2026, 10:15 UTC": one unambiguous form for every reader. */
export function formatHoldExpiry(iso: string): string {
	const date = new Date(iso);
	const day = date.toLocaleDateString("en-GB", {
		day: "numeric",
		month: "short",
		year: "numeric",
		timeZone: "UTC",
	});
	const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
	return `${day}, ${time} UTC`;
}

/** The hold email (hold_queue books): a copy is set aside for this reader until the hold expires. */
export function composeOfferEmail(input: OfferEmailInput): OutgoingEmail {
	const link = `${input.appUrl}/books/${input.bookId}`;
	const price = formatCents(input.priceCents);
	const until = formatHoldExpiry(input.holdExpiresAt);
	const greeting = input.fullName ? `Hello ${input.fullName},` : "Hello,";
	return {
		to: input.to,
		subject: `A copy is held for you: ${input.title}`,
		text: [
			greeting,
			"",
			`It's your turn: a copy of "${input.title}" (${price}) is held for you until ${until}.`,
			`Buy it before then: ${link}`,
			"After that it goes to the next reader in line.",
			"",
			"You received this email because you pre-booked this book.",
		].join("\n"),
		html: [
			`<p>${escapeHtml(greeting)}</p>`,
			`<p>It's your turn: a copy of <strong>${escapeHtml(input.title)}</strong> (${price}) is held for you until <strong>${escapeHtml(until)}</strong>.</p>`,
			`<p><a href="${escapeHtml(link)}">Buy it before then</a>. After that it goes to the next reader in line.</p>`,
			"<p><small>You received this email because you pre-booked this book.</small></p>",
		].join("\n"),
	};
}
