/**
 * Access tokens (HS256 JWTs, 15 minutes) and opaque refresh tokens (random, stored only as SHA-256).
 */
import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { toBase64Url } from "./encoding.ts";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;

const accessClaims = z.object({
	sub: z.string().regex(/^[1-9]\d{0,15}$/),
	exp: z.number().int(),
	iat: z.number().int(),
});

export async function signAccessToken(userId: number, secret: string): Promise<string> {
	const iat = Math.floor(Date.now() / 1000);
	return sign({ sub: String(userId), iat, exp: iat + ACCESS_TOKEN_TTL_SECONDS }, secret, "HS256");
}

/** The user id of a valid access token, or null for anything forged, tampered with, expired or malformed. */
export async function verifyAccessToken(token: string, secret: string): Promise<number | null> {
	try {
		// The algorithm is fixed here, never taken from the token header (`alg: none`, RS/HS confusion).
		const payload = await verify(token, secret, "HS256");
		const claims = accessClaims.safeParse(payload);
		return claims.success ? Number(claims.data.sub) : null;
	} catch {
		return null;
	}
}

export function newRefreshToken(): string {
	return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function hashRefreshToken(token: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
