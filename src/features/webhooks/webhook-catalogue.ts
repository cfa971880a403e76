/**
 * The webhook event catalogue: every event type, the schema of its `data` and the envelope and headers it is
 * POSTed with — what the OpenAPI document's `webhooks` section (`registerWebhookDocs`), the endpoints'
 * subscriptions and `GET /admin/webhooks/event-types` read. The statements that record events are the
 * outbox (webhook-events.ts).
 *
 * Adding an event type: one entry in `WEBHOOK_EVENTS` here, and its statement in the batch that causes it
 * (webhook-events.ts).
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ALLOCATION_REASONS } from "../../db/schema.ts";
import type { AppEnv } from "../../lib/app-env.ts";
import { timestamp } from "../../lib/openapi.ts";
import { MAX_USER_IDS_PER_MESSAGE } from "../../prebook-emails/messages.ts";

/** Users per pre-booking event: the queue messages' split. */
export const MAX_USERS_PER_EVENT = MAX_USER_IDS_PER_MESSAGE;

const id = (description: string) => z.number().int().openapi({ description, example: 7 });
const userIds = z.array(z.number().int()).openapi({
	description: `The readers concerned, at most ${MAX_USERS_PER_EVENT} per event`,
	example: [3, 9],
});
const prebookIds = z.array(z.number().int()).openapi({
	description: "Their pre-bookings, in the same order as `user_ids` (`prebook_ids[i]` is `user_ids[i]`'s)",
	example: [41, 42],
});

const PrebookNotifiedData = z
	.object({
		book_id: id("The book"),
		restock_id: id(
			"The restock record they were notified under (a restock, or a notice the engine recorded when copies came back another way; a waves book's waves share their restock's)",
		),
		notified_at: timestamp,
		user_ids: userIds,
		prebook_ids: prebookIds,
	})
	.openapi("WebhookPrebookNotified");

const PrebookOfferedData = z
	.object({
		book_id: id("The book"),
		offer_round_id: id("The offer round (every reader offered a copy of the book in one batch)"),
		reason: z.enum(ALLOCATION_REASONS).openapi({
			description:
				"What made the copies go to these readers: a restock, an expired hold, a cancel (also a holder erased or deactivated, whose copy goes on), a pass, a policy switch, readers eligible again (`eligible`: resumed, emails back on, reactivated), a waves book's next wave (`wave`), or a lottery draw's winners (`draw`)",
		}),
		offered_at: timestamp,
		hold_expires_at: timestamp.openapi({
			description:
				"When these readers' holds end: the round's end, or 09:00 in a reader's time zone when it fell in their quiet hours (rule 13) — readers of one round whose holds end at different times are in separate events",
		}),
		user_ids: userIds,
		prebook_ids: prebookIds,
	})
	.openapi("WebhookPrebookOffered");

const PrebookExpiredData = z
	.object({
		book_id: id("The book"),
		expired_at: timestamp,
		user_ids: userIds,
		prebook_ids: prebookIds,
	})
	.openapi("WebhookPrebookExpired");

const PrebookFulfilledData = z
	.object({
		prebook_id: id("The pre-booking"),
		book_id: id("The book"),
		user_id: id("The buyer"),
		order_id: id("The confirmed order"),
		fulfilled_at: timestamp,
		restock_id: z
			.number()
			.int()
			.nullable()
			.openapi({ description: "The restock record it was notified under (notify_all, waves), else null" }),
		offer_round_id: z
			.number()
			.int()
			.nullable()
			.openapi({ description: "The offer round that held the copy (hold_queue, lottery), else null" }),
	})
	.openapi("WebhookPrebookFulfilled");

const PrebookPassedData = z
	.object({
		prebook_id: id("The pre-booking"),
		book_id: id("The book whose held copy was passed on"),
		user_id: id("The reader who passed"),
		passed_at: timestamp,
		passes_left: z.number().int().openapi({ description: "Passes the pre-booking has left" }),
		paused_until: timestamp.openapi({ description: "The reader keeps their place, paused until then" }),
	})
	.openapi("WebhookPrebookPassed");

const DrawClosedData = z
	.object({
		draw_id: id("The draw"),
		book_id: id("The lottery book"),
		seed_commitment: z
			.string()
			.openapi({ description: "Hex SHA-256 of the seed, public since the draw opened" }),
		seed: z.string().openapi({ description: "The seed, 64 hex characters, published now" }),
		copies: z.number().int().openapi({ description: "Copies the draw gave out" }),
		entries: z.number().int().openapi({ description: "Pre-bookings in the draw" }),
		closed_at: timestamp,
	})
	.openapi("WebhookDrawClosed");

const RestockCreatedData = z
	.object({
		restock_id: id("The restock"),
		book_id: id("The book"),
		quantity_before: z.number().int(),
		quantity_after: z.number().int(),
		notified_count: z.number().int().openapi({
			description:
				"Waiting readers this restock notified in its own batch: a notify_all book's line, a waves book's first wave; 0 when the copies were offered instead (hold_queue, lottery)",
		}),
		created_at: timestamp,
	})
	.openapi("WebhookRestockCreated");

const DemandThresholdCrossedData = z
	.object({
		book_id: id("The book"),
		waiting_count: z.number().int().openapi({
			description:
				"The book's line when it happened (= threshold): its waiting pre-bookings plus the waiting work pre-bookings that accept it, as the demand report's `waiting_count`",
			example: 50,
		}),
		threshold: z
			.number()
			.int()
			.openapi({ description: "The book's `demand_alert_threshold` then", example: 50 }),
	})
	.openapi("WebhookDemandThresholdCrossed");

const event = (summary: string, data: z.ZodType) => ({ summary, data });

