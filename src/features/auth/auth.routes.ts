import { createRoute } from "@hono/zod-openapi";
import {
	bodyErrors,
	errorResponses,
	jsonBody,
	jsonResponse,
	noContent,
	publicRoute,
	standardHeaders,
} from "../../lib/openapi.ts";
import { formBodyOnly, htmlPage } from "../../lib/pages.ts";
import { limitAuthRequests } from "../../lib/rate-limit.ts";
import {
	CompleteSignUpBody,
	ForgotPasswordBody,
	LoginBody,
	PageQuery,
	RefreshBody,
	RegisterBody,
	ResetPasswordBody,
	ResetSentSchema,
	SignedUpSchema,
	TokenPairSchema,
	VerificationSentSchema,
} from "./auth.schemas.ts";

/** Every /auth route, and the pages' form POSTs, share a per-client budget (src/lib/rate-limit.ts). */
const clientLimit = {
	codes: ["RATE_LIMITED"],
	description: "More than 30 auth requests a minute from this client network (`Retry-After`)",
} as const;

export const register = createRoute({
	operationId: "register",
	...publicRoute,
	method: "post",
	path: "/auth/register",
	tags: ["Auth"],
	summary: "Sign up: email the address a link to finish",
	description:
		"Makes no account: the account exists once the owner of the address follows the emailed link (`APP_URL/signup?token=…`, single use, 24 hours) and chooses the password there (`POST /auth/register/complete`, or the page the link opens). An address that already has an account gets a note saying so, with a link to reset the password (`APP_URL/reset-password?token=…`, 1 hour) instead. Always the same answer, whatever the address; the email is sent after the response. One address gets at most 3 such emails an hour and 10 a day, whoever asks: beyond, the answer is the same and nothing is sent.",
	request: { body: jsonBody(RegisterBody) },
	responses: {
		202: jsonResponse(VerificationSentSchema, "Always the same answer"),
		...errorResponses({ ...bodyErrors, 429: clientLimit }),
	},
});

export const completeSignUp = createRoute({
	operationId: "completeSignUp",
	...publicRoute,
	method: "post",
	path: "/auth/register/complete",
	tags: ["Auth"],
	summary: "Finish signing up with the emailed link's token",
	description:
		"The account exists from here on, verified, with this password, and is signed in. A guest account of the address (guest pre-bookings) becomes a full account and keeps its pre-bookings; an account registered unverified before sign-up was email-first is replaced (new password and name, every token of it ends). An address listed in `ADMIN_EMAILS` becomes admin. Several sign-up links of one address may be out at once: the first completed spends the others.",
	request: { body: jsonBody(CompleteSignUpBody) },
	responses: {
		201: jsonResponse(SignedUpSchema, "The account, and a new access token and refresh token"),
		...errorResponses({
			...bodyErrors,
			400: {
				codes: ["AUTH_INVALID_TOKEN", "MALFORMED_BODY"],
				description:
					"The link is unknown, used or expired (24 hours), or the address completed a sign-up meanwhile (another link, or a password reset); or the body is not valid JSON",
			},
			403: {
				codes: ["AUTH_ACCOUNT_DEACTIVATED"],
				description: "The address's guest or unverified account is deactivated",
			},
			429: clientLimit,
		}),
	},
});

export const forgotPassword = createRoute({
	operationId: "forgotPassword",
	...publicRoute,
	method: "post",
	path: "/auth/password/forgot",
	tags: ["Auth"],
	summary: "Email a password reset link",
	description:
		"An account with a password gets a link (`APP_URL/reset-password?token=…`, single use, 1 hour); a guest account or an unknown address gets nothing. Always the same answer, after the same work; the email is sent after the response. One address gets at most 3 reset emails an hour and 10 a day, whoever asks.",
	request: { body: jsonBody(ForgotPasswordBody) },
	responses: {
		202: jsonResponse(ResetSentSchema, "Always the same answer"),
		...errorResponses({ ...bodyErrors, 429: clientLimit }),
	},
});

export const resetPassword = createRoute({
	operationId: "resetPassword",
	...publicRoute,
	method: "post",
	path: "/auth/password/reset",
	tags: ["Auth"],
	summary: "Set a new password with the emailed link's token",
	description:
		"Every session and access token of the account ends (sign in again). An account registered unverified before sign-up was email-first is verified by it: the link proved the address.",
	request: { body: jsonBody(ResetPasswordBody) },
	responses: {
		204: noContent("The password is changed; every token of the account has ended"),
		...errorResponses({
			...bodyErrors,
			400: {
				codes: ["AUTH_INVALID_TOKEN", "MALFORMED_BODY"],
				description: "The link is unknown, used or expired (1 hour), or the body is not valid JSON",
			},
			429: clientLimit,
		}),
	},
});

/** A page's HTML response, with the headers every response carries. */
const page = (description: string) => ({ ...htmlPage(description), headers: standardHeaders });

/** The errors a page's form POST can answer in JSON, before its handler renders anything. */
const formPostErrors = errorResponses({
	413: ["PAYLOAD_TOO_LARGE"],
	415: {
		codes: ["UNSUPPORTED_MEDIA_TYPE"],
		description: "The body is not a form (JSON clients call the JSON route)",
	},
	422: {
		codes: ["VALIDATION_ERROR"],
		description: "The query string is not valid UTF-8",
	},
	429: clientLimit,
});

/** 422: the form sent back with its problems (HTML), or a query string that is not UTF-8 (JSON). */
const formProblems = {
	...formPostErrors[422],
	description:
		"The form, with what is wrong with it (HTML); or VALIDATION_ERROR: the query string is not valid UTF-8",
	content: { ...htmlPage("").content, ...formPostErrors[422].content },
};

