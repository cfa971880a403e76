/**
 * What a service does besides its batch, handed in by the caller so services stay plain functions:
 * publish to the notification and webhook queues, run work after the response (`waitUntil`), and write
 * with the system's own client (no caller guard, not metered) — e.g. to confirm a publication — and send
 * email.
 */
import type { Context } from "hono";
import type { AppEnv } from "./app-env.ts";
import { configOrNull, loadConfig } from "./config.ts";
import { createDb, type D1Usage, type Db, newD1Usage } from "./db.ts";
import { describeError } from "./errors.ts";
import { type CatalogChange, forgetCatalog, forgetCatalogAt } from "./http-cache.ts";
import { logEvent } from "./log.ts";
import { emailBindingMailer, type Mailer, type OutgoingEmail } from "./mailer.ts";

export interface Effects {
	/** `prebook-notifications`: the notified and offered readers to email (src/prebook-emails). */
	notificationQueue: Queue;
	/**
	 * `prebook-publication`: work left for after the response — the rest of a long line's publication
	 * (features/allocation/paged-publication.ts) and closed draws to score (features/allocation/lottery-draws.ts); its
	 * consumer is features/allocation/publication-consumer.ts.
	 */
	publicationQueue: Queue;
	/** `webhook-deliveries` (features/webhooks/webhook-publication.ts). */
	webhookQueue: Queue;
	/** Runs after the response (`executionCtx.waitUntil`), or at once outside a request. */
	afterResponse(work: Promise<unknown>): void;
	systemDb: Db;
	/** The D1 usage of the work that triggered the effects (logged with a restock; the benchmark reads it). */
	usage: D1Usage;
	/** Email Service (`EMAIL`), from `MAIL_FROM`. */
	mailer: Mailer;
	/** Drops the cached catalog entries of these books and works (and their lists) at this location. */
	forgetCatalog(changed: CatalogChange): Promise<void>;
}

/** A request's effects (the system client and the mailer are made when first used). */
export const requestEffects = (c: Context<AppEnv>): Effects => ({
	notificationQueue: c.env.PREBOOK_QUEUE,
	publicationQueue: c.env.PUBLICATION_QUEUE,
	webhookQueue: c.env.WEBHOOK_QUEUE,
	afterResponse: (work) => c.executionCtx.waitUntil(work),
	get systemDb() {
		return createDb(c.env.DB);
	},
	usage: c.get("d1Usage"),
	get mailer() {
		return emailBindingMailer(c.env.EMAIL, c.get("config").mailFrom);
	},
	forgetCatalog: (changed) => forgetCatalog(c, changed),
});

/**
 * Sends a transactional email (verification, guest confirmation) before answering, so "sent" is true when
 * the client hears it; a provider failure is logged, never the request's failure (the reader can ask again).
 */
export async function sendEmail(effects: Effects, email: OutgoingEmail, kind: string): Promise<boolean> {
	try {
		await effects.mailer.send(email);
		return true;
	} catch (err) {
		logEvent("error", "email_send_failed", { kind, error: describeError(err) });
		return false;
	}
}

/** Effects of background work (cron, queue consumers): after-response work is awaited with the rest. */
export function backgroundEffects(env: Env, pending: Promise<unknown>[]): Effects {
	return {
		notificationQueue: env.PREBOOK_QUEUE,
		publicationQueue: env.PUBLICATION_QUEUE,
		webhookQueue: env.WEBHOOK_QUEUE,
		afterResponse: (work) => void pending.push(work),
		systemDb: createDb(env.DB),
		usage: newD1Usage(),
		// MAIL_FROM is read (and checked) when an email is sent: the cron's other work needs no configuration.
		mailer: { send: (email) => emailBindingMailer(env.EMAIL, loadConfig(env).mailFrom).send(email) },
		// No request here: the entries clients read are keyed under API_URL (other locations: the TTL).
		forgetCatalog: async (changed) => {
			const config = configOrNull(env);
			if (config) await forgetCatalogAt(config.apiUrl, changed);
		},
	};
}
