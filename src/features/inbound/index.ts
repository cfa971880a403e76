import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./inbound.handlers.ts";
import * as routes from "./inbound.routes.ts";

export const inboundRouter = createRouter()
	.openapi(routes.create, handlers.create)
	.openapi(routes.list, handlers.list)
	.openapi(routes.remove, handlers.remove);
