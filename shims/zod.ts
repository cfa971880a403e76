/**
 * What `import … from "zod"` resolves to in the Worker bundle (wrangler.toml `[alias]`) and in the tests
 * (vitest.config.ts): zod's classic API, minus its ~50 translated locales (about 360 KiB unminified).
 *
 * `@hono/zod-openapi` re-exports zod's `z` namespace object, and a bundler must keep every member of a
 * namespace object that escapes as a value: `z.locales` and `z.core.locales` with every language, although
 * only English is ever used. A module's own export shadows a name it also gets through `export *`, so
 * ./zod-api.ts is zod with `locales` narrowed to English; the other locales are then unreferenced and
 * esbuild drops them. Types still come from the real zod package.
 */
import * as z from "./zod-api.ts";

export * from "./zod-api.ts";
export { z, z as default };
