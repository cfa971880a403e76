/**
 * The small HTML pages the API serves behind emailed links (API.md, Operations): unsubscribe, finish
 * sign-up, reset password. Each works without a storefront: a `GET` shows what the link will do and
 * changes nothing (mail scanners follow links), and its form POSTs `application/x-www-form-urlencoded` to
 * the page's own URL, which does what the JSON route does. Content is text: `html` escapes every value.
 */
import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { html } from "hono/html";
import type { AppEnv } from "../types.ts";
import { AppError } from "./errors.ts";

/** The pages set their own policy: no script at all, inline style only, the form posts to this origin. */
export const PAGE_CONTENT_SECURITY_POLICY =
	"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export type PageBody = ReturnType<typeof html>;

export const pageLayout = (title: string, body: PageBody) => html`<!doctype html>
<html lang="en">
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
