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
import {
	AccountExportSchema,
	DeleteAccountBody,
	PreferencesPatch,
	PreferencesSchema,
	UserPatch,
	UserSchema,
} from "./users.schemas.ts";

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

export const getPreferences = createRoute({
	method: "get",
	path: "/users/me/preferences",
	tags: ["Users"],
	summary: "The caller's email preferences",
	...signedIn,
	responses: { 200: jsonResponse(PreferencesSchema, "The preferences"), ...errorResponses(userErrors) },
});

export const setPreferences = createRoute({
	method: "patch",
	path: "/users/me/preferences",
	tags: ["Users"],
	summary: "Turn restock and hold emails on or off",
	description:
		"While off, the emails are recorded as `skipped` (GET /admin/restocks counts them), never sent.",
	...signedIn,
	request: { body: jsonBody(PreferencesPatch) },
	responses: {
		200: jsonResponse(PreferencesSchema, "The preferences"),
		...errorResponses({ ...userErrors, ...bodyErrors }),
	},
});

export const exportAccount = createRoute({
	method: "get",
	path: "/users/me/export",
	tags: ["Users"],
	summary: "Export everything the bookstore holds about the caller",
	description:
		"Account, preferences, pre-bookings, wishlist, cart, orders and the restock and hold emails sent (or skipped) — as JSON, nobody else's data.",
	...signedIn,
	responses: {
		200: jsonResponse(AccountExportSchema, "The caller's data"),
		...errorResponses(userErrors),
	},
});

export const deleteAccount = createRoute({
	method: "delete",
	path: "/users/me",
	tags: ["Users"],
	summary: "Erase the caller's account",
	description:
		"Confirmed with the password. In one transaction: the account is anonymised (no email or name remains) and deactivated, every token ends, the cart and wishlist go, and active pre-bookings are cancelled (held copies pass to the next in line). Orders stay for accounting, without personal data. Two D1 round trips: the password hash is read before anything changes.",
	...signedIn,
	request: { body: jsonBody(DeleteAccountBody) },
	responses: {
		204: { description: "Erased" },
		...errorResponses({
			...userErrors,
			...bodyErrors,
			401: "AUTH_INVALID_CREDENTIALS (field `password`), or AUTH_REQUIRED / AUTH_INVALID_TOKEN",
			409: "ADMIN_LAST: the last active admin cannot erase itself",
		}),
	},
});
