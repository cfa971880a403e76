import type { Context } from "hono";
import { createDb } from "../../lib/db.ts";
import type { AppEnv } from "../../types.ts";
import type { RestockEffects } from "./restocks.service.ts";

/** A request's queue, after-response hook and system client, for the restock service. */
export const restockEffects = (c: Context<AppEnv>): RestockEffects => ({
	queue: c.env.PREBOOK_QUEUE,
	afterResponse: (work) => c.executionCtx.waitUntil(work),
	systemDb: createDb(c.env.DB),
	usage: c.var.d1Usage,
});
