/**
 * JSON bodies must be valid UTF-8 (RFC 8259). Without this check the runtime's decoder would quietly turn
 * invalid bytes into U+FFFD before validation ever saw them, and "text that is not valid Unicode" would
 * be stored as replacement characters. An invalid body is 400 MALFORMED_BODY, like any body that is not
 * JSON. (Lone surrogates written as `\ud800` escapes are valid JSON text: the text schemas refuse them.)
 * A body declared in another charset (`charset=iso-8859-1`) is 415 UNSUPPORTED_MEDIA_TYPE: it would be read
 * as UTF-8 all the same.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env.ts";
import { AppError } from "./errors.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** A `charset` parameter of the media type, unquoted and lower-cased; `null` without one. */
function charsetOf(type: string): string | null {
	const value = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(type)?.[2];
	return value === undefined ? null : value.toLowerCase();
}

export const requireUtf8JsonBody = createMiddleware<AppEnv>(async (c, next) => {
	const type = c.req.header("Content-Type") ?? "";
	if (c.req.raw.body && /^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
		// JSON is UTF-8 (RFC 8259 §8.1): a body that says it is in another charset would be misread.
		const charset = charsetOf(type);
		if (charset !== null && charset !== "utf-8" && charset !== "utf8") {
			throw new AppError(
				"UNSUPPORTED_MEDIA_TYPE",
				`JSON bodies are UTF-8: send charset=utf-8 or no charset, not ${charset || "an empty one"}`,
			);
		}
		try {
			// The body limit (64 KiB) has already bounded what is read here; Hono caches it for the validator.
			strict.decode(await c.req.arrayBuffer());
		} catch {
			throw new AppError("MALFORMED_BODY", "Request body is not valid UTF-8");
		}
	}
	await next();
});
