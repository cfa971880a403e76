import type { Context } from "hono";
import { type Locale, matchLocale, messagesFor, preferredLocale } from "../../i18n/index.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/app-env.ts";
import { requestEffects, sendEmail } from "../../lib/effects.ts";
import { AppError, validationError } from "../../lib/errors.ts";
import {
	formFields,
	linkRefusedPage,
	PAGE_CONTENT_SECURITY_POLICY,
	pageLocale,
	postedPageLocale,
} from "../../lib/pages.ts";
import { hashPassword } from "../../lib/password.ts";
import { requestNetwork } from "../../lib/rate-limit.ts";
import {
	ACCESS_TOKEN_TTL_SECONDS,
	hashToken,
	newSecretToken,
	REFRESH_TOKEN_TTL_MS,
	signAccessToken,
} from "../../lib/tokens.ts";
import { toUserResponse } from "../users/users.schemas.ts";
import {
	accountExistsEmail,
	resetPageUrl,
	resetPasswordEmail,
	signUpEmail,
	signUpPageUrl,
} from "./auth.emails.ts";
import { passwordChangedPage, resetPage, signedUpPage, signUpPage } from "./auth.pages.ts";
import type * as routes from "./auth.routes.ts";
import { ResetPasswordFields, SignUpFields } from "./auth.schemas.ts";
import {
	addressOfLink,
	COMPLETED_MEANWHILE,
	completeSignUp as completeSignUpLink,
	type EmailedLink,
	logIn,
	requestPasswordReset,
	requestSignUp,
	resetPassword as resetPasswordLink,
	revokeRefreshToken,
	rotateRefreshToken,
} from "./auth.service.ts";

/**
 * The email of a sign-up or reset request goes out after the response: the answer is the same whatever
 * the address, and so is its timing (a reset is emailed only to an account, which a response that waited
 * for the send would tell). A provider failure is logged (`sendEmail`); the reader can ask again.
 */
function emailAfterResponse(c: Context<AppEnv>, to: string, link: EmailedLink | null): void {
	if (!link) return;
	const { appUrl } = c.var.config;
	const input = { to, expiresAt: link.expiresAt, reader: link.reader };
	const email =
		link.purpose === "sign_up"
			? signUpEmail({ ...input, url: signUpPageUrl(appUrl, link.token) })
			: link.purpose === "account_exists"
				? accountExistsEmail({ ...input, url: resetPageUrl(appUrl, link.token) })
				: resetPasswordEmail({ ...input, url: resetPageUrl(appUrl, link.token) });
	const effects = requestEffects(c);
	effects.afterResponse(sendEmail(effects, email, link.purpose));
}

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
	const { email } = c.req.valid("json");
	// An address without an account is written to in the language its asker's browser asks for.
	const locale = preferredLocale(c.req.header("Accept-Language"));
	emailAfterResponse(c, email, await requestSignUp(c.var.db, { email, network: requestNetwork(c), locale }));
	return c.json({ status: "verification_sent" as const }, 202);
};

/** The sign-up's work, shared by the JSON route and the page: the password is hashed whatever the link. */
async function finishSignUp(
	c: Context<AppEnv>,
	input: { token: string; password: string; fullName: string | null; signIn: boolean; locale: Locale | null },
) {
	const refreshToken = newSecretToken();
	const result = await completeSignUpLink(c.var.db, {
		token: input.token,
		passwordHash: await hashPassword(input.password),
		fullName: input.fullName,
		adminEmails: c.var.config.adminEmails,
		locale: input.locale,
		session: input.signIn
			? {
					refreshTokenHash: await hashToken(refreshToken),
					familyId: crypto.randomUUID(),
					expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS).toISOString(),
				}
			: null,
	});
	return { ...result, refreshToken };
}

export const completeSignUp: AppRouteHandler<typeof routes.completeSignUp> = async (c) => {
	const body = c.req.valid("json");
	const { user, tokenVersion, refreshToken } = await finishSignUp(c, {
		token: body.token,
		password: body.password,
		fullName: body.full_name ?? null,
		signIn: true,
		// The browser's language, else the one the link was issued in.
		locale: matchLocale(c.req.header("Accept-Language")),
	});
	return c.json(
		{
			access_token: await signAccessToken({ userId: user.id, tokenVersion }, c.var.config.jwtSecret),
			refresh_token: refreshToken,
			token_type: "bearer" as const,
			expires_in: ACCESS_TOKEN_TTL_SECONDS,
			user: toUserResponse(user),
		},
		201,
	);
};

export const forgotPassword: AppRouteHandler<typeof routes.forgotPassword> = async (c) => {
	const { email } = c.req.valid("json");
	emailAfterResponse(c, email, await requestPasswordReset(c.var.db, { email, network: requestNetwork(c) }));
	return c.json({ status: "reset_sent" as const }, 202);
};

