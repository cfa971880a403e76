import { createRoute, z } from "@hono/zod-openapi";
import { WEBHOOK_DELIVERY_STATUSES } from "../../db/schema.ts";
import { adminOnly } from "../../lib/auth.ts";
import {
	adminErrors,
	bodyErrors,
	errorResponses,
	idParam,
	jsonBody,
	jsonResponse,
	noContent,
	paramErrors,
} from "../../lib/openapi.ts";
import { limitParam, pageQuery, pageSchema } from "../../lib/pagination.ts";
import {
	afterSeqQuery,
	EventFeedSchema,
	EventTypesSchema,
	eventTypesQuery,
	feedCursorQuery,
	WebhookCreate,
	WebhookCreatedSchema,
	WebhookDeliverySchema,
	WebhookPatch,
	WebhookReplayBody,
	WebhookReplayQueuedSchema,
	WebhookSchema,
	WebhookSecretSchema,
} from "./webhooks.schemas.ts";

const tags = ["Webhooks"];
const webhookParams = z.object({ id: idParam("id") });
const notFound = { 404: ["WEBHOOK_NOT_FOUND"] } as const;
const urlRules =
	"422 VALIDATION_ERROR (field `url`) for a URL that is not `https` (plain `http` only to localhost, 127.0.0.1 or [::1] outside production), that carries credentials, or — with `ENVIRONMENT=production` — that names a private, loopback, link-local or local-only host; (field `events`) for an unknown event type.";

export const create = createRoute({
	operationId: "adminCreateWebhook",
	method: "post",
	path: "/admin/webhooks",
	tags,
	summary: "Register a webhook endpoint (admin)",
	description: `The answer carries the signing secret — the only time it is shown. The endpoint receives the listed events that happen from now on (see the document's \`webhooks\` section). ${urlRules}`,
	...adminOnly,
	request: { body: jsonBody(WebhookCreate) },
	responses: {
		201: jsonResponse(WebhookCreatedSchema, "The endpoint, with its secret (shown only here)"),
		...errorResponses({ ...adminErrors, ...bodyErrors }),
	},
});

export const list = createRoute({
	operationId: "adminListWebhooks",
	method: "get",
	path: "/admin/webhooks",
	tags,
	summary: "List webhook endpoints (admin)",
	description: "Ordered by id; secrets are never listed.",
	...adminOnly,
	request: { query: pageQuery },
	responses: {
		200: jsonResponse(pageSchema(WebhookSchema).openapi("WebhookPage"), "A page of endpoints"),
		...errorResponses({ ...adminErrors, ...paramErrors }),
	},
});

export const getOne = createRoute({
	operationId: "adminGetWebhook",
	method: "get",
	path: "/admin/webhooks/{id}",
	tags,
	summary: "A webhook endpoint (admin)",
	...adminOnly,
	request: { params: webhookParams },
	responses: {
		200: jsonResponse(WebhookSchema, "The endpoint (without its secret)"),
		...errorResponses({ ...adminErrors, ...notFound, ...paramErrors }),
	},
});

export const patch = createRoute({
	operationId: "adminUpdateWebhook",
	method: "patch",
	path: "/admin/webhooks/{id}",
	tags,
	summary: "Change a webhook endpoint (admin)",
	description: `Disabling stops new deliveries at once; deliveries already queued are recorded \`dead\` (retry them after enabling). ${urlRules}`,
	...adminOnly,
	request: { params: webhookParams, body: jsonBody(WebhookPatch) },
	responses: {
		200: jsonResponse(WebhookSchema, "The endpoint"),
		...errorResponses({ ...adminErrors, ...bodyErrors, ...notFound }),
	},
});

export const remove = createRoute({
	operationId: "adminDeleteWebhook",
	method: "delete",
	path: "/admin/webhooks/{id}",
	tags,
	summary: "Delete a webhook endpoint (admin)",
	description: "Its secrets and delivery history go with it; nothing more is sent to it.",
	...adminOnly,
	request: { params: webhookParams },
	responses: {
		204: noContent("Deleted"),
		...errorResponses({ ...adminErrors, ...notFound, ...paramErrors }),
	},
});

export const rotateSecret = createRoute({
	operationId: "adminRotateWebhookSecret",
	method: "post",
	path: "/admin/webhooks/{id}/rotate-secret",
	tags,
	summary: "Rotate a webhook endpoint's signing secret (admin)",
	description:
		"Returns the new secret (shown only here). For 24 h every delivery is signed with both the old and the new secret (two `v1,` signatures), so the receiver can switch over without missing one; then only the new one signs.",
	...adminOnly,
	request: { params: webhookParams },
	responses: {
		200: jsonResponse(WebhookSecretSchema, "The new secret"),
		...errorResponses({ ...adminErrors, ...notFound, ...paramErrors }),
	},
});

