import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./restocks.handlers.ts";
import * as routes from "./restocks.routes.ts";

export const restocksRouter = createRouter()
	.openapi(routes.list, handlers.list)
	.openapi(routes.replay, handlers.replay)
	.openapi(routes.setStock, handlers.setStock);
