/**
 * The reader's language: the texts of every email and page, one file per language (en.ts, de.ts, fr.ts,
 * all of the shape `Messages`), and how times and prices are written for the reader. A locale the store
 * does not speak (or none) falls back to English. Adding a language: docs/email-pipeline.md.
 */

import { de } from "./de.ts";
import { en } from "./en.ts";
import { fr } from "./fr.ts";
import { LOCALES, type Locale, matchLocale, preferredLocale } from "./locales.ts";
import type { Messages } from "./messages.ts";

export type { Messages };
export { LOCALES, type Locale, matchLocale, preferredLocale };

/** Every language of `LOCALES` has its texts: adding a locale without a file is a type error. */
export const CATALOGS: Readonly<Record<Locale, Messages>> = { en, de, fr };

/** A stored or requested locale the store speaks, else English (a row written before a language was dropped). */
export const supportedLocale = (value: string | null | undefined): Locale =>
	(LOCALES as readonly string[]).includes(value ?? "") ? (value as Locale) : "en";

export const messagesFor = (locale: string | null | undefined): Messages => CATALOGS[supportedLocale(locale)];

/**
 * The Intl locale a language's dates and numbers are written in: English as in Britain (a 24-hour clock,
 * the day before the month), which reads unambiguously wherever the reader is.
 */
const FORMAT_LOCALE: Record<Locale, string> = { en: "en-GB", de: "de-DE", fr: "fr-FR" };

/**
 * A moment as the reader reads it: in their language and time zone, with the zone named, e.g.
 * "4. Dezember 2026 um 15:05 (Europe/Berlin)". An unknown zone (never stored: preferences validate it)
 * is written in UTC rather than failing the email.
 */
export function formatDateTime(iso: string, locale: string | null | undefined, timeZone = "UTC"): string {
	const format = (zone: string) =>
		new Intl.DateTimeFormat(FORMAT_LOCALE[supportedLocale(locale)], {
			dateStyle: "long",
			timeStyle: "short",
			timeZone: zone,
		}).format(new Date(iso));
	try {
		return `${format(timeZone)} (${timeZone})`;
	} catch {
		return `${format("UTC")} (UTC)`;
	}
}

/** A price in cents as the reader writes numbers: 1999 → "19.99" (en), "19,99" (de, fr). */
export const formatPrice = (cents: number, locale: string | null | undefined): string =>
	new Intl.NumberFormat(FORMAT_LOCALE[supportedLocale(locale)], {
		minimumFractionDigits: 2,
		maximumFractionDigits: 2,
	}).format(cents / 100);
