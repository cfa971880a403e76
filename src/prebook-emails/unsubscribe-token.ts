/**
 * Unsubscribe links: signed, not stored. A token names the user, the pre-booking the email was about and
 * the scope — `p` (cancel this pre-booking) or `a` (cancel it and stop all restock emails) — and carries an
 * HMAC-SHA256 over those, keyed by `UNSUBSCRIBE_SECRET` (never JWT_SECRET). It needs no login and does not
 * expire: a reader may unsubscribe from an email of last year. A tampered token fails verification.
 *
 * Format: `v1.<scope>.<user id>.<pre-booking id>.<base64url signature>` — URL-safe as it is; the signature
 * in its one canonical spelling only.
 */
import { fromBase64Url, toBase64Url } from "../lib/encoding.ts";

export type UnsubscribeScope = "prebook" | "all";

export interface UnsubscribeClaims {
	scope: UnsubscribeScope;
	userId: number;
	prebookId: number;
}

const SCOPES: Record<string, UnsubscribeScope> = { p: "prebook", a: "all" };
const FORMAT = /^v1\.([pa])\.([1-9]\d{0,15})\.([1-9]\d{0,15})\.([\w-]{43})$/;

const key = (secret: string, usage: "sign" | "verify") =>
	crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		usage,
	]);

export async function signUnsubscribeToken(secret: string, claims: UnsubscribeClaims): Promise<string> {
	const payload = `v1.${claims.scope === "all" ? "a" : "p"}.${claims.userId}.${claims.prebookId}`;
	const signature = await crypto.subtle.sign(
		"HMAC",
		await key(secret, "sign"),
		new TextEncoder().encode(payload),
	);
	return `${payload}.${toBase64Url(new Uint8Array(signature))}`;
}

/** The claims of a genuine token, or null for anything malformed or tampered with (constant-time check). */
export async function verifyUnsubscribeToken(
	secret: string,
	token: string,
): Promise<UnsubscribeClaims | null> {
	const match = FORMAT.exec(token);
	if (!match) return null;
	const [, scope = "", userId = "", prebookId = "", signature = ""] = match;
	const payload = `v1.${scope}.${userId}.${prebookId}`;
	// Only the canonical spelling: the last character's two unused bits would otherwise give four tokens.
	let signatureBytes: Uint8Array<ArrayBuffer>;
	try {
		signatureBytes = fromBase64Url(signature);
	} catch {
		return null;
	}
	const genuine = await crypto.subtle.verify(
		"HMAC",
		await key(secret, "verify"),
		signatureBytes,
		new TextEncoder().encode(payload),
	);
	const resolved = SCOPES[scope];
	return genuine && resolved
		? { scope: resolved, userId: Number(userId), prebookId: Number(prebookId) }
		: null;
}
