import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./works.handlers.ts";
import * as routes from "./works.routes.ts";

export const worksRouter = createRouter()
	.openapi(routes.list, handlers.list)
	.openapi(routes.get, handlers.get)
	.openapi(routes.create, handlers.create)
	.openapi(routes.update, handlers.update)
	.openapi(routes.remove, handlers.remove);
