/**
 * The webhook delivery ledger (`webhook_deliveries`): one row per (endpoint, event), so each is delivered
 * at least once and recorded once, whatever the queue redelivers.
 *
 * A consumer **claims** deliveries before it POSTs: a conditional UPDATE that takes only rows still
 * `pending` or `failed`, not claimed by a live lease, within their attempts, of an enabled endpoint — and
 * never more than `MAX_IN_FLIGHT_PER_ENDPOINT` live claims per endpoint. A redelivered message of a
 * succeeded delivery claims nothing and POSTs nothing. The claim is a lease (`claimed_until`): a consumer
 * that died mid-POST frees the delivery when the lease passes, and the live leases of an endpoint are its
 * deliveries in flight.
 *
 * Ids travel as one JSON parameter through `json_each`, so a batch of any size stays within D1's
 * 100-parameter cap.
 */
import { sql } from "drizzle-orm";
import { batch, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";

/**
 * Deliveries of one endpoint in flight at once, across every consumer invocation: a slow or hanging
 * endpoint (10 s each) holds at most this many, and its other deliveries wait their turn on the queue
 * while the consumers serve the other endpoints.
 */
export const MAX_IN_FLIGHT_PER_ENDPOINT = 5;
/** A claim outlives any POST (10 s) and a consumer batch (10 deliveries, 6 at a time) with room to spare. */
export const CLAIM_LEASE_MS = 2 * 60 * 1000;
/** POSTs per delivery (the first and `max_retries` = 6 retries, wrangler.toml); then it is `dead`. */
export const MAX_DELIVERY_ATTEMPTS = 7;

export interface ClaimedDelivery {
	id: number;
	eventId: number;
	endpointId: number;
	/** This attempt's number (1 for the first POST). */
	attempt: number;
	url: string;
	eventType: string;
	/** The event's `data`, JSON. */
	payload: string;
	eventCreatedAt: string;
	/** Every secret that signs now: the current one, and a rotated one within its 24 h. */
	secrets: string[];
}

/** Why a delivery asked for was not claimed, and so what its message should do. */
export type Unclaimed =
	/** Gone (its endpoint was deleted or its history purged), succeeded or dead: nothing to do. */
	| "done"
	/** Its endpoint is disabled: recorded `dead` (an admin may retry it once the endpoint is enabled). */
	| "disabled"
	/** It failed `MAX_DELIVERY_ATTEMPTS` times (counted across queue messages): recorded `dead`. */
	| "exhausted"
	/** Another consumer holds a live claim on it: look again when the lease has passed. */
	| "busy"
	/** Its endpoint has `MAX_IN_FLIGHT_PER_ENDPOINT` deliveries in flight: wait for a turn. */
	| "deferred";

interface DeliveryState {
	id: number;
	status: string | null;
	attempts: number | null;
	claimed_until: string | null;
	enabled: number | null;
}

function classify(state: DeliveryState | undefined, at: string): Unclaimed {
	if (!state || state.status === null || state.status === "succeeded" || state.status === "dead")
		return "done";
	if (state.claimed_until !== null && state.claimed_until > at) return "busy";
	if (state.enabled !== 1) return "disabled";
	if ((state.attempts ?? 0) >= MAX_DELIVERY_ATTEMPTS) return "exhausted";
	return "deferred";
}

/**
 * One round trip: claims what may be attempted now among `deliveryIds`, reads the claimed deliveries with
 * their endpoint, event and signing secrets, and says why each of the others was not claimed.
 */
export async function claimDeliveries(
	db: Db,
	deliveryIds: readonly number[],
	now: Date,
): Promise<{ claimToken: string; claimed: ClaimedDelivery[]; unclaimed: Map<number, Unclaimed> }> {
	const claimToken = crypto.randomUUID();
	const at = now.toISOString();
	const leaseEnd = new Date(now.getTime() + CLAIM_LEASE_MS).toISOString();
	const ids = JSON.stringify([...new Set(deliveryIds)]);
	const { claimed, secrets, states } = await batch(db, {
		// Ranked per endpoint, so one statement claiming several deliveries of one endpoint stays within the
		// cap: the candidates and the live claims are counted before any row is updated.
		claim: rawQuery(sql`UPDATE webhook_deliveries
			SET claim_token = ${claimToken}, claimed_until = ${leaseEnd}, attempts = attempts + 1, updated_at = ${at}
			WHERE id IN (SELECT id FROM (
				SELECT d.id,
					row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.id) AS turn,
					(SELECT count(*) FROM webhook_deliveries AS f
						WHERE f.endpoint_id = d.endpoint_id AND f.claimed_until > ${at}) AS in_flight
				FROM json_each(${ids}) AS j
				JOIN webhook_deliveries AS d ON d.id = j.value
				JOIN webhook_endpoints AS e ON e.id = d.endpoint_id
				WHERE d.status IN ('pending', 'failed') AND e.enabled = 1 AND d.attempts < ${MAX_DELIVERY_ATTEMPTS}
					AND (d.claimed_until IS NULL OR d.claimed_until <= ${at}))
				WHERE turn + in_flight <= ${MAX_IN_FLIGHT_PER_ENDPOINT})`),
		claimed: rawQuery<{
			id: number;
			event_id: number;
			endpoint_id: number;
			attempts: number;
			url: string;
			type: string;
			payload: string;
			created_at: string;
		}>(sql`SELECT d.id, d.event_id, d.endpoint_id, d.attempts, e.url, ev.type, ev.payload, ev.created_at
			FROM webhook_deliveries AS d
			JOIN webhook_endpoints AS e ON e.id = d.endpoint_id
			JOIN webhook_events AS ev ON ev.id = d.event_id
			WHERE d.claim_token = ${claimToken}
			ORDER BY d.id`),
		secrets: rawQuery<{ endpoint_id: number; secret: string }>(sql`SELECT s.endpoint_id, s.secret
			FROM webhook_secrets AS s
			WHERE s.endpoint_id IN (SELECT endpoint_id FROM webhook_deliveries WHERE claim_token = ${claimToken})
				AND (s.expires_at IS NULL OR s.expires_at > ${at})
			ORDER BY s.id DESC`),
		states: rawQuery<DeliveryState>(sql`SELECT j.value AS id, d.status, d.attempts, d.claimed_until, e.enabled
			FROM json_each(${ids}) AS j
			LEFT JOIN webhook_deliveries AS d ON d.id = j.value
			LEFT JOIN webhook_endpoints AS e ON e.id = d.endpoint_id`),
	});
	const claimedIds = new Set(claimed.map((row) => row.id));
	const unclaimed = new Map<number, Unclaimed>();
	for (const state of states) {
		if (!claimedIds.has(state.id)) unclaimed.set(state.id, classify(state, at));
	}
	return {
		claimToken,
		claimed: claimed.map((row) => ({
			id: row.id,
			eventId: row.event_id,
			endpointId: row.endpoint_id,
			attempt: row.attempts,
			url: row.url,
			eventType: row.type,
			payload: row.payload,
			eventCreatedAt: row.created_at,
			secrets: secrets
				.filter((secret) => secret.endpoint_id === row.endpoint_id)
				.map((secret) => secret.secret),
		})),
		unclaimed,
	};
}

export interface AttemptOutcome {
	deliveryId: number;
	succeeded: boolean;
	statusCode: number | null;
	/** Null on success. */
	error: string | null;
}

/**
 * One round trip: records what this claim's POSTs did and releases their claims (freeing the endpoint's
 * slots), and records `dead` the deliveries that may not be attempted any more (`dead`: their ids and why).
 * A success is recorded even if the lease had passed meanwhile (it did succeed); a failure only by the claim
 * that made it, and never over a success.
 */
export async function recordAttempts(
	db: Db,
	claimToken: string,
	outcomes: readonly AttemptOutcome[],
	dead: readonly { deliveryId: number; reason: string | null }[],
	now: Date,
): Promise<void> {
	const at = now.toISOString();
	const succeeded = JSON.stringify(outcomes.filter((o) => o.succeeded));
	const failed = JSON.stringify(outcomes.filter((o) => !o.succeeded));
	await batch(db, {
		succeeded: rawQuery(sql`UPDATE webhook_deliveries
			SET status = 'succeeded', delivered_at = ${at}, updated_at = ${at}, last_status_code = o.value ->> 'statusCode',
				last_error = NULL, claim_token = NULL, claimed_until = NULL
			FROM json_each(${succeeded}) AS o
			WHERE webhook_deliveries.id = o.value ->> 'deliveryId' AND webhook_deliveries.status <> 'succeeded'`),
		failed: rawQuery(sql`UPDATE webhook_deliveries
			SET status = 'failed', updated_at = ${at}, last_status_code = o.value ->> 'statusCode',
				last_error = o.value ->> 'error', claim_token = NULL, claimed_until = NULL
			FROM json_each(${failed}) AS o
			WHERE webhook_deliveries.id = o.value ->> 'deliveryId' AND webhook_deliveries.claim_token = ${claimToken}
				AND webhook_deliveries.status IN ('pending', 'failed')`),
		dead: markDeadStatement(dead, at),
	});
}

/** Deliveries still to be attempted become `dead`, unless a consumer holds a live claim on one. */
const markDeadStatement = (dead: readonly { deliveryId: number; reason: string | null }[], at: string) =>
	rawQuery<{ id: number }>(sql`UPDATE webhook_deliveries
		SET status = 'dead', updated_at = ${at}, last_error = coalesce(x.value ->> 'reason', last_error),
			claim_token = NULL, claimed_until = NULL
		FROM json_each(${JSON.stringify(dead)}) AS x
		WHERE webhook_deliveries.id = x.value ->> 'deliveryId' AND webhook_deliveries.status IN ('pending', 'failed')
			AND (webhook_deliveries.claimed_until IS NULL OR webhook_deliveries.claimed_until <= ${at})
		RETURNING id`);

/** The dead-letter queue's verdict: these deliveries exhausted their retries. Returns how many became dead. */
export async function markDeliveriesDead(db: Db, deliveryIds: readonly number[], now: Date): Promise<number> {
	const { dead } = await batch(db, {
		dead: markDeadStatement(
			deliveryIds.map((deliveryId) => ({ deliveryId, reason: null })),
			now.toISOString(),
		),
	});
	return dead.length;
}
