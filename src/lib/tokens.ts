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
const TOKEN_ISSUER = "bookstore-edge-api";

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

/**
 * Access tokens this isolate has verified, most recently used last, at most `VERIFIED_TOKENS`: a signed-in
 * client sends the same token with every request for its 15 minutes, and verifying it (base64url and JSON
 * of its parts, the HMAC, the claims' schema) was a visible part of a signed-in read's CPU
 * (docs/benchmarks.md, "Per-request overhead"). Only what a verification accepted is kept, under the exact
 * token string and the secret that verified it, until the token's `exp`: a token is valid until then
 * whatever happens, so a hit answers what verifying again would (the same `iat` and `exp` checks; a token
 * with an `nbf`, which this API never issues, is not kept). Whether its caller may still act
 * (deactivated, demoted, tokens revoked by a deactivation) is not the token's to say: the caller guard checks
 * that in D1 on every request (lib/db.ts), cached token or not.
 */
const verifiedTokens = new Map<string, { secret: string; iat: number; exp: number; claims: AccessClaims }>();
const VERIFIED_TOKENS = 1_000;

/** The claims of a valid access token, or null for anything forged, tampered with, expired or malformed. */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessClaims | null> {
	// In whole seconds, as hono/jwt checks them: expired at `exp <= now`, not yet issued at `now < iat`.
	const now = Math.floor(Date.now() / 1000);
	const known = verifiedTokens.get(token);
	if (known !== undefined && known.secret === secret) {
		if (known.exp <= now) {
			verifiedTokens.delete(token);
			return null;
		}
		if (now < known.iat) return null;
		// Most recently used last.
		verifiedTokens.delete(token);
		verifiedTokens.set(token, known);
		return known.claims;
	}
	try {
		// The algorithm is fixed here, never taken from the token header (`alg: none`, RS/HS confusion);
		// the key is an HS256 key whatever the token says.
		const payload = await verify(token, await verifyKey(secret), {
			alg: "HS256",
			iss: TOKEN_ISSUER,
			aud: TOKEN_ISSUER,
		});
		const parsed = accessClaims.safeParse(payload);
		if (!parsed.success) return null;
		const claims: AccessClaims = Object.freeze({
			userId: Number(parsed.data.sub),
			tokenVersion: parsed.data.ver,
		});
		if (payload.nbf === undefined) {
			// Full: the least recently used goes.
			if (verifiedTokens.size >= VERIFIED_TOKENS)
				verifiedTokens.delete(verifiedTokens.keys().next().value as string);
			verifiedTokens.set(token, { secret, iat: parsed.data.iat, exp: parsed.data.exp, claims });
		}
		return claims;
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
