/**
 * Consumers of `prebook-notifications` and its dead-letter queue.
 *
 * Each message is parsed with the producer's schema; a malformed one is acknowledged and logged (a retry
 * could never fix it). For a valid one the ledger claims the recipients, one email goes to each, and the
 * outcomes are recorded. If any send failed the message is retried with exponential backoff — the ledger
 * makes the retry skip everyone already emailed. After `max_retries` the message lands in the DLQ, whose
 * consumer records the remaining deliveries as `dead`.
 */
import { inWaves } from "../lib/concurrency.ts";
import { type AppConfig, loadConfig } from "../lib/config.ts";
import { createDb, type Db } from "../lib/db.ts";
import { describeError } from "../lib/errors.ts";
import { logEvent, withLogContext } from "../lib/log.ts";
import { emailBindingMailer, type Mailer } from "../lib/mailer.ts";
import { claimRecipients, markDead, recordOutcomes } from "./delivery-ledger.ts";
import { PREBOOK_NOTIFIED, type PrebookMessage, prebookMessage } from "./messages.ts";
import { offerEmail, restockEmail } from "./templates.ts";
import { signUnsubscribeToken } from "./unsubscribe-token.ts";

export const PREBOOK_QUEUE_NAME = "prebook-notifications";
export const PREBOOK_DLQ_NAME = "prebook-notifications-dlq";

/** Queues delays at most 12 hours. */
export const MAX_RETRY_DELAY_SECONDS = 12 * 60 * 60;
export const BASE_RETRY_DELAY_SECONDS = 30;

/** 30 s, then ×`growth` per further attempt, clamped to the platform's maximum. */
export function backoffSeconds(attempts: number, growth: number): number {
	return Math.min(BASE_RETRY_DELAY_SECONDS * growth ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_SECONDS);
}

/** The email consumer's: 30 s, 60 s, 120 s, … doubling per attempt. */
export const retryDelaySeconds = (attempts: number): number => backoffSeconds(attempts, 2);

export interface DeliveryOutcome {
	claimed: number;
	sent: number;
	failed: number;
}

/** Where the emails link: the storefront, and this API's unsubscribe endpoint with its signing key. */
export interface EmailLinks {
	appUrl: string;
	apiUrl: string;
	unsubscribeSecret: string;
}

const emailLinksOf = (config: AppConfig): EmailLinks => ({
	appUrl: config.appUrl,
	apiUrl: config.apiUrl,
	unsubscribeSecret: config.unsubscribeSecret,
});

/**
 * Claims, sends and records the emails of one message (a restock's or an offer round's). Recipients the
 * ledger recorded `skipped` (restock emails turned off, address not verified) are not among the claimed.
 */
export async function deliverPrebookEmails(
	db: Db,
	mailer: Mailer,
	message: PrebookMessage,
	links: EmailLinks,
	now = new Date(),
): Promise<DeliveryOutcome> {
	const { book, recipients, claimToken } = await claimRecipients(db, message, now);
	if (!book || recipients.length === 0) return { claimed: 0, sent: 0, failed: 0 };

	const sent: number[] = [];
	const failed: { prebookId: number; error: string }[] = [];
	await inWaves(recipients, async (recipient) => {
		const unsubscribeUrl = async (scope: "prebook" | "all") =>
			`${links.apiUrl}/unsubscribe/${await signUnsubscribeToken(links.unsubscribeSecret, {
				scope,
				userId: recipient.userId,
				prebookId: recipient.prebookId,
			})}`;
		const content = {
			to: recipient.email,
			fullName: recipient.fullName,
			bookId: book.id,
			title: book.title,
			priceCents: book.priceCents,
			appUrl: links.appUrl,
			apiUrl: links.apiUrl,
			unsubscribe: { prebookUrl: await unsubscribeUrl("prebook"), allUrl: await unsubscribeUrl("all") },
			reader: { locale: recipient.locale, timeZone: recipient.timeZone },
		};
		const email =
			message.type === PREBOOK_NOTIFIED
				? restockEmail({ ...content, notifiedAt: message.notified_at })
				: offerEmail({
						...content,
						holdExpiresAt: recipient.holdExpiresAt ?? message.hold_expires_at,
						drawn: book.allocation === "lottery",
					});
		try {
			await mailer.send(email);
			sent.push(recipient.prebookId);
		} catch (err) {
			failed.push({ prebookId: recipient.prebookId, error: describeError(err) });
		}
	});
	await recordOutcomes(db, claimToken, sent, failed, new Date());
	return { claimed: recipients.length, sent: sent.length, failed: failed.length };
}

/** The notification a message is about, for logs. */
const notificationIds = (body: PrebookMessage) =>
	body.type === PREBOOK_NOTIFIED ? { restock_id: body.restock_id } : { offer_round_id: body.offer_round_id };

function parseMessage(message: Message): PrebookMessage | null {
	const parsed = prebookMessage.safeParse(message.body);
	if (parsed.success) return parsed.data;
	logEvent("warn", "prebook_message_malformed", {
		problems: parsed.error.issues.map((issue) => issue.path.join(".") || "(body)"),
	});
	message.ack();
	return null;
}

export async function consumePrebookNotifications(
	batch: MessageBatch,
	env: Env,
	mailer?: Mailer,
): Promise<void> {
	const config = loadConfig(env);
	const send = mailer ?? emailBindingMailer(env.EMAIL, config.mailFrom);
	const db = createDb(env.DB);
	for (const message of batch.messages) {
		await withLogContext({ message_id: message.id }, async () => {
			const body = parseMessage(message);
			if (!body) return;
			try {
				const outcome = await deliverPrebookEmails(db, send, body, emailLinksOf(config));
				logEvent(outcome.failed > 0 ? "warn" : "info", "prebook_emails_delivered", {
					type: body.type,
					...notificationIds(body),
					attempt: message.attempts,
					...outcome,
				});
				if (outcome.failed > 0) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
				else message.ack();
			} catch (err) {
				logEvent("error", "prebook_emails_error", { ...notificationIds(body), error: describeError(err) });
				message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
			}
		});
	}
}

export async function consumeDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
	const db = createDb(env.DB);
	for (const message of batch.messages) {
		await withLogContext({ message_id: message.id }, async () => {
			const body = parseMessage(message);
			if (!body) return;
			const dead = await markDead(db, body, new Date());
			logEvent("error", "prebook_emails_dead", { ...notificationIds(body), dead });
			message.ack();
		});
	}
}
