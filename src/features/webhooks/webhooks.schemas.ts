import { z } from "@hono/zod-openapi";
import { WEBHOOK_DELIVERY_STATUSES, type WebhookDeliveryStatus } from "../../db/schema.ts";
import { timestamp } from "../../lib/openapi.ts";
import { multiLineText } from "../../lib/text.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, webhookId } from "./webhook-catalogue.ts";

const MAX_WEBHOOK_URL_LENGTH = 2048;

const eventTypeList = WEBHOOK_EVENT_TYPES.join(", ");

const webhookFields = {
	url: z
		.string({ message: "url must be a string" })
		.trim()
		.min(1, "url must be an absolute https URL")
		.max(MAX_WEBHOOK_URL_LENGTH, `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`)
		.openapi({
			format: "uri",
			example: "https://integrator.example/webhooks/bookstore",
			description:
				"Where events are POSTed: `https` (plain `http` only to localhost, 127.0.0.1 or [::1] outside production; in production never a private, loopback, link-local or local-only host)",
		}),
	events: z
		.array(z.enum(WEBHOOK_EVENT_TYPES, { message: `events must be event types: ${eventTypeList}` }), {
			message: "events must be a list of event types",
		})
		.min(1, "events must list at least one event type")
		.max(WEBHOOK_EVENT_TYPES.length * 2, `events must list each of ${eventTypeList} at most once`)
		// Stored once each, in catalogue order.
		.transform((events) => WEBHOOK_EVENT_TYPES.filter((type) => events.includes(type)))
		.openapi({ description: `The event types to receive (${eventTypeList})`, example: ["prebook.notified"] }),
	description: multiLineText("description", { max: 500 }).nullish(),
};

export const WebhookCreate = z
	.object({ url: webhookFields.url, events: webhookFields.events, description: webhookFields.description })
	.openapi("WebhookCreate");

export const WebhookPatch = z
	.object({
		url: webhookFields.url.optional(),
		events: webhookFields.events.optional(),
		description: webhookFields.description,
		enabled: z.boolean({ message: "enabled must be true or false" }).optional().openapi({
			description: "A disabled endpoint gets no new deliveries; its queued ones are recorded `dead`",
		}),
	})
	.openapi("WebhookPatch", { description: "Any of the fields; null clears `description`." });

export interface WebhookEndpointView {
	id: number;
	url: string;
	events: WebhookEventType[];
	description: string | null;
	enabled: boolean;
	createdAt: string;
	updatedAt: string;
}

export const WebhookSchema = z
	.object({
		id: z.number().int(),
		url: z.string(),
		events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
		description: z.string().nullable(),
		enabled: z.boolean(),
		created_at: timestamp,
		updated_at: timestamp,
	})
	.openapi("Webhook");

const secret = z.string().openapi({
	description:
		"The signing secret (`whsec_` + base64 of 32 bytes). Shown only now: store it; the HMAC key is the base64-decoded part after `whsec_`.",
	example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6Gm0p5U3iEw=",
});

export const WebhookCreatedSchema = WebhookSchema.extend({ secret }).openapi("WebhookCreated");

export const WebhookSecretSchema = z
	.object({
		secret,
		previous_secret_expires_at: timestamp.nullable().openapi({
			description: "Until when the previous secret keeps signing alongside the new one (24 h)",
		}),
	})
	.openapi("WebhookSecret");

export const toWebhookResponse = (row: WebhookEndpointView): z.infer<typeof WebhookSchema> => ({
	id: row.id,
	url: row.url,
	events: row.events,
	description: row.description,
	enabled: row.enabled,
	created_at: row.createdAt,
	updated_at: row.updatedAt,
});

export interface WebhookDeliveryView {
	id: number;
	eventId: number;
	eventType: string;
	status: WebhookDeliveryStatus;
	attempts: number;
	lastStatusCode: number | null;
	lastError: string | null;
	createdAt: string;
	updatedAt: string;
	deliveredAt: string | null;
}

export const WebhookDeliverySchema = z
	.object({
		id: z.number().int(),
		event_id: z.string().openapi({ description: "The event's `webhook-id` header", example: "evt_1234" }),
		event_type: z.string().openapi({ example: "prebook.notified" }),
		status: z.enum(WEBHOOK_DELIVERY_STATUSES).openapi({
			description:
				"`pending` (not attempted yet, or in flight), `succeeded` (a 2xx), `failed` (retried with backoff), `dead` (retries exhausted, or the endpoint was disabled: POST …/retry revives it)",
		}),
		attempts: z.number().int().openapi({ description: "POSTs made (since the last manual retry)" }),
		last_status_code: z.number().int().nullable().openapi({ description: "The last answer's HTTP status" }),
		last_error: z.string().nullable().openapi({
			description:
				"Why the last attempt failed: `HTTP 500: <start of the body>`, `timeout…`, `redirect (302)…`",
		}),
		created_at: timestamp,
		updated_at: timestamp,
		delivered_at: timestamp.nullable(),
	})
	.openapi("WebhookDelivery");

export const toWebhookDeliveryResponse = (
	row: WebhookDeliveryView,
): z.infer<typeof WebhookDeliverySchema> => ({
	id: row.id,
	event_id: webhookId(row.eventId),
	event_type: row.eventType,
	status: row.status,
	attempts: row.attempts,
	last_status_code: row.lastStatusCode,
	last_error: row.lastError,
	created_at: row.createdAt,
	updated_at: row.updatedAt,
	delivered_at: row.deliveredAt,
});

/**
 * Event types by name or by group (`prebook.*`: every type of the catalogue starting `prebook.`), expanded
 * to the catalogue's types, in catalogue order. Anything that names no type is refused, naming it.
 */
