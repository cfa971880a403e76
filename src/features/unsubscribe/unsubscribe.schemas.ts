import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { html } from "hono/html";
import { type Locale, messagesFor } from "../../i18n/index.ts";
import type { AppEnv } from "../../lib/app-env.ts";
import { AppError } from "../../lib/errors.ts";
import { pageLayout } from "../../lib/pages.ts";
import type { UnsubscribeScope } from "../../prebook-emails/unsubscribe-token.ts";

/**
 * No length or format rule here: any token that is not a genuine one, however long, gets the 404 page the
 * contract promises (verifyUnsubscribeToken's anchored pattern refuses it before any HMAC), never a 422.
 */
export const UnsubscribeParams = z.object({
	token: z
		.string()
		.openapi({ param: { name: "token", in: "path" }, description: "The signed token from the email's link" }),
});

/**
 * The one-click body (RFC 8058): `List-Unsubscribe=One-Click`, form-encoded, or the page's form. Documented
 * as a plain schema, not a zod one, so nothing parses it: the signed token is all the request needs.
 */
const oneClickForm = {
	type: "object" as const,
	properties: {
		"List-Unsubscribe": { type: "string" as const, enum: ["One-Click"], example: "One-Click" },
	},
};

export const oneClickBody = {
	required: false,
	description:
		"`List-Unsubscribe=One-Click` (RFC 8058), what mail providers send, or the page's form; an empty body (no `Content-Type`) is taken too. The body's fields are not checked: the signed token decides.",
	content: {
		"application/x-www-form-urlencoded": { schema: oneClickForm },
		"multipart/form-data": { schema: oneClickForm },
	},
};

const JSON_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * One-click posts are forms (RFC 8058 §3.1: `application/x-www-form-urlencoded` or `multipart/form-data`),
 * but senders vary (no `Content-Type`, `text/plain`) and the body is never read — the signed token decides —
 * so any body is taken except JSON: a JSON client is calling the wrong thing (415 UNSUPPORTED_MEDIA_TYPE).
 */
export const oneClickBodyOnly = createMiddleware<AppEnv>(async (c, next) => {
	const type = c.req.header("Content-Type");
	if (type && JSON_TYPE.test(type)) {
		throw new AppError(
			"UNSUPPORTED_MEDIA_TYPE",
			"One-click unsubscribe takes a form (application/x-www-form-urlencoded or multipart/form-data) or no body, not JSON",
		);
	}
	await next();
});

/** What the pages say a token will do (or did), and in which language (the reader's, if still known). */
export interface UnsubscribeView {
	scope: UnsubscribeScope;
	bookTitle: string | null;
	locale: string | null;
	/**
	 * The pre-booking was already closed (bought, cancelled, lapsed — or gone) when the page was shown or the
	 * POST came: there was nothing to cancel, and the pages do not say they cancelled it.
	 */
	closed: boolean;
}

/** GET: says what will happen and asks for a click — mail scanners follow links, so a GET changes nothing. */
export const confirmPage = (locale: Locale, view: UnsubscribeView) => {
	const texts = messagesFor(locale).pages.unsubscribe;
	const all = view.scope === "all";
	// Nothing to cancel and nothing else to do: no button.
	if (!all && view.closed)
		return pageLayout(locale, texts.closedTitle, html`<p>${texts.closed(view.bookTitle)}</p>`);
	const what = !all
		? texts.prebookWhat(view.bookTitle)
		: view.closed
			? texts.allWhatClosed(view.bookTitle)
			: texts.allWhat(view.bookTitle);
	return pageLayout(
		locale,
		all ? texts.allTitle : texts.prebookTitle,
		html`<p>${what}</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${all ? texts.allSubmit : texts.prebookSubmit}</button></form>`,
	);
};

export const donePage = (locale: Locale, view: UnsubscribeView) => {
	const texts = messagesFor(locale).pages.unsubscribe;
	if (view.scope === "all") {
		return pageLayout(
			locale,
			texts.allDoneTitle,
			html`<p>${view.closed ? texts.allDoneClosed : texts.allDone}</p>`,
		);
	}
	return view.closed
		? pageLayout(locale, texts.closedTitle, html`<p>${texts.closed(view.bookTitle)}</p>`)
		: pageLayout(locale, texts.prebookDoneTitle, html`<p>${texts.prebookDone}</p>`);
};

export const notFoundPage = (locale: Locale) => {
	const texts = messagesFor(locale).pages.unsubscribe;
	return pageLayout(locale, texts.notFoundTitle, html`<p>${texts.notFound}</p>`);
};
