/**
 * The page behind a guest confirmation email's link (API.md, Operations; Pre-bookings rule 15):
 * `GET /prebooks/confirm?token=…` says what confirming does and changes nothing (mail scanners follow
 * links); its form POSTs to the same URL, which does what `POST /prebooks/guest/confirm` does. No script;
 * the page's own CSP (lib/pages.ts). Texts: src/i18n/ (`pages.guestConfirm`), in the link's language.
 */
import { html } from "hono/html";
import { type Locale, messagesFor } from "../../i18n/index.ts";
import type { AppError } from "../../lib/errors.ts";
import { languageField, pageLayout } from "../../lib/pages.ts";
import { ACCOUNT_NOT_VERIFIED } from "./guest-prebooks.service.ts";
import { MAX_WAITING_PER_USER } from "./rules.ts";

/** GET: the book, the address, and a button. */
export const confirmGuestPage = (locale: Locale, link: { email: string; title: string }) => {
	const texts = messagesFor(locale).pages.guestConfirm;
	return pageLayout(
		locale,
		texts.title,
		html`<p>${texts.intro(link)}</p>
<form method="post">
${languageField(locale)}
<p><button type="submit">${texts.submit}</button></p>
</form>`,
	);
};

export const guestConfirmedPage = (locale: Locale, title: string) => {
	const texts = messagesFor(locale).pages.guestConfirm;
	return pageLayout(locale, texts.doneTitle, html`<p>${texts.done(title)}</p>`);
};

/**
 * Why a confirmation made no pre-booking, as a page with the JSON route's status; null for an error the
 * page does not explain (the error handler answers it).
 */
export function guestRefusal(
	locale: Locale,
	err: AppError,
): { status: 400 | 404 | 409; page: ReturnType<typeof pageLayout> } | null {
	const texts = messagesFor(locale).pages;
	const refused = (status: 400 | 404 | 409, reason: string) => ({
		status,
		page: pageLayout(
			locale,
			status === 400 ? texts.linkRefused.title : texts.guestConfirm.title,
			status === 400
				? html`<p>${reason}</p><p>${texts.linkRefused.help}</p>`
				: html`<p class="error">${reason}</p>`,
		),
	});
	switch (err.code) {
		case "AUTH_INVALID_TOKEN":
			return refused(
				400,
				err.detail === ACCOUNT_NOT_VERIFIED
					? texts.guestConfirm.unverifiedAccount
					: texts.linkRefused.unknown,
			);
		case "BOOK_NOT_FOUND":
			return refused(404, texts.guestConfirm.bookGone);
		case "PREBOOK_BOOK_IN_STOCK":
			return refused(409, texts.guestConfirm.inStock);
		case "PREBOOK_LIMIT_REACHED":
			return refused(409, texts.guestConfirm.limitReached(MAX_WAITING_PER_USER));
		case "PREBOOK_DUPLICATE":
			return refused(409, texts.guestConfirm.duplicate);
		default:
			return null;
	}
}
