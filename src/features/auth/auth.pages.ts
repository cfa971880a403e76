/**
 * The pages behind the account emails' links (API.md, Operations): `GET /signup?token=…` and
 * `GET /reset-password?token=…` show a form and change nothing; the form POSTs to the same URL, which does
 * what `POST /auth/register/complete` and `POST /auth/password/reset` do. No script; the page's own CSP
 * (lib/pages.ts). The page does not sign anybody in: it says the account is ready, and the reader signs in.
 * Texts: src/i18n/ (`pages`), in the link's language.
 */
import { html } from "hono/html";
import { type Locale, messagesFor } from "../../i18n/index.ts";
import type { FieldError } from "../../lib/errors.ts";
import { languageField, type PageBody, pageLayout } from "../../lib/pages.ts";

/** A form's problems, in the reader's language: one line per field at fault. */
const problems = (locale: Locale, errors: readonly FieldError[]) => {
	const texts = messagesFor(locale).pages;
	const fields = [...new Set(errors.map((error) => error.field))];
	return fields.length === 0
		? ""
		: html`<ul class="error" role="alert">${fields.map(
				(field) => html`<li>${field === "full_name" ? texts.nameProblem : texts.passwordProblem}</li>`,
			)}</ul>`;
};

const passwordField = (locale: Locale, label: string) =>
	html`<label for="password">${messagesFor(locale).pages.passwordField(label)}</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required>`;

const asWho = (email: string | null, text: string): PageBody =>
	email ? html`<p>${text} <strong>${email}</strong>.</p>` : html``;

/** GET (and a form sent back with problems, keeping the name typed): the sign-up form. */
export const signUpPage = (
	locale: Locale,
	email: string | null,
	errors: readonly FieldError[] = [],
	fullName = "",
) => {
	const texts = messagesFor(locale).pages.signUp;
	return pageLayout(
		locale,
		texts.title,
		html`${asWho(email, texts.signingUpAs)}${problems(locale, errors)}
<form method="post">
${languageField(locale)}
<label for="full_name">${texts.nameLabel}</label>
<input id="full_name" name="full_name" type="text" autocomplete="name" maxlength="255" value="${fullName}">
${passwordField(locale, texts.passwordLabel)}
<p><button type="submit">${texts.submit}</button></p>
</form>`,
	);
};

export const signedUpPage = (locale: Locale, email: string) => {
	const texts = messagesFor(locale).pages.signUp;
	return pageLayout(locale, texts.doneTitle, html`<p>${texts.done} <strong>${email}</strong>.</p>`);
};

/** GET (and a form sent back with problems): the new-password form. */
export const resetPage = (locale: Locale, email: string | null, errors: readonly FieldError[] = []) => {
	const texts = messagesFor(locale).pages.reset;
	return pageLayout(
		locale,
		texts.title,
		html`${asWho(email, texts.forAccount)}${problems(locale, errors)}
<form method="post">
${languageField(locale)}
${passwordField(locale, texts.passwordLabel)}
<p>${texts.signsOut}</p>
<p><button type="submit">${texts.submit}</button></p>
</form>`,
	);
};

export const passwordChangedPage = (locale: Locale) => {
	const texts = messagesFor(locale).pages.reset;
	return pageLayout(locale, texts.doneTitle, html`<p>${texts.done}</p>`);
};
