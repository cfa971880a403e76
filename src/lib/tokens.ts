/**
 * Access tokens (HS256 JWTs, 15 minutes) and opaque secret tokens — refresh tokens, email verification and
 * guest confirmation links — random, stored only as SHA-256.
 */
import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { toBase64Url } from "./encoding.ts";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Both `iss` and `aud`: a token minted for another service with the same secret is refused. */
export const TOKEN_ISSUER = "bookstore-edge-api";

const accessClaims = z
	.object({
		sub: z.string().regex(/^[1-9]\d{0,15}$/),
		ver: z.number().int().min(0),
		iat: z.number().int(),
		exp: z.number().int(),
	})
	// A token that claims a longer life than we issue was not issued by us as it is.
	.refine((claims) => claims.exp - claims.iat <= ACCESS_TOKEN_TTL_SECONDS);

export interface AccessClaims {
	userId: number;
	/** `users.token_version` when the token was issued; a deactivation bumps it. */
	tokenVersion: number;
}

export async function signAccessToken(claims: AccessClaims, secret: string): Promise<string> {
	const iat = Math.floor(Date.now() / 1000);
	return sign(
		{
			sub: String(claims.userId),
			ver: claims.tokenVersion,
			iss: TOKEN_ISSUER,
			aud: TOKEN_ISSUER,
			iat,
			exp: iat + ACCESS_TOKEN_TTL_SECONDS,
		},
		secret,
		"HS256",
	);
}

/**
 * The HMAC key of a secret, imported once per isolate: `verify` given the secret itself imports it again on
 * every call, and every signed-in request verifies a token (docs/benchmarks.md, "Per-request overhead").
 */
const verifyKeys = new Map<string, Promise<CryptoKey>>();
function verifyKey(secret: string): Promise<CryptoKey> {
	let key = verifyKeys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey(
			"raw",
			new TextEncoder().encode(secret),
			{ name: "HMAC", hash: "SHA-256" },
			false,
			["verify"],
		);
		key.catch(() => verifyKeys.delete(secret));
		verifyKeys.set(secret, key);
	}
	return key;
}

/** The claims of a valid access token, or null for anything forged, tampered with, expired or malformed. */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessClaims | null> {
	try {
		// The algorithm is fixed here, never taken from the token header (`alg: none`, RS/HS confusion);
		// the key is an HS256 key whatever the token says.
		const payload = await verify(token, await verifyKey(secret), {
			alg: "HS256",
			iss: TOKEN_ISSUER,
			aud: TOKEN_ISSUER,
		});
		const claims = accessClaims.safeParse(payload);
		return claims.success ? { userId: Number(claims.data.sub), tokenVersion: claims.data.ver } : null;
	} catch {
		return null;
	}
}

/** 256 random bits, base64url: refresh tokens and the links sent by email (stored only as `hashToken`). */
export function newSecretToken(): string {
	return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** SHA-256 hex of a random secret (refresh tokens; later verification and confirmation links). */
export async function hashToken(token: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
