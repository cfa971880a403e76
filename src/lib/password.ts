/**
 * Password hashing with PBKDF2-SHA256 through WebCrypto. The stored string records algorithm, iteration
 * count and salt (`pbkdf2_sha256$100000$<salt>$<hash>`, base64url), so the cost can be raised later and old
 * hashes still verify.
 *
 * 100,000 iterations is the most production Workers allow: a higher count throws NotSupportedError there,
 * while `wrangler dev` and tests would silently accept it. A unit test pins this value.
 */
import { fromBase64Url, toBase64Url } from "./encoding.ts";

export const PBKDF2_ITERATIONS = 100_000;
const ALGORITHM = "pbkdf2_sha256";
const SALT_BYTES = 16;
const HASH_BITS = 256;

const encoder = new TextEncoder();

async function derive(
	password: string,
	salt: Uint8Array<ArrayBuffer>,
	iterations: number,
): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
	const bits = await crypto.subtle.deriveBits(
		{ name: "PBKDF2", hash: "SHA-256", salt, iterations },
		key,
		HASH_BITS,
	);
	return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<string> {
	const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
	const hash = await derive(password, salt, PBKDF2_ITERATIONS);
	return `${ALGORITHM}$${PBKDF2_ITERATIONS}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

interface StoredHash {
	iterations: number;
	salt: Uint8Array<ArrayBuffer>;
	hash: Uint8Array<ArrayBuffer>;
}

function parseHash(stored: string): StoredHash | null {
	const [algorithm, iterationsText, saltText, hashText, ...rest] = stored.split("$");
	const iterations = Number(iterationsText);
	if (
		algorithm !== ALGORITHM ||
		!Number.isInteger(iterations) ||
		iterations < 1 ||
		iterations > PBKDF2_ITERATIONS ||
		!saltText ||
		!hashText ||
		rest.length > 0
	) {
		return null;
	}
	try {
		return { iterations, salt: fromBase64Url(saltText), hash: fromBase64Url(hashText) };
	} catch {
		return null;
	}
}

/**
 * A well-formed hash at today's cost that no password matches (its bytes derive from none we know), checked
 * against when there is no usable hash: an unknown email, a passwordless guest, an erased account.
 */
const NO_PASSWORD = parseHash(
	`${ALGORITHM}$${PBKDF2_ITERATIONS}$${"A".repeat(22)}$${"A".repeat(43)}`,
) as StoredHash;

/**
 * Constant-time check of a password against a stored hash (`null`: there is none); false for a missing or
 * malformed one. Every call derives one key — without a usable hash, at `PBKDF2_ITERATIONS` against
 * `NO_PASSWORD` — so the answer takes the same work whether the account exists, has no password or the
 * password is wrong (API.md: login answers take the same time).
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
	const parsed = stored === null ? null : parseHash(stored);
	const { iterations, salt, hash } = parsed ?? NO_PASSWORD;
	const actual = await derive(password, salt, iterations);
	return constantTimeEqual(hash, actual) && parsed !== null;
}

/** Compares every byte whatever the first difference (this module also runs in Node for the seed). */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
	if (a.byteLength !== b.byteLength) return false;
	let difference = 0;
	for (let i = 0; i < a.byteLength; i++) difference |= (a[i] as number) ^ (b[i] as number);
	return difference === 0;
}
