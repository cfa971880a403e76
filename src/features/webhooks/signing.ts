/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing, with WebCrypto only.
 *
 * A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes. A delivery carries
 * `webhook-id` (stable across retries), `webhook-timestamp` (Unix seconds of this attempt) and
 * `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per active secret,
 * space-separated — during a rotation receivers holding either secret verify the same request.
 */
import { fromBase64, toBase64 } from "../../lib/encoding.ts";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

/** A new signing secret (`whsec_…`). */
export function generateWebhookSecret(): string {
	return `${SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;
}

function secretKey(secret: string): Uint8Array<ArrayBuffer> {
	if (!secret.startsWith(SECRET_PREFIX)) throw new Error("webhook secret without the whsec_ prefix");
	return fromBase64(secret.slice(SECRET_PREFIX.length));
}

/** `v1,<signature>` of one message under one secret. */
async function signWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
	const key = await crypto.subtle.importKey(
		"raw",
		secretKey(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
	return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers of one attempt, signed with every active secret. */
export async function webhookHeaders(
	secrets: readonly string[],
	id: string,
	timestamp: number,
	body: string,
): Promise<Record<string, string>> {
	const signatures = await Promise.all(secrets.map((secret) => signWebhook(secret, id, timestamp, body)));
	return {
		"webhook-id": id,
		"webhook-timestamp": String(timestamp),
		"webhook-signature": signatures.join(" "),
	};
}
