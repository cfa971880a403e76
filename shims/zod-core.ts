/** `z.core` for ./zod-api.ts: zod's core with `locales` narrowed to English. */
import en from "zod/v4/locales/en.js";

export * from "zod/v4/core";
export const locales = { en };
