/**
 * The small HTML pages the API serves behind emailed links (API.md, Operations): unsubscribe, finish
 * sign-up, reset password, confirm a guest pre-booking. Each works without a storefront and speaks the
 * reader's language (`pageLocale`): a `GET` shows what the link will do and
 * changes nothing (mail scanners follow links), and its form POSTs `application/x-www-form-urlencoded` to
 * the page's own URL, which does what the JSON route does. Content is text: `html` escapes every value.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { html } from "hono/html";
import { type Locale, messagesFor, preferredLocale, supportedLocale } from "../i18n/index.ts";
import type { AppEnv } from "./app-env.ts";
import { AppError } from "./errors.ts";

/** The pages set their own policy: no script at all, inline style only, the form posts to this origin. */
export const PAGE_CONTENT_SECURITY_POLICY =
	"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export type PageBody = ReturnType<typeof html>;

/** A page in the reader's language (`locale`: the link's, else the browser's; see src/i18n/). */
export const pageLayout = (locale: Locale, title: string, body: PageBody) => html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}label{display:block;margin:1rem 0 .3rem}input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}.error{color:#a00}</style>
</head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>`;

/** An HTML response in the OpenAPI document. */
export const htmlPage = (description: string) => ({
	description,
	content: { "text/html": { schema: z.string().openapi({ example: "<!doctype html>…" }) } },
});

const FORM_TYPE = /^\s*(?:application\/x-www-form-urlencoded|multipart\/form-data)\s*(?:;|$)/i;

/**
 * A page's form POST takes the form types a browser sends; anything else (JSON included) is a client
 * calling the wrong thing: 415 UNSUPPORTED_MEDIA_TYPE, pointing at the JSON route.
 */
export const formBodyOnly = (jsonRoute: string) =>
	createMiddleware<AppEnv>(async (c, next) => {
		if (!FORM_TYPE.test(c.req.header("Content-Type") ?? "")) {
			throw new AppError(
				"UNSUPPORTED_MEDIA_TYPE",
				`This page takes its form (application/x-www-form-urlencoded or multipart/form-data); JSON clients call ${jsonRoute}`,
			);
		}
		await next();
	});

/** The text fields of a posted form (a repeated or file field is read as absent). */
export async function formFields(request: { parseBody(): Promise<Record<string, unknown>> }) {
	const body = await request.parseBody();
	return Object.fromEntries(
		Object.entries(body).flatMap(([name, value]) => (typeof value === "string" ? [[name, value]] : [])),
	) as Record<string, string>;
}

/**
 * The language of a page: the one its link was issued in (the email's), else the best the browser asks
 * for (`Accept-Language`), else English.
 */
export const pageLocale = (c: Context<AppEnv>, linkLocale?: string | null): Locale =>
	linkLocale ? supportedLocale(linkLocale) : preferredLocale(c.req.header("Accept-Language"));

/**
 * The language of a page's POST: the form's hidden `locale` field (which the GET set from the link); for
 * a client that posts the form without it, the language the link was issued in (`linkLocale`, one read),
 * else the browser's.
 */
export async function postedPageLocale(
	c: Context<AppEnv>,
	fields: Record<string, string>,
	linkLocale: () => Promise<string | null | undefined>,
): Promise<Locale> {
	if (fields.locale) return supportedLocale(fields.locale);
	return pageLocale(c, await linkLocale());
}

/** A form's hidden field carrying the page's language to its POST, whose answer then speaks it too. */
export const languageField = (locale: Locale) => html`<input type="hidden" name="locale" value="${locale}">`;

/**
 * An emailed link that cannot be used (unknown, used, expired, or the address completed meanwhile), with
 * why (`reason`, already in the reader's language) and what to do.
 */
export const linkRefusedPage = (locale: Locale, reason?: string) => {
	const texts = messagesFor(locale).pages.linkRefused;
	return pageLayout(
		locale,
		texts.title,
		html`<p>${reason ?? texts.unknown}</p>
<p>${texts.help}</p>`,
	);
};
