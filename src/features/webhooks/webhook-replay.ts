/**
 * Replays (`POST /admin/webhooks/{id}/replay`): the stored events of some types in a window, delivered again
 * to one endpoint with their original `webhook-id`, through the delivery queue and its consumer.
 *
 * The request only records the replay (one round trip: the window's first and last event ids, and how many
 * events it holds). The cron delivers it **a page at a time**: each run, the oldest unfinished replay of
 * each enabled endpoint gets its next `REPLAY_PAGE` events — a delivery each (a new one, or the endpoint's
 * existing delivery of that event made `pending` again with a fresh budget of attempts), one queue message
 * each — but only while the endpoint has fewer than `REPLAY_PAGE` deliveries waiting (`pending` or `failed`,
 * this page's own excepted). So a replay of 7 days puts at most about 2 × `REPLAY_PAGE` messages of one
 * endpoint on the queue, never the whole window, and goes no faster than the endpoint takes them; the
 * consumer's cap of `MAX_IN_FLIGHT_PER_ENDPOINT` POSTs at once holds as for any delivery. A slow or failing
 * endpoint stalls its replay, nothing else; a disabled one pauses it.
 *
 * The cursor moves only after the page's messages are on the queue: a run that fails to send leaves the page
 * for the next run (the gate excepts this page's deliveries, so it is not blocked by them).
 */
import { sql } from "drizzle-orm";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { fieldError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import type { WebhookEventType } from "./webhook-catalogue.ts";
import { enqueueDeliveries, WEBHOOK_RETENTION_MS } from "./webhook-publication.ts";

/** Events queued per replay and cron run, and the endpoint's backlog under which the next page goes. */
export const REPLAY_PAGE = 100;
/** The widest window a replay may ask for. */
const MAX_REPLAY_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** Replays advanced per cron run (one per endpoint). */
const REPLAYS_PER_RUN = 20;

/**
 * Records a replay for the endpoint; the number of events it will deliver again. Null types: the endpoint's
 * subscribed events. Throws 422 for a window that is not `since < until`, wider than 7 days, or reaching
 * back past the retention; null when the endpoint does not exist.
 */
export async function recordReplay(
	db: Db,
	endpointId: number,
	window: { since: string; until: string; types: WebhookEventType[] | null },
	now: Date,
): Promise<{ queued: number } | null> {
	const since = new Date(window.since);
	const until = new Date(window.until);
	if (until <= since) throw fieldError("until", "until must be after since");
	if (until.getTime() - since.getTime() > MAX_REPLAY_WINDOW_MS)
		throw fieldError("until", "until must be at most 7 days after since");
	if (since.getTime() < now.getTime() - WEBHOOK_RETENTION_MS)
		throw fieldError("since", "since must be within the last 30 days (events are kept 30 days)");
	const from = since.toISOString();
	const to = until.toISOString();
	const types = window.types === null ? null : JSON.stringify(window.types);
	const inWindow = sql`FROM webhook_events AS ev WHERE ev.created_at >= ${from} AND ev.created_at < ${to}`;
	const { replay } = await batch(db, {
		// The window's ids are fixed now: events recorded later (an `until` in the future) are not replayed.
		replay: rawQuery<{ queued: number }>(sql`INSERT INTO webhook_replays
				(endpoint_id, types, since, until, after_event_id, last_event_id, queued, created_at)
			SELECT e.id, coalesce(${types}, e.events), ${from}, ${to},
				coalesce((SELECT min(ev.id) ${inWindow}), 1) - 1,
				coalesce((SELECT max(ev.id) ${inWindow}), 0),
				(SELECT count(*) ${inWindow} AND ev.type IN (SELECT value FROM json_each(coalesce(${types}, e.events)))),
				${now.toISOString()}
			FROM webhook_endpoints AS e WHERE e.id = ${endpointId}
			RETURNING queued`),
	});
	const row = replay[0];
	return row ? { queued: row.queued } : null;
}

interface ActiveReplay {
	id: number;
	endpoint_id: number;
	types: string;
	since: string;
	until: string;
	after_event_id: number;
	last_event_id: number;
}

/** Cron: the next page of each endpoint's oldest unfinished replay, where the endpoint has room for it. */
export async function advanceWebhookReplays(db: Db, queue: Queue, now: Date) {
	const at = now.toISOString();
	const { replays } = await batch(db, {
		replays:
			rawQuery<ActiveReplay>(sql`SELECT r.id, r.endpoint_id, r.types, r.since, r.until, r.after_event_id,
				r.last_event_id
			FROM webhook_replays AS r JOIN webhook_endpoints AS e ON e.id = r.endpoint_id AND e.enabled = 1
			WHERE r.finished_at IS NULL
				AND r.id = (SELECT min(o.id) FROM webhook_replays AS o
					WHERE o.endpoint_id = r.endpoint_id AND o.finished_at IS NULL)
				AND (SELECT count(*) FROM webhook_deliveries AS d
					WHERE d.endpoint_id = r.endpoint_id AND d.status IN ('pending', 'failed')
						AND NOT (d.event_id > r.after_event_id AND d.event_id <= r.last_event_id)) < ${REPLAY_PAGE}
			ORDER BY r.id LIMIT ${REPLAYS_PER_RUN}`),
	});
	let queued = 0;
	for (const replay of replays) queued += await advanceReplay(db, queue, replay, at);
	if (replays.length > 0) logEvent("info", "webhook_replays_advanced", { replays: replays.length, queued });
	return { replays: replays.length, queued };
}

/** One page of one replay: deliveries made pending, their messages sent, then the cursor moved. */
async function advanceReplay(db: Db, queue: Queue, replay: ActiveReplay, at: string): Promise<number> {
	const page = sql`SELECT ev.id FROM webhook_events AS ev
		WHERE ev.id > ${replay.after_event_id} AND ev.id <= ${replay.last_event_id}
			AND ev.created_at >= ${replay.since} AND ev.created_at < ${replay.until}
			AND ev.type IN (SELECT value FROM json_each(${replay.types}))
		ORDER BY ev.id LIMIT ${REPLAY_PAGE}`;
	const { events, deliveries } = await batch(db, {
		events: rawQuery<{ id: number }>(page),
		// An existing delivery of the event is revived (the ledger holds one per endpoint and event), unless a
		// consumer holds it right now: then it is being delivered anyway.
		deliveries: rawQuery<{ id: number }>(sql`INSERT INTO webhook_deliveries
				(endpoint_id, event_id, event_type, status, attempts, created_at, updated_at)
			SELECT ${replay.endpoint_id}, ev.id, ev.type, 'pending', 0, ${at}, ${at}
			FROM webhook_events AS ev WHERE ev.id IN (${page})
			ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', attempts = 0, claim_token = NULL,
				claimed_until = NULL, updated_at = ${at}
			WHERE webhook_deliveries.claimed_until IS NULL OR webhook_deliveries.claimed_until <= ${at}
			RETURNING id`),
	});
	await enqueueDeliveries(
		queue,
		deliveries.map((row) => row.id),
	);
	const last = events.at(-1)?.id ?? replay.last_event_id;
	const finishedAt = events.length < REPLAY_PAGE ? at : null;
	await db.run(sql`UPDATE webhook_replays SET after_event_id = ${last}, finished_at = ${finishedAt}
		WHERE id = ${replay.id}`);
	return deliveries.length;
}
