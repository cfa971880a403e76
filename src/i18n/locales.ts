/**
 * The languages the store speaks (API.md, preferences `locale`) and how a request's `Accept-Language`
 * picks one. English is the fallback. Adding one: docs/email-pipeline.md, "Adding a language".
 */

/** The languages emails can be written in; English is the fallback. */
export const LOCALES = ["en", "de", "fr"] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * The best supported language of an `Accept-Language` header (RFC 9110: tags by quality, first wins on
 * ties; `de-AT` matches `de`), or null when it names none.
 */
export function matchLocale(header: string | undefined | null): Locale | null {
	const ranked = (header ?? "")
		.split(",")
		.map((part, order) => {
			const [tag = "", ...params] = part.trim().toLowerCase().split(";");
			const q = Number(
				params
					.find((param) => param.trim().startsWith("q="))
					?.trim()
					.slice(2) ?? 1,
			);
			return { language: tag.split("-")[0] ?? "", q: Number.isFinite(q) ? q : 0, order };
		})
		.filter((entry) => entry.q > 0)
		.sort((a, b) => b.q - a.q || a.order - b.order);
	const match = ranked.find((entry) => (LOCALES as readonly string[]).includes(entry.language));
	return (match?.language as Locale | undefined) ?? null;
}

/** The best supported language of an `Accept-Language` header, else English. */
export const preferredLocale = (header: string | undefined | null): Locale => matchLocale(header) ?? "en";
