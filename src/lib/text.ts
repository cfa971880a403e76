/**
 * Text inputs, as the contract defines them: valid Unicode only (no lone UTF-16 surrogates), no control
 * characters (a multi-line field may hold line breaks and tabs), trimmed, stored NFC-normalised. A
 * one-line field also refuses bidirectional controls and must show at least one visible character. Every
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
// Bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI) reorder
// the text around them wherever it is shown: a title or name could display as something else than it is
// ("Trojan Source"). Refused in one-line fields; the implicit marks LRM/RLM/ALM are harmless and allowed.
/** Bidi embeddings and overrides (U+202A–U+202E): they can reorder what follows them, so they are refused. */
const BIDI_OVERRIDES = /[\u202a-\u202e]/u;

/**
 * Bidi isolates (U+2066–U+2068 … U+2069) are how Unicode recommends wrapping text of the other direction,
 * so balanced ones are kept; one left open (or a stray PDI) would reorder what follows, so it is refused.
 */
function hasUnbalancedIsolates(value: string): boolean {
	let depth = 0;
	for (const char of value) {
		if (char === "\u2066" || char === "\u2067" || char === "\u2068") depth += 1;
		else if (char === "\u2069" && --depth < 0) return true;
	}
	return depth !== 0;
}
// A visible character: not white space, not default-ignorable (soft hyphen, zero-width space and joiners,
// variation selectors…), not a combining mark on nothing, not a control. A one-line field of only those
// looks empty ("\u00ad", "\u0301", "\u200b") and is refused.
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{M}\p{Cc}\p{Cf}]/u;

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
		singleLine: true,
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
	rules: { forbidden: RegExp; forbiddenMessage: string; newlines?: boolean; singleLine?: boolean },
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
			.refine(
				(value) => !(rules.singleLine && (BIDI_OVERRIDES.test(value) || hasUnbalancedIsolates(value))),
				{
					message: `${field} must not contain bidirectional overrides (U+202A–U+202E) or unbalanced isolates (U+2066–U+2069)`,
					abort: true,
				},
			)
			.overwrite((value) => (rules.newlines ? value.replace(/\r\n?/g, "\n") : value))
			.trim()
			.normalize("NFC")
			.refine((value) => codePointLength(value) >= min, { message: tooShort, abort: true })
			// Checked after trimming and NFC: what is left of a one-line value must show something.
			.refine((value) => !rules.singleLine || value === "" || VISIBLE.test(value), {
				message: `${field} must contain a visible character`,
				abort: true,
			})
			.refine((value) => codePointLength(value) <= max, {
				message: `${field} must be at most ${max} characters`,
			})
			// The custom length checks are invisible to the OpenAPI generator; state the limits it should show.
			.openapi(min > 0 ? { minLength: min, maxLength: max } : { maxLength: max })
	);
}

/**
 * A query name or value as the URL standard and Hono read it — `+` is a space, each valid `%XX` is a byte, a
 * bare `%` stays itself ("100%") — or null when those bytes are not UTF-8 (`%ff`, an encoded lone surrogate
 * `%ED%A0%80`). Hono keeps such a value as its raw `%…` text instead of refusing it.
 */
function decodeQueryText(text: string): string | null {
	const bytes: number[] = [];
	for (let i = 0; i < text.length; i++) {
		const char = text[i] as string;
		const hex = char === "%" ? text.slice(i + 1, i + 3) : "";
		if (/^[0-9a-f]{2}$/i.test(hex)) {
			bytes.push(Number.parseInt(hex, 16));
			i += 2;
		} else bytes.push(...new TextEncoder().encode(char === "+" ? " " : char));
	}
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes));
	} catch {
		return null;
	}
}

/**
 * The query parameters of `url` the route reads (`declared`), in order, each value decoded — or null when it
 * is not percent-encoded UTF-8. Parameters the route does not read are skipped, never judged.
 */
export function* declaredQueryPairs(
	url: string,
	declared: readonly string[],
): Generator<[string, string | null]> {
	const search = new URL(url).search.slice(1);
	for (const pair of search ? search.split("&") : []) {
		const separator = pair.indexOf("=");
		const name = decodeQueryText(separator < 0 ? pair : pair.slice(0, separator));
		if (name === null || !declared.includes(name)) continue;
		yield [name, decodeQueryText(separator < 0 ? "" : pair.slice(separator + 1))];
	}
}

/**
 * The parameters among `declared` whose value in `url` is not percent-encoded UTF-8. Parameters the route
 * does not read are never judged (a tracking parameter in Latin-1 changes nothing), as unknown body fields.
 */
export function malformedQueryParams(url: string, declared: readonly string[]): string[] {
	const malformed = new Set<string>();
	for (const [name, value] of declaredQueryPairs(url, declared)) if (value === null) malformed.add(name);
	return [...malformed];
}
