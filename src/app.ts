/**
 * Builds the HTTP app: the request pipeline (each concern in one place), the feature routers, the OpenAPI
 * document and docs page, and the one error path.
 */
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { publishDocs } from "./docs.ts";
import { authRouter } from "./features/auth/index.ts";
import { booksRouter } from "./features/books/index.ts";
import { cartRouter } from "./features/cart/index.ts";
import { drawsRouter } from "./features/draws/index.ts";
import { genresRouter } from "./features/genres/index.ts";
import { healthRouter } from "./features/health/index.ts";
import { inboundRouter } from "./features/inbound/index.ts";
import { insightsRouter } from "./features/insights/index.ts";
import { ordersRouter } from "./features/orders/index.ts";
import { prebooksRouter } from "./features/prebooks/index.ts";
import { restocksRouter } from "./features/restocks/index.ts";
import { unsubscribeRouter } from "./features/unsubscribe/index.ts";
import { usersRouter } from "./features/users/index.ts";
import { webhooksRouter } from "./features/webhooks/index.ts";
import { wishlistRouter } from "./features/wishlist/index.ts";
import { worksRouter } from "./features/works/index.ts";
import { loadConfig } from "./lib/config.ts";
import { BOOKMARK_HEADER, createDb, newD1Usage, requestSession } from "./lib/db.ts";
import { AppError, errorBody, onError } from "./lib/errors.ts";
import { withLogContext } from "./lib/log.ts";
import { createRouter } from "./lib/openapi.ts";
import { limitAuthRequests } from "./lib/rate-limit.ts";
import { responseHeaders, writeServerTiming } from "./lib/response-headers.ts";
import { requireUtf8JsonBody } from "./lib/utf8-body.ts";

const MAX_BODY_BYTES = 64 * 1024;

function createApp() {
	const app = createRouter();

	// The request's id: the client's `X-Request-Id` when it is a sane token (hono/request-id: at most 255
	// word characters, `-` and `=`), else a new UUID. It is the one in the response header, in error bodies
	// and in every log line of the request, so a client's support ticket finds the server's logs. (A client
	// can choose the id its own requests log under; it cannot reach other requests' lines.)
	app.use(requestId());
	app.use((c, next) => withLogContext({ request_id: c.get("requestId") }, next));
	// One metered drizzle client per request, on the request's D1 session (read replication: reads, signed
	// in or not, may start on a replica, the rest on the primary, a client's `X-D1-Bookmark` sees its own
	// writes); its round trips end up in Server-Timing and the session's latest bookmark in `X-D1-Bookmark`
	// — on every response, also the CORS preflights and 413s answered by the middleware below.
	// Authenticated routes replace the client with one guarded by the caller, on the same session
	// (lib/auth.ts).
	app.use(async (c, next) => {
		const startedAt = performance.now();
		const usage = newD1Usage();
		const session = requestSession(c.env.DB, {
			method: c.req.method,
			bookmark: c.req.header(BOOKMARK_HEADER),
		});
		c.set("d1Usage", usage);
		c.set("d1Session", session);
		c.set("db", createDb(session, usage));
		await next();
		writeServerTiming(c, usage, startedAt);
		const bookmark = session.getBookmark();
		if (bookmark) c.res.headers.set(BOOKMARK_HEADER, bookmark);
	});
	// Security headers, CORS (the preflights answered here) and `Cache-Control: no-store` unless a route
	// says otherwise: most answers carry tokens or one user's data; the public catalog reads set their own.
	app.use(responseHeaders);
	app.use(
		bodyLimit({
			maxSize: MAX_BODY_BYTES,
			onError: () => {
				throw new AppError("PAYLOAD_TOO_LARGE", "Request body is larger than 64 KiB");
			},
		}),
	);
	app.use(requireUtf8JsonBody);

	// Health answers (503, naming the bad variable) even when the configuration is invalid.
	app.route("/", healthRouter);
	// So do the docs (/openapi.json, /docs, and / redirecting there): they need no secret.
	publishDocs(app);
	// Everything else refuses to run on an invalid configuration: a deployment error, never a default.
	app.use(async (c, next) => {
		c.set("config", loadConfig(c.env));
		await next();
	});

	app.use("/auth/*", limitAuthRequests);

	const routes = app
		.route("/", authRouter)
		.route("/", usersRouter)
		.route("/", genresRouter)
		.route("/", booksRouter)
		.route("/", worksRouter)
		.route("/", drawsRouter)
		.route("/", inboundRouter)
		.route("/", prebooksRouter)
		.route("/", insightsRouter)
		.route("/", restocksRouter)
		.route("/", wishlistRouter)
		.route("/", cartRouter)
		.route("/", ordersRouter)
		.route("/", unsubscribeRouter)
		.route("/", webhooksRouter);

	app.notFound((c) => c.json(errorBody(new AppError("NOT_FOUND", "No such route"), c.get("requestId")), 404));
	app.onError(onError);
	return routes;
}

export const app = createApp();
/** The typed API for `hono/client`: `hc<AppType>(baseUrl)`. */
export type AppType = typeof app;
