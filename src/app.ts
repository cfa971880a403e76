/**
 * Builds the HTTP app: the request pipeline (each concern in one place), the feature routers, the OpenAPI
 * document and docs page, and the one error path.
 */
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { setMetric, timing } from "hono/timing";
import { publishDocs } from "./docs.ts";
import { authRouter } from "./features/auth/index.ts";
import { booksRouter } from "./features/books/index.ts";
import { cartRouter } from "./features/cart/index.ts";
import { genresRouter } from "./features/genres/index.ts";
import { healthRouter } from "./features/health/index.ts";
import { ordersRouter } from "./features/orders/index.ts";
import { prebooksRouter } from "./features/prebooks/index.ts";
import { restocksRouter } from "./features/restocks/index.ts";
import { usersRouter } from "./features/users/index.ts";
import { wishlistRouter } from "./features/wishlist/index.ts";
import { loadConfig, parseList } from "./lib/config.ts";
import { createDb, newD1Usage } from "./lib/db.ts";
import { AppError, errorBody, onError } from "./lib/errors.ts";
import { createRouter } from "./lib/openapi.ts";
import { limitAuthRequests } from "./lib/rate-limit.ts";

const MAX_BODY_BYTES = 64 * 1024;

export function createApp() {
	const app = createRouter();

	app.use(requestId());
	app.use(timing({ crossOrigin: true }));
	app.use(
		secureHeaders({
			// JSON only: nothing may be loaded or framed. /docs sets its own policy (kept: overwrite false).
			contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
			overwrite: false,
		}),
	);
	app.use(
		cors({
			origin: (origin, c) => {
				const allowed = parseList(c.env.CORS_ORIGINS);
				return allowed.includes("*") || allowed.includes(origin) ? origin : null;
			},
			allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
			allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
			exposeHeaders: ["X-Request-Id", "Server-Timing", "Retry-After", "Idempotent-Replayed"],
			maxAge: 600,
		}),
	);
	app.use(
		bodyLimit({
			maxSize: MAX_BODY_BYTES,
			onError: () => {
				throw new AppError("PAYLOAD_TOO_LARGE", "Request body is larger than 64 KiB");
			},
		}),
	);
	// One metered drizzle client per request; its round trips end up in Server-Timing.
	app.use(async (c, next) => {
		const usage = newD1Usage();
		c.set("d1Usage", usage);
		c.set("db", createDb(c.env.DB, usage));
		await next();
		setMetric(c, "d1", usage.durationMs, String(usage.roundTrips));
	});

	// Health answers (503) even when the secret is missing, so a bad deploy is visible.
	app.route("/", healthRouter);
	// So do the docs (/openapi.json, /docs, and / redirecting there): they need no secret.
	publishDocs(app);
	// Everything else refuses to run without its secret: a deployment error, never a default.
	app.use(async (c, next) => {
		loadConfig(c.env);
		await next();
	});

	app.use("/auth/*", limitAuthRequests);

	const routes = app
		.route("/", authRouter)
		.route("/", usersRouter)
		.route("/", genresRouter)
		.route("/", booksRouter)
		.route("/", prebooksRouter)
		.route("/", restocksRouter)
		.route("/", wishlistRouter)
		.route("/", cartRouter)
		.route("/", ordersRouter);

	app.notFound((c) => c.json(errorBody(new AppError("NOT_FOUND", "No such route")), 404));
	app.onError(onError);
	return routes;
}

export const app = createApp();
/** The typed API for `hono/client`: `hc<AppType>(baseUrl)`. */
export type AppType = typeof app;
