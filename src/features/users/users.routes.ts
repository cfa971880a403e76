import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, signedIn } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	userErrors,
} from "../../lib/openapi.ts";
import { pageQuery, pageSchema } from "../../lib/pagination.ts";
import { searchText } from "../../lib/text.ts";
import { UserPatch, UserSchema } from "./users.schemas.ts";

export const me = createRoute({
	method: "get",
	path: "/users/me",
	tags: ["Users"],
	summary: "The signed-in user",
	...signedIn,
	responses: { 200: jsonResponse(UserSchema, "The caller's account"), ...errorResponses(userErrors) },
});

export const list = createRoute({
	method: "get",
	path: "/admin/users",
	tags: ["Admin"],
	summary: "List users (admin)",
	description: "Ordered by id. `q` matches part of the email, case-insensitively.",
	...adminOnly,
	request: {
		query: pageQuery.extend({
			q: searchText("q")
				.optional()
				.openapi({ param: { name: "q", in: "query" } }),
		}),
	},
	responses: {
		200: jsonResponse(pageSchema(UserSchema).openapi("UserPage"), "A page of users"),
		...errorResponses({ ...adminErrors, 422: true }),
	},
});

export const update = createRoute({
	method: "patch",
	path: "/admin/users/{id}",
	tags: ["Admin"],
	summary: "Activate, deactivate, promote or demote a user (admin)",
	description:
		"Deactivating a user revokes all of its refresh tokens; its access tokens stop working at once.",
	...adminOnly,
	request: { params: z.object({ id: idParam("id") }), body: jsonBody(UserPatch) },
	responses: {
		200: jsonResponse(UserSchema, "The updated user"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			404: "USER_NOT_FOUND",
			409: "ADMIN_SELF_MODIFICATION: an admin cannot deactivate or demote itself (checked first); ADMIN_LAST: the change would leave no active admin",
		}),
	},
});
