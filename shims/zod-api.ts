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

/**
 * Left out like the locales: zod's schema compiler (`compile`, `withParser` and their errors, a JIT the
 * Workers runtime could not run anyway: no `new Function`) and `fromJSONSchema`. Nothing here uses them;
 * about 43 KiB minified. Calling one says so instead of failing obscurely.
 */
const leftOut = (name: string) => () => {
	throw new Error(`zod's ${name} is not bundled in this Worker (shims/zod-api.ts)`);
};
export const compile = leftOut("compile");
export const withParser = leftOut("withParser");
export const fromJSONSchema = leftOut("fromJSONSchema");
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
