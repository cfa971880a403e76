export function toBase64(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary);
}

/** Throws on input that is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
	return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

export function toBase64Url(bytes: Uint8Array): string {
	return toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Throws on input that is not canonical base64url — unpadded, and the unused low bits of the last character
 * 0 (RFC 4648 §3.5) — so one byte string has one spelling: a signed token or a cursor cannot be varied
 * without being refused.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
	if (!/^[\w-]*$/.test(text)) throw new TypeError("Not base64url");
	const bytes = fromBase64(text.replaceAll("-", "+").replaceAll("_", "/"));
	if (toBase64Url(bytes) !== text) throw new TypeError("Not canonical base64url");
	return bytes;
}