export const resetPassword: AppRouteHandler<typeof routes.resetPassword> = async (c) => {
	const { token, password } = c.req.valid("json");
	await resetPasswordLink(c.var.db, {
		token,
		passwordHash: await hashPassword(password),
		adminEmails: c.var.config.adminEmails,
	});
	return c.body(null, 204);
};

/**
 * A refusal of the link the page can show, in the page's language; anything else goes to the error
 * handler.
 */
function refusal(err: unknown, locale: Locale): { status: 400 | 403; reason: string } | null {
	if (!(err instanceof AppError)) return null;
	const texts = messagesFor(locale).pages;
	if (err.code === "AUTH_ACCOUNT_DEACTIVATED") return { status: 403, reason: texts.signUp.deactivated };
	if (err.code !== "AUTH_INVALID_TOKEN") return null;
	return {
		status: 400,
		reason: err.detail === COMPLETED_MEANWHILE ? texts.signUp.completedMeanwhile : texts.linkRefused.unknown,
	};
}

/**
 * The language a page's form was shown in (its hidden `locale` field, which the GET set from the link),
 * else the link's, else the browser's: the answer to a POST speaks the language the reader just read.
 */
const formLocale = (c: Context<AppEnv>, fields: Record<string, string>, kind: "sign_up" | "reset") =>
	postedPageLocale(c, fields, async () =>
		c.req.query("token")
			? (await addressOfLink(c.var.db, c.req.query("token") as string, kind))?.locale
			: null,
	);

export const showSignUpPage: AppRouteHandler<typeof routes.showSignUpPage> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const { token } = c.req.valid("query");
	const link = token ? await addressOfLink(c.var.db, token, "sign_up") : null;
	// A used or expired link still speaks its own language.
	const locale = pageLocale(c, link?.locale);
	if (!link?.usable) return c.html(linkRefusedPage(locale), 400);
	return c.html(signUpPage(locale, link.usable.email), 200);
};

export const completeSignUpPage: AppRouteHandler<typeof routes.completeSignUpPage> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const { token } = c.req.valid("query");
	const fields = await formFields(c.req);
	const locale = await formLocale(c, fields, "sign_up");
	if (!token) return c.html(linkRefusedPage(locale), 400);
	const form = SignUpFields.safeParse({ password: fields.password, full_name: fields.full_name || null });
	if (!form.success)
		return c.html(signUpPage(locale, null, validationError(form.error).extra.errors, fields.full_name), 422);
	try {
		const { user } = await finishSignUp(c, {
			token,
			password: form.data.password,
			fullName: form.data.full_name ?? null,
			signIn: false,
			// The language the reader just read the page in.
			locale,
		});
		return c.html(signedUpPage(locale, user.email), 201);
	} catch (err) {
		const refused = refusal(err, locale);
		if (!refused) throw err;
		return c.html(linkRefusedPage(locale, refused.reason), refused.status);
	}
};

export const showResetPage: AppRouteHandler<typeof routes.showResetPage> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const { token } = c.req.valid("query");
	const link = token ? await addressOfLink(c.var.db, token, "reset") : null;
	const locale = pageLocale(c, link?.locale);
	if (!link?.usable) return c.html(linkRefusedPage(locale), 400);
	return c.html(resetPage(locale, link.usable.email), 200);
};

export const resetPasswordPage: AppRouteHandler<typeof routes.resetPasswordPage> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const { token } = c.req.valid("query");
	const fields = await formFields(c.req);
	const locale = await formLocale(c, fields, "reset");
	if (!token) return c.html(linkRefusedPage(locale), 400);
	const form = ResetPasswordFields.safeParse({ password: fields.password });
	if (!form.success) return c.html(resetPage(locale, null, validationError(form.error).extra.errors), 422);
	try {
		await resetPasswordLink(c.var.db, {
			token,
			passwordHash: await hashPassword(form.data.password),
			adminEmails: c.var.config.adminEmails,
		});
		return c.html(passwordChangedPage(locale), 200);
	} catch (err) {
		const refused = refusal(err, locale);
		if (!refused) throw err;
		return c.html(linkRefusedPage(locale, refused.reason), 400);
	}
};

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
	const { email, password } = c.req.valid("json");
	const tokens = await logIn(
		c.var.db,
		{ email, password, network: requestNetwork(c) },
		c.var.config.jwtSecret,
	);
	return c.json(tokens, 200);
};

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) => {
	const { refresh_token } = c.req.valid("json");
	return c.json(await rotateRefreshToken(c.var.db, refresh_token, c.var.config.jwtSecret), 200);
};

export const logout: AppRouteHandler<typeof routes.logout> = async (c) => {
	await revokeRefreshToken(c.var.db, c.req.valid("json").refresh_token);
	return c.body(null, 204);
};
