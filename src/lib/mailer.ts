/**
 * Outgoing email behind a small interface: the app uses the Cloudflare Email Service binding (`EMAIL`),
 * tests pass a recorder or a failing sender (the provider's answer is the only thing they fake).
 * The messages themselves are built in ./templates.ts.
 */

export interface OutgoingEmail {
	to: string;
	subject: string;
	text: string;
	html: string;
	/** Only what Email Service allows: List-Unsubscribe, List-Unsubscribe-Post, Auto-Submitted, X-*. */
	headers?: Record<string, string>;
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
				...(email.headers ? { headers: email.headers } : {}),
			});
		},
	};
}
