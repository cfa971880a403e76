/**
 * The account emails: the link to finish signing up, the note a registered address gets instead (with a
 * link to reset the password), and the reset link — in the language the link was issued in (the asking
 * request's `Accept-Language` for an address without an account, else the account's), with the link's end
 * in the reader's time zone. None carries a name: nothing anyone typed reaches an address before its owner
 * has followed a link. The links open the pages of auth.pages.ts (or the storefront's own, when APP_URL is
 * a storefront).
 */
import { formatDateTime, messagesFor, supportedLocale } from "../../i18n/index.ts";
import type { OutgoingEmail } from "../../lib/mailer.ts";
import { type Reader, renderEmail } from "../../prebook-emails/templates.ts";

export const signUpPageUrl = (appUrl: string, token: string) =>
	`${appUrl}/signup?token=${encodeURIComponent(token)}`;
export const resetPageUrl = (appUrl: string, token: string) =>
	`${appUrl}/reset-password?token=${encodeURIComponent(token)}`;

export interface AccountEmailInput {
	to: string;
	url: string;
	/** When the link stops working. */
	expiresAt: string;
	reader: Reader;
}

/** One of the three: they differ only in their texts. */
function accountEmail(
	kind: "signUp" | "accountExists" | "resetPassword",
	input: AccountEmailInput,
): OutgoingEmail {
	const locale = supportedLocale(input.reader.locale);
	const texts = messagesFor(locale).email[kind];
	return renderEmail({
		to: input.to,
		locale,
		fullName: null,
		subject: texts.subject,
		body: texts.body({ until: formatDateTime(input.expiresAt, locale, input.reader.timeZone) }),
		action: { label: texts.action, url: input.url },
		reason: texts.reason,
		headers: { "Auto-Submitted": "auto-generated" },
	});
}

export const signUpEmail = (input: AccountEmailInput) => accountEmail("signUp", input);

/** A sign-up for an address that has an account: no second account, a way back in instead. */
export const accountExistsEmail = (input: AccountEmailInput) => accountEmail("accountExists", input);

export const resetPasswordEmail = (input: AccountEmailInput) => accountEmail("resetPassword", input);
