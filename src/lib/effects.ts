/**
 * What a service does besides its batch, handed in by the caller so services stay plain functions:
 * publish to the notification and webhook queues, run work after the response (`waitUntil`), and write
 * with the system's own client (no caller guard, not metered) — e.g. to confirm a publication.
 */
import type { Context } from "hono";
import type { AppEnv } from "../types.ts";
import { createDb, type D1Usage, type Db, newD1Usage } from "./db.ts";

export interface Effects {
	queue: Queue;
	/** `webhook-deliveries` (notifications/webhook-publication.ts). */
	webhookQueue: Queue;
	/** Runs after the response (`executionCtx.waitUntil`), or at once outside a request. */
	afterResponse(work: Promise<unknown>): void;
	systemDb: Db;
	/** The D1 usage of the work that triggered the effects (logged with a restock; the benchmark reads it). */
	usage: D1Usage;
}

/** A request's effects. */
export const requestEffects = (c: Context<AppEnv>): Effects => ({
	queue: c.env.PREBOOK_QUEUE,
	webhookQueue: c.env.WEBHOOK_QUEUE,
	afterResponse: (work) => c.executionCtx.waitUntil(work),
	systemDb: createDb(c.env.DB),
	usage: c.var.d1Usage,
});

/** Effects of background work (cron, queue consumers): after-response work is awaited with the rest. */
export function backgroundEffects(env: Env, pending: Promise<unknown>[]): Effects {
	return {
		queue: env.PREBOOK_QUEUE,
		webhookQueue: env.WEBHOOK_QUEUE,
		afterResponse: (work) => void pending.push(work),
		systemDb: createDb(env.DB),
		usage: newD1Usage(),
	};
}
