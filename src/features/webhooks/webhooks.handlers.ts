import type { AppRouteHandler } from "../../lib/app-env.ts";
import { requestEffects } from "../../lib/effects.ts";
import { fieldError } from "../../lib/errors.ts";
import { decodeCursor, idCursor, newestFirstCursor, toPage } from "../../lib/pagination.ts";
import { eventTypeCatalogue } from "./webhook-catalogue.ts";
import type * as routes from "./webhooks.routes.ts";
import { toEventFeedItem, toWebhookDeliveryResponse, toWebhookResponse } from "./webhooks.schemas.ts";
import {
	acceptedWebhookUrl,
	createWebhook,
	deleteWebhook,
	getWebhook,
	listEventFeed,
	listDeliveries as listWebhookDeliveries,
	listWebhooks,
	replayEvents,
	retryDelivery as retryWebhookDelivery,
	rotateSecret as rotateWebhookSecret,
	updateWebhook,
} from "./webhooks.service.ts";

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const body = c.req.valid("json");
	const { webhook, secret } = await createWebhook(c.var.db, {
		url: acceptedWebhookUrl(body.url, c.var.config.production),
		events: body.events,
		description: body.description,
	});
	return c.json({ ...toWebhookResponse(webhook), secret }, 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { limit, cursor } = c.req.valid("query");
	const rows = await listWebhooks(c.var.db, { afterId: decodeCursor(cursor, idCursor)?.id, limit });
	return c.json(
		toPage(rows, limit, toWebhookResponse, (row) => ({ id: row.id })),
		200,
	);
};

export const getOne: AppRouteHandler<typeof routes.getOne> = async (c) =>
	c.json(toWebhookResponse(await getWebhook(c.var.db, c.req.valid("param").id)), 200);

export const patch: AppRouteHandler<typeof routes.patch> = async (c) => {
	const body = c.req.valid("json");
	const webhook = await updateWebhook(c.var.db, c.req.valid("param").id, {
		url: body.url === undefined ? undefined : acceptedWebhookUrl(body.url, c.var.config.production),
		events: body.events,
		description: body.description,
		enabled: body.enabled,
	});
	return c.json(toWebhookResponse(webhook), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
	await deleteWebhook(c.var.db, c.req.valid("param").id);
	return c.body(null, 204);
};

export const rotateSecret: AppRouteHandler<typeof routes.rotateSecret> = async (c) => {
	const { secret, previousSecretExpiresAt } = await rotateWebhookSecret(c.var.db, c.req.valid("param").id);
	return c.json({ secret, previous_secret_expires_at: previousSecretExpiresAt }, 200);
};

export const listDeliveries: AppRouteHandler<typeof routes.listDeliveries> = async (c) => {
	const { status, limit, cursor } = c.req.valid("query");
	const rows = await listWebhookDeliveries(c.var.db, c.req.valid("param").id, {
		status,
		after: decodeCursor(cursor, newestFirstCursor),
		limit,
	});
	return c.json(
		toPage(rows, limit, toWebhookDeliveryResponse, (row) => ({ at: row.createdAt, id: row.id })),
		200,
	);
};

export const retryDelivery: AppRouteHandler<typeof routes.retryDelivery> = async (c) => {
	const { id, delivery_id } = c.req.valid("param");
	const delivery = await retryWebhookDelivery(c.var.db, requestEffects(c), id, delivery_id);
	return c.json(toWebhookDeliveryResponse(delivery), 202);
};

export const listEvents: AppRouteHandler<typeof routes.listEvents> = async (c) => {
	const { after, cursor, types, limit } = c.req.valid("query");
	if (after !== undefined && cursor !== undefined && after !== cursor) {
		throw fieldError("cursor", "Give after or cursor (the same seq), not two different ones");
	}
	const rows = await listEventFeed(c.var.db, { after: after ?? cursor ?? 0, types, limit }, new Date());
	const page = rows.slice(0, limit);
	const last = page.at(-1);
	return c.json(
		{
			items: page.map(toEventFeedItem),
			next_cursor: rows.length > limit && last ? String(last.id) : null,
		},
		200,
	);
};

export const eventTypes: AppRouteHandler<typeof routes.eventTypes> = async (c) =>
	c.json({ items: eventTypeCatalogue() }, 200);

export const replay: AppRouteHandler<typeof routes.replay> = async (c) => {
	const { since, until, types } = c.req.valid("json");
	return c.json(await replayEvents(c.var.db, c.req.valid("param").id, { since, until, types }), 202);
};
