import { createRoute, z } from "@hono/zod-openapi";
import { signedIn } from "../../lib/auth.ts";
import {
	bodyErrors,
	errorResponses,
	jsonBody,
	jsonResponse,
	noContent,
	publicRoute,
	userErrors,
} from "../../lib/openapi.ts";
import { UserSchema } from "../users/users.schemas.ts";
import { EmailLinkBody, LoginBody, RefreshBody, RegisterBody, TokenPairSchema } from "./auth.schemas.ts";

/** Every /auth route shares a per-client budget (src/lib/rate-limit.ts). */
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
	summary: "Create an account",
	description:
		"Sends a verification link (`APP_URL/verify-email?token=…`, single use, 24 hours). An address listed in `ADMIN_EMAILS` becomes admin only once verified. Registering the address of a guest (a confirmed guest pre-booking) is a claim: the password and name take effect, and the account can log in, only when the link emailed for this registration is followed (the first followed wins; the pre-bookings are kept); until then the account is untouched.",
	request: { body: jsonBody(RegisterBody) },
	responses: {
		201: jsonResponse(UserSchema, "The new account (for a guest's address: as it will be once verified)"),
		...errorResponses({
			...bodyErrors,
			409: { codes: ["AUTH_EMAIL_CONFLICT"], description: "The email has an account (field `email`)" },
			429: {
				codes: ["RATE_LIMITED"],
				description:
					"More than 30 auth requests a minute from this client network, or a guest's address was claimed from this network less than a minute ago or five times in the last hour (`Retry-After`)",
			},
		}),
	},
});

export const verifyEmail = createRoute({
	operationId: "verifyEmail",
	...publicRoute,
	method: "post",
	path: "/auth/verify-email",
	tags: ["Auth"],
	summary: "Verify an email address with the emailed link's token",
	request: { body: jsonBody(EmailLinkBody) },
	responses: {
		200: jsonResponse(UserSchema, "The account, `email_verified: true`"),
		...errorResponses({
			...bodyErrors,
			400: {
				codes: ["AUTH_INVALID_TOKEN", "MALFORMED_BODY"],
				description: "The link is unknown, used or expired (24 hours), or the body is not valid JSON",
			},
			429: clientLimit,
		}),
	},
});

export const resendVerification = createRoute({
	operationId: "resendVerificationEmail",
	method: "post",
	path: "/auth/verify-email/resend",
	tags: ["Auth"],
	summary: "Send the verification link again",
	description: "At most one email a minute per user.",
	...signedIn,
	responses: {
		202: jsonResponse(
			z.object({ status: z.literal("verification_sent") }).openapi("VerificationSent"),
			"A new link is on its way",
		),
		...errorResponses({
			...userErrors,
			409: { codes: ["EMAIL_ALREADY_VERIFIED"], description: "The address is verified already" },
			429: {
				codes: ["RATE_LIMITED"],
				description: "A link was sent less than a minute ago (`Retry-After`), or too many auth requests",
			},
		}),
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
