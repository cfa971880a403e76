/**
 * Which of the emails `wrangler dev` lists is the one a step of `npm run demo` caused (scripts/demo.ts).
 * Recipient, title and time are not enough on a database used for long: the reader gets other emails about
 * books with similar titles, and an email of an earlier run (a queue retry) may arrive during this one. So
 * a step names what only its own email carries: a reader's restock or hold email is about one pre-booking,
 * whose id its cancel and unsubscribe links name (`/unsubscribe/v1.<scope>.<user>.<pre-booking>.<signature>`,
 * src/prebook-emails/unsubscribe-token.ts); a guest's confirmation goes to an address made for the run.
 */

/** An email as `wrangler dev`'s sent-email list gives it (newest first). */
export interface SentEmail {
	subject: string;
	to: string[];
	sentAt: string;
	messageId: string;
}

/** The email a step waits for. */
export interface WantedEmail {
	/** The recipient's address. */
	to: string;
	/** The book's title, which the subject names. */
	title: string;
	/** When the step began (ms): the email was sent after it (a second of clock skew allowed). */
	since: number;
	/** For a reader's restock or hold email: the pre-booking it must be about. */
	prebookId?: number;
}

/** The links of an email about pre-booking `prebookId` (both scopes name it). */
const aboutPrebooking = (prebookId: number) => new RegExp(`/unsubscribe/v1\\.[pa]\\.\\d+\\.${prebookId}\\.`);

/**
 * The wanted email and its text file among `sent`, or null while it is not there (yet): `fileOf` finds an
 * email's text file, `read` reads it (a file still being written may not show its links yet: it is simply
 * not picked this time). `candidate` is the newest email that matched all but the pre-booking, for the
 * message when the demo gives up.
 */
export function pickEmail(
	sent: readonly SentEmail[],
	wanted: WantedEmail,
	fileOf: (messageId: string) => string | undefined,
	read: (file: string) => string,
): { email: SentEmail; file: string } | { email: null; candidate: SentEmail | undefined } {
	const candidates = sent.filter(
		(email) =>
			email.to.some((address) => address.includes(wanted.to)) &&
			email.subject.includes(wanted.title) &&
			Date.parse(email.sentAt) >= wanted.since - 1_000,
	);
	const marker = wanted.prebookId === undefined ? null : aboutPrebooking(wanted.prebookId);
	for (const email of candidates) {
		const file = fileOf(email.messageId);
		if (file && (!marker || marker.test(read(file)))) return { email, file };
	}
	return { email: null, candidate: candidates[0] };
}
