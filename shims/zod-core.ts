/** `z.core` for ./zod-api.ts: zod's core with `locales` narrowed to English. */
import en from "zod/v4/locales/en.js";

export * from "zod/v4/core";
export const locales = { en };

/** Left out of the bundle, as in ./zod-api.ts. */
export const compile = () => {
	throw new Error("zod's compile is not bundled in this Worker (shims/zod-core.ts)");
};
export const withParser = compile;
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
