import { loadConfig } from "../../lib/config.ts";
import type { AppRouteHandler } from "../../types.ts";
import { toUserResponse } from "../users/users.schemas.ts";
import type * as routes from "./auth.routes.ts";
import { login, registerUser, revokeRefreshToken, rotateRefreshToken } from "./auth.service.ts";

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
	const body = c.req.valid("json");
	const user = await registerUser(
		c.var.db,
		{ email: body.email, password: body.password, fullName: body.full_name ?? null },
		loadConfig(c.env).adminEmails,
	);
	return c.json(toUserResponse(user), 201);
};

export const loginHandler: AppRouteHandler<typeof routes.login> = async (c) => {
	const { email, password } = c.req.valid("json");
	return c.json(await login(c.var.db, email, password, loadConfig(c.env).jwtSecret), 200);
};

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) => {
	const { refresh_token } = c.req.valid("json");
	return c.json(await rotateRefreshToken(c.var.db, refresh_token, loadConfig(c.env).jwtSecret), 200);
};

export const logout: AppRouteHandler<typeof routes.logout> = async (c) => {
	await revokeRefreshToken(c.var.db, c.req.valid("json").refresh_token);
	return c.body(null, 204);
};
