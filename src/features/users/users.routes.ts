import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, signedIn } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
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
	operationId: "getMe",
	method: "get",
	path: "/users/me",
	tags: ["Users"],
	summary: "The signed-in user",
	...signedIn,
	responses: { 200: jsonResponse(UserSchema, "The caller's account"), ...errorResponses(userErrors) },
});

export const list = createRoute({
	operationId: "adminListUsers",
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
		...errorResponses({ ...adminErrors, ...paramErrors }),
	},
});

export const update = createRoute({
	operationId: "adminUpdateUser",
	method: "patch",
	path: "/admin/users/{id}",
	tags: ["Admin"],
	summary: "Activate, deactivate, promote or demote a user (admin)",
	description:
		"Deactivating a user revokes all of its refresh tokens; its access tokens stop working at once. In the same batch the copies held for the user (offered pre-bookings, which a deactivated account cannot buy) go to the next in line (their `prebook.offered` reason is `cancel`); the user's pre-bookings wait again, place kept and no pass spent, passed over for held copies until a reactivation (a `notify_all` book still notifies them, rule 4). An erased account (`DELETE /users/me`) can never be changed again, so never made active or admin (409 USER_ERASED).",
	...adminOnly,
	request: { params: z.object({ id: idParam("id") }), body: jsonBody(UserPatch) },
	responses: {
		200: jsonResponse(UserSchema, "The updated user"),
		...errorResponses({
			...adminErrors,
			...bodyErrors,
			404: ["USER_NOT_FOUND"],
			409: {
				codes: ["ADMIN_SELF_MODIFICATION", "ADMIN_LAST", "USER_ERASED"],
				description:
					"An admin cannot deactivate or demote itself (checked first); ADMIN_LAST: the change would leave no active admin; USER_ERASED: the account was erased (field `id`)",
			},
		}),
	},
});

export const getPreferences = createRoute({
	operationId: "getPreferences",
	method: "get",
	path: "/users/me/preferences",
	tags: ["Users"],
	summary: "The caller's email preferences",
	...signedIn,
	responses: { 200: jsonResponse(PreferencesSchema, "The preferences"), ...errorResponses(userErrors) },
});

export const setPreferences = createRoute({
	operationId: "setPreferences",
	method: "patch",
	path: "/users/me/preferences",
	tags: ["Users"],
	summary: "Set email preferences: restock emails, language, time zone",
	description:
		"Restock emails off: the emails are recorded as `skipped` (GET /admin/restocks counts them), never sent, and the allocation engine passes the reader over (`on_hold_reason: emails_off`); back on, it serves the reader's lines in the same transaction. `time_zone` (IANA) decides the times in emails and the quiet hours: a hold never ends between 21:00 and 09:00 there.",
	...signedIn,
	request: { body: jsonBody(PreferencesPatch) },
	responses: {
		200: jsonResponse(PreferencesSchema, "The preferences"),
		...errorResponses({ ...userErrors, ...bodyErrors }),
	},
});

export const exportAccount = createRoute({
	operationId: "exportAccount",
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
	operationId: "deleteAccount",
	method: "delete",
	path: "/users/me",
	tags: ["Users"],
	summary: "Erase the caller's account",
	description:
		"Confirmed with the password. In one transaction: the account is anonymised (no email or name remains), deactivated and loses any admin role for good (it can never be made active or admin again), every token ends (its access tokens then answer 401 AUTH_INVALID_TOKEN), the cart and wishlist go, so do the email links and login records of its address and the networks it logged in from, and active pre-bookings are cancelled (held copies pass to the next in line). Orders stay for accounting, without personal data. Two D1 round trips: the password hash is read before anything changes. Wrong passwords count towards the login limits of the account's email, so a bearer token is no password-guessing oracle.",
	...signedIn,
	request: { body: jsonBody(DeleteAccountBody) },
	responses: {
		204: noContent("Erased"),
		...errorResponses({
			...userErrors,
			...bodyErrors,
			401: {
				codes: ["AUTH_INVALID_CREDENTIALS", "AUTH_REQUIRED", "AUTH_INVALID_TOKEN"],
				description: "Wrong password (field `password`), or a missing, invalid or expired bearer token",
			},
			409: { codes: ["ADMIN_LAST"], description: "The last active admin cannot erase itself" },
			429: {
				codes: ["RATE_LIMITED"],
				description:
					"Too many wrong passwords for this account (the login limits: 10 per network, 100 in all, per 15 minutes; `Retry-After`)",
			},
		}),
	},
});
