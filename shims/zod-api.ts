/** zod's classic API with `locales` (and `core.locales`) narrowed to English; see ./zod.ts for why. */
import en from "zod/v4/locales/en.js";

export * from "zod/v4";
/** English only (zod's default). Another language: `z.config(fr())` with fr from "zod/v4/locales/fr.js". */
export const locales = { en };
export * as core from "./zod-core.ts";
/**
 * "zod/v4" also exports `z`, its complete namespace (every locale); zod's own namespace has no `z`
 * member, and ./zod.ts exports this module's namespace as `z`.
 */
export const z = undefined;
