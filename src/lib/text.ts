/**
 * Text inputs, as the contract defines them: valid Unicode only (no lone UTF-16 surrogates), no control
 * characters (a multi-line field may hold line breaks and tabs), trimmed, stored NFC-normalised. Every
 * refusal is a message that names the field and says what is wrong; "is required" is kept for a value that
 * is not there at all.
 *
 * Lengths are counted in Unicode code points after trimming and NFC, the unit JSON Schema's
 * `minLength`/`maxLength` use, so the documented limit is the enforced one ("é" is 1 whether it arrives
 * precomposed or as e + U+0301, "𝄞" is 1 although it is 2 UTF-16 units).
 */
import { z } from "@hono/zod-openapi";

// \p{Cc} is exactly C0 (NUL…US, with TAB, LF and CR), DEL and C1 (with NEL U+0085). U+2028/U+2029 are
// not controls, but JavaScript and many renderers treat them as line breaks, so they are refused too.
const SINGLE_LINE_FORBIDDEN = /[\p{Cc}\u2028\u2029]/u;
const MULTI_LINE_FORBIDDEN = /(?![\t\n\r])[\p{Cc}\u2028\u2029]/u;

export interface TextLimits {
	/** Fewest code points after trimming and NFC. */
	min?: number;
	/** Most code points after trimming and NFC. */
	max: number;
}

/** A one-line text field (`title`, `name`, …): 1–`max` code points unless `min` says otherwise. */
export function singleLineText(field: string, { min = 1, max }: TextLimits) {
	return textInput(field, min, max, {
		forbidden: SINGLE_LINE_FORBIDDEN,
		forbiddenMessage: `${field} must not contain control characters or line breaks`,
	});
}

/**
 * A free-text field (`description`): line breaks and tabs allowed, CRLF and lone CR stored as LF; may be
 * empty unless `min` says otherwise. Trimmed at both ends only.
 */
export function multiLineText(field: string, { min = 0, max }: TextLimits) {
	return textInput(field, min, max, {
		forbidden: MULTI_LINE_FORBIDDEN,
		forbiddenMessage: `${field} must not contain control characters other than line breaks and tabs`,
		newlines: true,
	});
}

/** A search term (`q`): one line, 1–200 code points by default. */
export function searchText(field: string, { max = 200 }: { max?: number } = {}) {
	return singleLineText(field, { min: 1, max });
}

/** Length in code points; `text` is well-formed by then, so every high surrogate starts a pair. */
export function codePointLength(text: string): number {
	let length = 0;
	for (const _ of text) length++;
	return length;
}

function textInput(
	field: string,
	min: number,
	max: number,
	rules: { forbidden: RegExp; forbiddenMessage: string; newlines?: boolean },
) {
	const tooShort = min <= 1 ? `${field} must not be empty` : `${field} must be at least ${min} characters`;
	return (
		z
			.string({
				// The schema's own error covers its type check only; an explicit null is treated as absent.
				error: (issue) =>
					issue.input === undefined || issue.input === null
						? `${field} is required`
						: `${field} must be a string`,
			})
			// Each refusal aborts the rest: NFC over a lone surrogate, or a length of text already refused,
			// would only add noise to the error list.
			.refine((value) => value.isWellFormed(), {
				message: `${field} must be valid Unicode text`,
				abort: true,
			})
			.refine((value) => !rules.forbidden.test(value), { message: rules.forbiddenMessage, abort: true })
			.overwrite((value) => (rules.newlines ? value.replace(/\r\n?/g, "\n") : value))
			.trim()
			.normalize("NFC")
			.refine((value) => codePointLength(value) >= min, { message: tooShort, abort: true })
			.refine((value) => codePointLength(value) <= max, {
				message: `${field} must be at most ${max} characters`,
			})
			// The custom length checks are invisible to the OpenAPI generator; state the limits it should show.
			.openapi(min > 0 ? { minLength: min, maxLength: max } : { maxLength: max })
	);
}
