/**
 * Genre names are one genre when their keys are equal: "Fiction", "FICTION" and "ｆｉｃｔｉｏｎ" are one.
 *
 * The key approximates Unicode's NFKC_Casefold (the mapping UAX #31 gives for comparing identifiers):
 * NFKC folds compatibility forms (full-width letters, ligatures like "ﬁ", "ſ") and composes accents,
 * so "Café" and "Cafe\u0301" meet; lower-casing then folds case. JavaScript has no case folding, and
 * toLowerCase differs from full folding in few places that survive NFKC: "ß"/"ẞ" (fold to "ss") and the
 * final sigma "ς" (folds to "σ"); those are mapped by hand. Default-ignorable code points (soft hyphen,
 * zero-width space and joiners, variation selectors…) are dropped as NFKC_Casefold does, so an invisible
 * character cannot make a second "Fiction". Turkish dotted/dotless i follow the default (non-Turkic)
 * mapping: "İ" keys as "i̇", not "i".
 *
 * SQLite cannot compute this (its lower() folds ASCII only), so a unique rule on genre names needs this key
 * computed here and stored with the name.
 */
export function genreKey(name: string): string {
	return name
		.normalize("NFKC")
		.toLowerCase()
		.replace(/ß/g, "ss")
		.replace(/ς/g, "σ")
		.replace(/\p{Default_Ignorable_Code_Point}/gu, "")
		.normalize("NFKC");
}
