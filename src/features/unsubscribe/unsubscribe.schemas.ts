import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { html } from "hono/html";
import { AppError } from "../../lib/errors.ts";
import { pageLayout } from "../../lib/pages.ts";
import type { UnsubscribeScope } from "../../prebook-emails/unsubscribe-token.ts";
import type { AppEnv } from "../../types.ts";

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

/** What the pages say a token will do (or did). */
export interface UnsubscribeView {
	scope: UnsubscribeScope;
	bookTitle: string | null;
}

const whatItDoes = (view: UnsubscribeView) =>
	view.scope === "all"
		? html`<p>This cancels your pre-booking${view.bookTitle ? html` of <strong>${view.bookTitle}</strong>` : ""} and stops every restock email from the bookstore. You can turn them on again in your account's preferences.</p>`
		: html`<p>This cancels your pre-booking${view.bookTitle ? html` of <strong>${view.bookTitle}</strong>` : ""}: you will not be told when it is back, and a copy held for you goes to the next reader in line.</p>`;

/** GET: says what will happen and asks for a click — mail scanners follow links, so a GET changes nothing. */
export const confirmPage = (view: UnsubscribeView) =>
	pageLayout(
		view.scope === "all" ? "Stop restock emails" : "Cancel your pre-booking",
		html`${whatItDoes(view)}
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${view.scope === "all" ? "Stop restock emails" : "Cancel my pre-booking"}</button></form>`,
	);

export const donePage = (view: UnsubscribeView) =>
	pageLayout(
		view.scope === "all" ? "You will get no more restock emails" : "Your pre-booking is cancelled",
		html`<p>${view.scope === "all" ? "Done: the pre-booking is cancelled and restock emails are off." : "Done. You can pre-book the book again at any time."}</p>`,
	);

export const notFoundPage = () =>
	pageLayout(
		"This link is not valid",
		html`<p>The link is incomplete or was changed. Use the link from the email as it is, or manage your pre-bookings in your account.</p>`,
	);
