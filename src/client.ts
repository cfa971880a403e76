/**
 * The typed client's entry point: package export `bookstore-edge-api/client`, declarations emitted to
 * dist-types/ by `tsc -p tsconfig.client.json` (`npm run typecheck`). Use it with `hono/client`:
 * `hc<AppType>(baseUrl)`; every route's success and error bodies are typed per status, so after
 * `res.status === 409` the body's `code` is the union of that route's 409 codes.
 *
 * Only the routes' schema is exported, not the Worker's environment: a client never needs the bindings.
 */
import type { Hono } from "hono";
import type { BlankEnv } from "hono/types";
import type { AppType as App } from "./app.ts";

type RouteSchema = App extends Hono<infer _Env, infer Schema, infer _BasePath> ? Schema : never;

/** The API as `hc` sees it: `hc<AppType>("https://api.example")`. */
export type AppType = Hono<BlankEnv, RouteSchema, "/">;
