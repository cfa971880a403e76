import type { AppRouteHandler } from "../../lib/app-env.ts";
import { decodeCursor, idCursor, toPage } from "../../lib/pagination.ts";
import { requestNetwork } from "../../lib/rate-limit.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import type * as routes from "./users.routes.ts";
import { toAccountExport, toPreferencesResponse, toUserResponse } from "./users.schemas.ts";
import {
	eraseAccount,
	exportAccount as exportAccountData,
	getUser,
	listUsers,
	getPreferences as readPreferences,
	updateUser,
	setPreferences as writePreferences,
} from "./users.service.ts";

export const me: AppRouteHandler<typeof routes.me> = async (c) =>
	c.json(toUserResponse(await getUser(c.var.db, c.var.caller.id)), 200);

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { q, limit, cursor } = c.req.valid("query");
	const rows = await listUsers(c.var.db, { q, afterId: decodeCursor(cursor, idCursor)?.id, limit });
	return c.json(
		toPage(rows, limit, toUserResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
	const body = c.req.valid("json");
	const { user, outcome } = await updateUser(c.var.db, c.var.caller.id, c.req.valid("param").id, {
		isActive: body.is_active,
		role: body.role,
	});
	await publishAfterCommit(c, outcome);
	return c.json(toUserResponse(user), 200);
};

export const getPreferences: AppRouteHandler<typeof routes.getPreferences> = async (c) => {
	return c.json(toPreferencesResponse(await readPreferences(c.var.db, c.var.caller.id)), 200);
};

export const setPreferences: AppRouteHandler<typeof routes.setPreferences> = async (c) => {
	const body = c.req.valid("json");
	const { preferences, outcome } = await writePreferences(c.var.db, c.var.caller.id, {
		restockEmails: body.restock_emails,
		locale: body.locale,
		timeZone: body.time_zone,
	});
	await publishAfterCommit(c, outcome);
	return c.json(toPreferencesResponse(preferences), 200);
};

export const exportAccount: AppRouteHandler<typeof routes.exportAccount> = async (c) =>
	c.json(toAccountExport(await exportAccountData(c.var.db, c.var.caller.id), new Date()), 200);

export const deleteAccount: AppRouteHandler<typeof routes.deleteAccount> = async (c) => {
	const outcome = await eraseAccount(c.var.db, {
		userId: c.var.caller.id,
		password: c.req.valid("json").password,
		network: requestNetwork(c),
	});
	await publishAfterCommit(c, outcome);
	return c.body(null, 204);
};
