import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./unsubscribe.handlers.ts";
import * as routes from "./unsubscribe.routes.ts";

export const unsubscribeRouter = createRouter()
	.openapi(routes.show, handlers.show)
	.openapi(routes.confirm, handlers.confirm);