function expandEventTypes(patterns: readonly string[]): {
	types: WebhookEventType[];
	unknown: string[];
} {
	const unknown: string[] = [];
	const wanted = new Set<WebhookEventType>();
	for (const pattern of patterns) {
		const matches = pattern.endsWith(".*")
			? WEBHOOK_EVENT_TYPES.filter((type) => type.startsWith(pattern.slice(0, -1)))
			: WEBHOOK_EVENT_TYPES.filter((type) => type === pattern);
		if (matches.length === 0) unknown.push(pattern);
		for (const type of matches) wanted.add(type);
	}
	return { types: WEBHOOK_EVENT_TYPES.filter((type) => wanted.has(type)), unknown };
}

const typePatternsMessage = (unknown: string[]) =>
	`types must be event types (${eventTypeList}) or groups such as prebook.*; unknown: ${unknown.join(", ")}`;

/** `types=prebook.*,restock.created` (query): the catalogue types it names. */
export const eventTypesQuery = z
	.string()
	.max(1_000, "types must be at most 1000 characters")
	.transform((value, ctx) => {
		const { types, unknown } = expandEventTypes(value.split(",").map((part) => part.trim()));
		if (unknown.length > 0) ctx.addIssue({ code: "custom", message: typePatternsMessage(unknown) });
		return types;
	})
	.optional()
	.openapi({
		param: { name: "types", in: "query" },
		type: "string",
		description: `Comma-separated event types or groups (\`prebook.*\`); every type when absent. Types: ${eventTypeList}`,
		example: "prebook.*,restock.created",
	});

/** A `seq` in a query: a non-negative integer in plain digits. */
const seqQuery = (name: string, description: string) =>
	z
		.string()
		.regex(/^(0|[1-9]\d{0,14})$/, `${name} must be a seq: a non-negative integer`)
		.transform(Number)
		.optional()
		.openapi({ param: { name, in: "query" }, type: "integer", description, example: 1200 });

/** `after=<seq>`: where the feed resumes. */
export const afterSeqQuery = seqQuery(
	"after",
	"Only events after this `seq` (the last one you processed, or the previous page's `next_cursor`)",
);

/**
 * `cursor=<next_cursor>`: the same as `after`, under the name every other list takes (API.md: "pass
 * `cursor=<next_cursor>` for the next page"), so a generic pager pages the feed too.
 */
export const feedCursorQuery = seqQuery(
	"cursor",
	"The previous page's `next_cursor`: the same as `after` (give one of them, or both equal)",
);

export interface WebhookEventView {
	id: number;
	type: string;
	payload: string;
	createdAt: string;
}

export const EventFeedItemSchema = z
	.object({
		seq: z.number().int().openapi({
			description: "The event's position in the feed: increases with every event recorded, never reused",
			example: 1234,
		}),
		id: z.string().openapi({ description: "The event's `webhook-id` (`evt_<seq>`)", example: "evt_1234" }),
		type: z.enum(WEBHOOK_EVENT_TYPES),
		occurred_at: timestamp.openapi({ description: "When the event happened (the webhooks' `timestamp`)" }),
		data: z.record(z.string(), z.unknown()).openapi({
			description:
				"The event's `data`, as delivered: its schema per type is in GET /admin/webhooks/event-types",
		}),
	})
	.openapi("EventFeedItem");

export const EventFeedSchema = z
	.object({
		items: z.array(EventFeedItemSchema),
		next_cursor: z.string().nullable().openapi({
			description:
				"Pass it as `after` (or `cursor`) for the next page; null when this page reached the newest event",
			example: "1284",
		}),
	})
	.openapi("EventFeed");

export const toEventFeedItem = (row: WebhookEventView): z.infer<typeof EventFeedItemSchema> => ({
	seq: row.id,
	id: webhookId(row.id),
	type: row.type as WebhookEventType,
	occurred_at: row.createdAt,
	data: JSON.parse(row.payload) as Record<string, unknown>,
});

export const EventTypesSchema = z
	.object({
		items: z.array(
			z.object({
				type: z.enum(WEBHOOK_EVENT_TYPES),
				description: z.string(),
				schema: z.record(z.string(), z.unknown()).openapi({
					description:
						"The JSON Schema (2020-12) of the event's `data`: the same as in this document's `webhooks` section",
				}),
			}),
		),
	})
	.openapi("WebhookEventTypes");

const replayInstant = (name: string, description: string) =>
	z.iso
		.datetime({ offset: true, error: `${name} must be an RFC 3339 date-time, e.g. 2027-01-31T09:00:00Z` })
		.openapi({ description, example: "2026-11-21T00:00:00Z" });

export const WebhookReplayBody = z
	.object({
		since: replayInstant("since", "Start of the window (inclusive), within the last 30 days"),
		until: replayInstant("until", "End of the window (exclusive), at most 7 days after `since`"),
		types: z
			.array(z.string({ message: "types must be a list of event types" }), {
				message: "types must be a list of event types",
			})
			.min(1, "types must list at least one event type")
			.max(WEBHOOK_EVENT_TYPES.length * 2, "types must list each event type at most once")
			.transform((patterns, ctx) => {
				const { types, unknown } = expandEventTypes(patterns);
				if (unknown.length > 0) ctx.addIssue({ code: "custom", message: typePatternsMessage(unknown) });
				return types;
			})
			.optional()
			.openapi({
				description: "Event types or groups (`prebook.*`); the endpoint's subscribed events when absent",
				example: ["prebook.*"],
			}),
	})
	.openapi("WebhookReplay");

export const WebhookReplayQueuedSchema = z
	.object({
		queued: z.number().int().openapi({
			description:
				"Events in the window that will be delivered again (queued a page at a time: see the description)",
			example: 240,
		}),
	})
	.openapi("WebhookReplayQueued");
