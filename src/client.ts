/**
 * The typed client's entry point: package export `bookstore-edge-api/client`, declarations emitted to
 * dist-types/client.d.ts by `tsc -p tsconfig.client.json` (`npm run build:client`, run by `npm pack` and
 * `npm run typecheck`). Use it with `hono/client`: `hc<AppType>(baseUrl)`; every route's success and error
 * bodies are typed per status, so after `res.status === 409` the body's `code` is the union of that route's
 * 409 codes.
 *
 * The emitted file spells every route out as plain types (paths, methods, inputs, bodies per status): it
 * imports `Hono` and two public hono types, nothing of this app, zod, drizzle or the Workers types. The
 * `Hono` it names is the consumer's own (hono is a peer dependency), so a newer hono patch or minor in the
 * consumer's project is the one `hc` and `AppType` share — never two copies whose private members differ.
 */
import type { Hono } from "hono";
import type { BlankEnv } from "hono/types";
import type { AppType as App } from "./app.ts";

type RouteSchema = App extends Hono<infer _Env, infer Schema, infer _BasePath> ? Schema : never;

/**
 * Only for the declaration emitter: the type of a call is written out in full (an annotation or an alias
 * would be kept by name, pulling this app's types and hono's internal helpers into the declarations).
 */
declare function spelledOut<T>(): { [Path in keyof T]: T[Path] } & {};
const routes = spelledOut<RouteSchema>();

/** Every route: `{ [path]: { [$method]: { input, output, outputFormat, status } | … } }`. */
export type Routes = typeof routes;

/** The API as `hc` sees it: `hc<AppType>("https://api.example")`. */
export type AppType = Hono<BlankEnv, Routes, "/">;
