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

/** Constant-time check of a password against a stored hash; false for any malformed stored value. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
	const [algorithm, iterationsText, saltText, hashText] = stored.split("$");
	const iterations = Number(iterationsText);
	if (
		algorithm !== ALGORITHM ||
		!Number.isInteger(iterations) ||
		iterations < 1 ||
		iterations > PBKDF2_ITERATIONS ||
		!saltText ||
		!hashText
	) {
		return false;
	}
	const expected = fromBase64Url(hashText);
	const actual = await derive(password, fromBase64Url(saltText), iterations);
	return constantTimeEqual(expected, actual);
}

/** Compares every byte whatever the first difference (this module also runs in Node for the seed). */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
	if (a.byteLength !== b.byteLength) return false;
	let difference = 0;
	for (let i = 0; i < a.byteLength; i++) difference |= (a[i] as number) ^ (b[i] as number);
	return difference === 0;
}

/**
 * A real hash of a random password, verified against when the email is unknown, so an unknown email and
 * a wrong password cost the same time and give the same answer.
 */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
	decoyHash ??= hashPassword(crypto.randomUUID());
	return decoyHash;
}
