import { requestNetwork } from "../../lib/rate-limit.ts";
import type { AppRouteHandler } from "../../types.ts";
import { toUserResponse } from "../users/users.schemas.ts";
import type * as routes from "./auth.routes.ts";
import { logIn, registerUser, revokeRefreshToken, rotateRefreshToken } from "./auth.service.ts";

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
	const body = c.req.valid("json");
	const user = await registerUser(
		c.var.db,
		{ email: body.email, password: body.password, fullName: body.full_name ?? null },
		c.var.config.adminEmails,
	);
	return c.json(toUserResponse(user), 201);
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