const pageForm = (fields: Record<string, { type: "string"; description: string }>, required: string[]) => ({
	required: true,
	description: "The page's form",
	content: {
		"application/x-www-form-urlencoded": {
			schema: { type: "object" as const, properties: fields, required },
		},
	},
});

export const showSignUpPage = createRoute({
	operationId: "showSignUpPage",
	...publicRoute,
	method: "get",
	path: "/signup",
	tags: ["Auth"],
	summary: "The page behind a sign-up email's link (changes nothing)",
	description:
		"Shows the address and a form (name, password) that POSTs to this URL. A GET never changes anything: mail scanners follow links.",
	request: { query: PageQuery },
	responses: {
		200: page("The form"),
		400: page(
			"The link is unknown, used or expired: a used or expired link's page speaks the language the link was issued in, an unknown one the browser's",
		),
		...errorResponses({
			422: { codes: ["VALIDATION_ERROR"], description: "The query string is not valid UTF-8" },
		}),
	},
});

export const completeSignUpPage = createRoute({
	operationId: "completeSignUpPage",
	...publicRoute,
	method: "post",
	path: "/signup",
	tags: ["Auth"],
	summary: "The sign-up page's form: finish signing up",
	description:
		"Does what `POST /auth/register/complete` does, with the link's token from this URL, and answers a page (it signs nobody in: the reader signs in next). Takes the page's form only.",
	middleware: [limitAuthRequests, formBodyOnly("POST /auth/register/complete")] as const,
	request: {
		query: PageQuery,
		body: pageForm(
			{
				password: { type: "string", description: "8 to 128 characters" },
				full_name: { type: "string", description: "Optional, at most 255 characters" },
			},
			["password"],
		),
	},
	responses: {
		201: page("The account exists: the reader can sign in"),
		400: page("The link is unknown, used or expired, or the address completed a sign-up meanwhile"),
		403: page("The address's guest or unverified account is deactivated"),
		...formPostErrors,
		422: formProblems,
	},
});

export const showResetPage = createRoute({
	operationId: "showResetPasswordPage",
	...publicRoute,
	method: "get",
	path: "/reset-password",
	tags: ["Auth"],
	summary: "The page behind a reset email's link (changes nothing)",
	description:
		"Shows the address and a new-password form that POSTs to this URL. A GET never changes anything.",
	request: { query: PageQuery },
	responses: {
		200: page("The form"),
		400: page(
			"The link is unknown, used or expired: a used or expired link's page speaks the language the link was issued in, an unknown one the browser's",
		),
		...errorResponses({
			422: { codes: ["VALIDATION_ERROR"], description: "The query string is not valid UTF-8" },
		}),
	},
});

export const resetPasswordPage = createRoute({
	operationId: "resetPasswordPage",
	...publicRoute,
	method: "post",
	path: "/reset-password",
	tags: ["Auth"],
	summary: "The reset page's form: set a new password",
	description:
		"Does what `POST /auth/password/reset` does, with the link's token from this URL, and answers a page. Takes the page's form only.",
	middleware: [limitAuthRequests, formBodyOnly("POST /auth/password/reset")] as const,
	request: {
		query: PageQuery,
		body: pageForm({ password: { type: "string", description: "8 to 128 characters" } }, ["password"]),
	},
	responses: {
		200: page("The password is changed; every token of the account has ended"),
		400: page("The link is unknown, used or expired"),
		...formPostErrors,
		422: formProblems,
	},
});

export const login = createRoute({
	operationId: "login",
	...publicRoute,
	method: "post",
	path: "/auth/login",
	tags: ["Auth"],
	summary: "Exchange email and password for tokens",
	description:
		"Failed attempts are limited per email within 15 minutes: 10 from one client network (an IPv4 address or an IPv6 /64) get that network 429 for this email; 100 from all networks get 429 everywhere. `Retry-After` says when the oldest counted failure ages out. A success clears this network's failures.",
	request: { body: jsonBody(LoginBody) },
	responses: {
		200: jsonResponse(TokenPairSchema, "A new access token and refresh token"),
		...errorResponses({
			...bodyErrors,
			401: {
				codes: ["AUTH_INVALID_CREDENTIALS"],
				description: "Unknown email and wrong password look the same",
			},
			403: { codes: ["AUTH_ACCOUNT_DEACTIVATED"], description: "The account is deactivated" },
			429: {
				codes: ["RATE_LIMITED"],
				description: `10 failed attempts for this email from this network (100 from all networks) within 15 minutes, or ${clientLimit.description.toLowerCase()}`,
			},
		}),
	},
});

export const refresh = createRoute({
	operationId: "refreshTokens",
	...publicRoute,
	method: "post",
	path: "/auth/refresh",
	tags: ["Auth"],
	summary: "Rotate a refresh token",
	description:
		"Spends the refresh token and returns a new pair. Presenting a spent token again revokes every token of its login session (family); of two concurrent refreshes of one token exactly one succeeds.",
	request: { body: jsonBody(RefreshBody) },
	responses: {
		200: jsonResponse(TokenPairSchema, "A new token pair"),
		...errorResponses({
			...bodyErrors,
			401: { codes: ["AUTH_INVALID_TOKEN"], description: "The refresh token is unknown, spent or expired" },
			429: clientLimit,
		}),
	},
});

export const logout = createRoute({
	operationId: "logout",
	...publicRoute,
	method: "post",
	path: "/auth/logout",
	tags: ["Auth"],
	summary: "Revoke a refresh token",
	description: "Revokes the token's whole login session. Unknown or already revoked tokens also answer 204.",
	request: { body: jsonBody(RefreshBody) },
	responses: { 204: noContent("Revoked"), ...errorResponses({ ...bodyErrors, 429: clientLimit }) },
});
