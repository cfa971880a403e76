/**
 * The cron relay of "publish after commit". A request commits a unit (a restock, an offer round) with
 * `published_at` null, publishes its messages to the queue, and only then confirms it (`published_at` set).
 * A Worker that dies in between, or a queue that refuses, leaves the unit unconfirmed; every minute the
 * cron republishes those that have not moved for a grace period. A republish may repeat messages that
 * were already sent, which the consumers' delivery ledgers make harmless.
 *
 * The webhook outbox (webhook-publication.ts) follows the same rule but relays set-based — up to 500
 * events in one batch, all or nothing, not one unit at a time — so it shares only the cutoff.
 */
import { describeError } from "./errors.ts";
import { logEvent } from "./log.ts";

/** Younger units may still be publishing in the request that made them. */
export const RELAY_GRACE_MS = 60 * 1000;
/** Units republished per cron run; the next minute's run takes the rest. */
export const RELAY_BATCH = 25;

/** The `created_at` (ISO 8601, as stored) before which an unconfirmed unit is the relay's. */
export const relayCutoff = (now: Date): string => new Date(now.getTime() - RELAY_GRACE_MS).toISOString();

/** What is specific to one kind of unit: how to find it, and how to publish it again. */
export interface Relay<Unit extends { id: number }> {
	/**
	 * Names the logs: `<name>_relayed` (warn: `<name>_id`, `recipients`) once a unit is republished,
	 * `<name>_relay_failed` (error: `<name>_id`, `error`) when it is left for the next run.
	 */
	name: string;
	/** The unconfirmed units that stopped moving before `before`, oldest first, at most `limit`: one round trip. */
	findUnconfirmed(before: string, limit: number): Promise<Unit[]>;
	/**
	 * Publishes the unit again (from where its publication got) and confirms it, or hands what remains to
	 * the next step; resolves with the recipients it put on the queue, rejects if the queue refused.
	 */
	republish(unit: Unit): Promise<number>;
}

/**
 * Cron: republishes every unit whose publication was never confirmed and has not moved for the grace
 * period, at most `RELAY_BATCH` a run. Each unit is its own unit of work: one that fails is logged and
 * stays unconfirmed for the next run, the others go on.
 */
export async function relayUnconfirmed<Unit extends { id: number }>(
	relay: Relay<Unit>,
	now: Date,
): Promise<{ units: number; recipients: number; failed: number }> {
	const pending = await relay.findUnconfirmed(relayCutoff(now), RELAY_BATCH);
	let recipients = 0;
	let failed = 0;
	for (const unit of pending) {
		try {
			const published = await relay.republish(unit);
			recipients += published;
			logEvent("warn", `${relay.name}_relayed`, { [`${relay.name}_id`]: unit.id, recipients: published });
		} catch (err) {
			failed += 1;
			logEvent("error", `${relay.name}_relay_failed`, {
				[`${relay.name}_id`]: unit.id,
				error: describeError(err),
			});
		}
	}
	return { units: pending.length, recipients, failed };
}