/** Every event type, its summary and the schema of its `data`. */
const WEBHOOK_EVENTS = {
	"prebook.notified": event(
		"Waiting readers were told the book is back (notify_all: the whole line; waves: one wave)",
		PrebookNotifiedData,
	),
	"prebook.offered": event(
		"Readers were each offered a held copy (hold_queue: the first in line; lottery: a draw's winners or runners-up)",
		PrebookOfferedData,
	),
	"prebook.expired": event("Held copies were not bought in time; the holds expired", PrebookExpiredData),
	"prebook.fulfilled": event("A notified or offered reader bought the book", PrebookFulfilledData),
	"prebook.passed": event(
		"A reader passed on the copy held for them: it went to the next in line, they keep their place",
		PrebookPassedData,
	),
	"restock.created": event("A book's stock rose", RestockCreatedData),
	"draw.closed": event(
		"A lottery draw closed: its winners were offered a copy and its seed is published (check it: GET /books/{id}/draws)",
		DrawClosedData,
	),
	"demand.threshold_crossed": event(
		"A book's waiting count reached its demand_alert_threshold (once per crossing; again only after it fell below)",
		DemandThresholdCrossedData,
	),
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as [WebhookEventType, ...WebhookEventType[]];

/** `webhook-id`: the event's, so every endpoint and every retry of one event carry the same id. */
export const webhookId = (eventId: number) => `evt_${eventId}`;

/** The body POSTed for an event: the Standard Webhooks shape `{type, timestamp, data}`. */
const eventEnvelope = <T extends z.ZodType>(type: string, data: T) =>
	z.object({
		type: z.literal(type),
		timestamp: timestamp.openapi({ description: "When the event happened (RFC 3339 UTC)" }),
		data,
	});

const deliveryHeaders = z.object({
	"webhook-id": z.string().openapi({
		description: "The event's id (`evt_<n>`), the same on every retry: use it to ignore duplicates",
		example: "evt_1234",
	}),
	"webhook-timestamp": z.string().openapi({
		description: "Unix seconds of this attempt; refuse old ones (5 minutes)",
		example: "1795322684",
	}),
	"webhook-signature": z.string().openapi({
		description:
			'`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part of the secret after `whsec_`; one per active secret, space-separated (two during the 24 h after a rotation)',
		example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
	}),
});

/** The OpenAPI document's `webhooks` section: one entry per event type. */
export function registerWebhookDocs(app: OpenAPIHono<AppEnv>): void {
	for (const [type, { summary, data }] of Object.entries(WEBHOOK_EVENTS)) {
		app.openAPIRegistry.registerWebhook({
			operationId: `${type.replace(/\.(\w)/g, (_, letter: string) => letter.toUpperCase())}Event`,
			method: "post",
			path: type,
			// Receivers authenticate the sender by the signature headers, not by a bearer token.
			security: [],
			summary,
			description:
				"Signed per the Standard Webhooks specification (see the headers). Any 2xx within 10 s acknowledges; anything else (redirects included: they are not followed) is retried with exponential backoff, then the delivery is marked `dead` (an admin can retry it). Deliveries are at least once: deduplicate on `webhook-id`.",
			tags: ["Webhooks"],
			request: {
				headers: deliveryHeaders,
				body: {
					required: true,
					content: { "application/json": { schema: eventEnvelope(type, data) } },
				},
			},
			responses: {
				200: { description: "Any 2xx status acknowledges the event" },
				"4XX": {
					description: "Not acknowledged (as is any non-2xx, a redirect or no answer): retried with backoff",
				},
				"5XX": {
					description: "Not acknowledged: retried with backoff, then the delivery is recorded `dead`",
				},
			},
		});
	}
}

type JsonSchema = Record<string, unknown>;

/** Inlines `#/components/schemas/…` references, so each schema stands alone. */
function inlineRefs(node: unknown, components: Record<string, unknown>): unknown {
	if (Array.isArray(node)) return node.map((item) => inlineRefs(item, components));
	if (node === null || typeof node !== "object") return node;
	const ref = (node as { $ref?: unknown }).$ref;
	if (typeof ref === "string" && ref.startsWith("#/components/schemas/")) {
		return inlineRefs(components[ref.slice("#/components/schemas/".length)], components);
	}
	return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inlineRefs(value, components)]));
}

let catalogue: { type: WebhookEventType; description: string; schema: JsonSchema }[] | undefined;

/**
 * `GET /admin/webhooks/event-types`: each type, its summary and the JSON Schema of its `data` — taken from
 * the OpenAPI document's `webhooks` section as `registerWebhookDocs` builds it from `WEBHOOK_EVENTS`, so the
 * two can never disagree (`z.toJSONSchema` would not see the `.openapi()` descriptions, formats and examples
 * the document carries). OpenAPI 3.1 schemas are JSON Schema 2020-12. Built once per isolate.
 */
export function eventTypeCatalogue() {
	if (!catalogue) {
		const app = new OpenAPIHono();
		registerWebhookDocs(app as unknown as OpenAPIHono<AppEnv>);
		const document = app.getOpenAPI31Document({
			openapi: "3.1.0",
			info: { title: "webhooks", version: "1" },
		});
		const components = (document.components?.schemas ?? {}) as Record<string, unknown>;
		catalogue = WEBHOOK_EVENT_TYPES.map((type) => {
			const body = document.webhooks?.[type]?.post?.requestBody;
			const envelope = (body && "content" in body ? body.content["application/json"]?.schema : undefined) as
				| { properties?: { data?: unknown } }
				| undefined;
			const schema = inlineRefs(envelope?.properties?.data, components) as JsonSchema | undefined;
			if (!schema) throw new Error(`no schema for the webhook event ${type}`);
			return { type, description: WEBHOOK_EVENTS[type].summary, schema };
		});
	}
	return catalogue;
}