export const listDeliveries = createRoute({
	operationId: "adminListWebhookDeliveries",
	method: "get",
	path: "/admin/webhooks/{id}/deliveries",
	tags,
	summary: "A webhook endpoint's deliveries, newest first (admin)",
	description: "One per event sent to the endpoint, whatever the retries.",
	...adminOnly,
	request: {
		params: webhookParams,
		query: pageQuery.extend({
			status: z
				.enum(WEBHOOK_DELIVERY_STATUSES, { message: "status must be pending, succeeded, failed or dead" })
				.optional()
				.openapi({ param: { name: "status", in: "query" } }),
		}),
	},
	responses: {
		200: jsonResponse(
			pageSchema(WebhookDeliverySchema).openapi("WebhookDeliveryPage"),
			"A page of deliveries",
		),
		...errorResponses({ ...adminErrors, ...notFound, ...paramErrors }),
	},
});

export const retryDelivery = createRoute({
	operationId: "adminRetryWebhookDelivery",
	method: "post",
	path: "/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
	tags,
	summary: "Retry a failed or dead delivery (admin)",
	description:
		"The delivery becomes `pending` with a fresh set of attempts and goes back on the queue (a `pending` one is queued again). The receiver sees the same `webhook-id` as before.",
	...adminOnly,
	request: { params: webhookParams.extend({ delivery_id: idParam("delivery_id") }) },
	responses: {
		202: jsonResponse(WebhookDeliverySchema, "The delivery, queued"),
		...errorResponses({
			...adminErrors,
			404: ["WEBHOOK_NOT_FOUND", "WEBHOOK_DELIVERY_NOT_FOUND"],
			409: { codes: ["WEBHOOK_DELIVERY_SUCCEEDED"], description: "It was delivered already" },
			...paramErrors,
		}),
	},
});

export const listEvents = createRoute({
	operationId: "adminListEvents",
	method: "get",
	path: "/admin/events",
	tags,
	summary: "The event feed: every webhook event, in seq order (admin)",
	description:
		"The same events as the webhooks, whether or not an endpoint subscribes, for integrators who poll or reconcile after a missed delivery. Kept 30 days. `cursor` (the previous page's `next_cursor`) is the same as `after`. 422 VALIDATION_ERROR for an unknown type or group in `types`, an `after`, `cursor` or `limit` that is not a number in range, or `after` and `cursor` both given with different values.",
	...adminOnly,
	request: {
		query: z.object({
			after: afterSeqQuery,
			cursor: feedCursorQuery,
			types: eventTypesQuery,
			limit: limitParam,
		}),
	},
	responses: {
		200: jsonResponse(EventFeedSchema, "A page of events, oldest first"),
		...errorResponses({ ...adminErrors, ...paramErrors }),
	},
});

export const eventTypes = createRoute({
	operationId: "adminListWebhookEventTypes",
	method: "get",
	path: "/admin/webhooks/event-types",
	tags,
	summary: "The event types, each with the JSON Schema of its data (admin)",
	description:
		"Generated from the same schemas as this document's `webhooks` section: validate a delivery's `data`, or a feed item's, against its type's schema.",
	...adminOnly,
	responses: {
		200: jsonResponse(EventTypesSchema, "Every event type"),
		...errorResponses(adminErrors),
	},
});

export const replay = createRoute({
	operationId: "adminReplayWebhookEvents",
	method: "post",
	path: "/admin/webhooks/{id}/replay",
	tags,
	summary: "Deliver a window of events again to an endpoint (admin)",
	description:
		"Every stored event of `types` in [`since`, `until`) — at most 7 days, within the 30-day retention — is delivered again to this endpoint with its original `webhook-id`, through the delivery queue. Bounded: the cron queues the replay 100 events a minute, and only while the endpoint has fewer than 100 deliveries waiting; at most 5 are in flight at once, as for every delivery. A disabled endpoint's replay waits until it is enabled. 422 VALIDATION_ERROR for a window out of these bounds or an unknown type.",
	...adminOnly,
	request: { params: webhookParams, body: jsonBody(WebhookReplayBody) },
	responses: {
		202: jsonResponse(WebhookReplayQueuedSchema, "The replay, accepted"),
		...errorResponses({ ...adminErrors, ...bodyErrors, ...notFound }),
	},
});
