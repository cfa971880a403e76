/**
 * The account emails: the link to finish signing up, the note a registered address gets instead (with a
 * link to reset the password), and the reset link. None carries a name: nothing anyone typed reaches an
 * address before its owner has followed a link. The links open the pages of auth.pages.ts (or the
 * storefront's own, when APP_URL is a storefront).
 */
import type { OutgoingEmail } from "../../lib/mailer.ts";
import { renderEmail } from "../../prebook-emails/templates.ts";

export const signUpPageUrl = (appUrl: string, token: string) =>
	`${appUrl}/signup?token=${encodeURIComponent(token)}`;
export const resetPageUrl = (appUrl: string, token: string) =>
	`${appUrl}/reset-password?token=${encodeURIComponent(token)}`;

const automatic = { "Auto-Submitted": "auto-generated" };

export function signUpEmail(input: { to: string; url: string }): OutgoingEmail {
	return renderEmail({
		to: input.to,
		fullName: null,
		subject: "Finish signing up",
		body: [
			"Someone — hopefully you — asked to open a bookstore account with this address. Follow the link to choose your password; the account exists from then on.",
			"The link works once, for 24 hours. If it was not you, ignore this email: no account is made.",
		],
		action: { label: "Choose my password", url: input.url },
		reason: "You received this email because this address was entered to sign up at the bookstore.",
		headers: automatic,
	});
}

/** A sign-up for an address that has an account: no second account, a way back in instead. */
export function accountExistsEmail(input: { to: string; url: string }): OutgoingEmail {
	return renderEmail({
		to: input.to,
		fullName: null,
		subject: "You already have an account",
		body: [
			"Someone — hopefully you — asked to sign up at the bookstore with this address, which already has an account. You can sign in with your password.",
			"Forgot it? Follow the link to choose a new one (it works once, for 1 hour; every device signed in is signed out). If it was not you, ignore this email: nothing changes.",
		],
		action: { label: "Reset my password", url: input.url },
		reason: "You received this email because this address was entered to sign up at the bookstore.",
		headers: automatic,
	});
}

export function resetPasswordEmail(input: { to: string; url: string }): OutgoingEmail {
	return renderEmail({
		to: input.to,
		fullName: null,
		subject: "Reset your password",
		body: [
			"Someone — hopefully you — asked to reset the password of the bookstore account of this address. Follow the link to choose a new one; every device signed in is then signed out.",
			"The link works once, for 1 hour. If it was not you, ignore this email: your password stays as it is.",
		],
		action: { label: "Choose a new password", url: input.url },
		reason: "You received this email because a password reset was asked for this address.",
		headers: automatic,
	});
}
