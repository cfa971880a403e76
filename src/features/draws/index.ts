import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./draws.handlers.ts";
import * as routes from "./draws.routes.ts";

export const drawsRouter = createRouter()
	.openapi(routes.list, handlers.list)
	.openapi(routes.entries, handlers.entries);
