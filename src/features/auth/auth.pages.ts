/**
 * The pages behind the account emails' links (API.md, Operations): `GET /signup?token=…` and
 * `GET /reset-password?token=…` show a form and change nothing; the form POSTs to the same URL, which does
 * what `POST /auth/register/complete` and `POST /auth/password/reset` do. No script; the page's own CSP
 * (lib/pages.ts). The page does not sign anybody in: it says the account is ready, and the reader signs in.
 */
import { html } from "hono/html";
import type { FieldError } from "../../lib/errors.ts";
import { type PageBody, pageLayout } from "../../lib/pages.ts";

const problems = (errors: readonly FieldError[]) =>
	errors.length === 0
		? ""
		: html`<ul class="error">${errors.map((error) => html`<li>${error.detail}</li>`)}</ul>`;

const passwordField = (autocompleteLabel: string) =>
	html`<label for="password">${autocompleteLabel} (8 to 128 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required>`;

const asWho = (email: string | null, text: string): PageBody =>
	email ? html`<p>${text} <strong>${email}</strong>.</p>` : html``;

/** GET (and a form sent back with problems, keeping the name typed): the sign-up form. */
export const signUpPage = (email: string | null, errors: readonly FieldError[] = [], fullName = "") =>
	pageLayout(
		"Finish signing up",
		html`${asWho(email, "You are signing up as")}${problems(errors)}
<form method="post">
<label for="full_name">Your name (optional)</label>
<input id="full_name" name="full_name" type="text" autocomplete="name" maxlength="255" value="${fullName}">
${passwordField("Choose a password")}
<p><button type="submit">Create my account</button></p>
</form>`,
	);

export const signedUpPage = (email: string) =>
	pageLayout(
		"Your account is ready",
		html`<p>You can now sign in as <strong>${email}</strong> with the password you chose.</p>`,
	);

/** GET (and a form sent back with problems): the new-password form. */
export const resetPage = (email: string | null, errors: readonly FieldError[] = []) =>
	pageLayout(
		"Choose a new password",
		html`${asWho(email, "For the account of")}${problems(errors)}
<form method="post">
${passwordField("New password")}
<p>Every device signed in to the account is signed out.</p>
<p><button type="submit">Set my new password</button></p>
</form>`,
	);

export const passwordChangedPage = () =>
	pageLayout(
		"Your password is changed",
		html`<p>Every device that was signed in is signed out. Sign in with your new password.</p>`,
	);

/** The link cannot be used (unknown, used, expired, or the address completed meanwhile). */
export const linkRefusedPage = (detail: string) =>
	pageLayout(
		"This link cannot be used",
		html`<p>${detail}.</p>
<p>Sign-up links work once, for 24 hours; password reset links once, for 1 hour. Ask for a new one where you asked for this one.</p>`,
	);
