import { requestEffects, sendEmail } from "../../lib/effects.ts";
import { requestNetwork } from "../../lib/rate-limit.ts";
import { verificationEmail } from "../../prebook-emails/templates.ts";
import type { AppRouteHandler } from "../../types.ts";
import { toUserResponse } from "../users/users.schemas.ts";
import type * as routes from "./auth.routes.ts";
import {
	resendVerification as issueVerificationLink,
	logIn,
	registerUser,
	revokeRefreshToken,
	rotateRefreshToken,
	verifyEmail as verifyEmailLink,
} from "./auth.service.ts";

const verificationUrl = (appUrl: string, token: string) =>
	`${appUrl}/verify-email?token=${encodeURIComponent(token)}`;

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
	const body = c.req.valid("json");
	const { user, verificationToken, requestedAt } = await registerUser(c.var.db, {
		email: body.email,
		password: body.password,
		fullName: body.full_name ?? null,
		network: requestNetwork(c),
	});
	await sendEmail(
		requestEffects(c),
		verificationEmail({
			to: user.email,
			url: verificationUrl(c.var.config.appUrl, verificationToken),
			requestedAt,
		}),
		"verify_email",
	);
	return c.json(toUserResponse(user), 201);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
	const user = await verifyEmailLink(c.var.db, c.req.valid("json").token, c.var.config.adminEmails);
	return c.json(toUserResponse(user), 200);
};

export const resendVerification: AppRouteHandler<typeof routes.resendVerification> = async (c) => {
	const { email, verificationToken } = await issueVerificationLink(c.var.db, c.var.caller.id);
	await sendEmail(
		requestEffects(c),
		verificationEmail({ to: email, url: verificationUrl(c.var.config.appUrl, verificationToken) }),
		"verify_email",
	);
	return c.json({ status: "verification_sent" as const }, 202);
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
