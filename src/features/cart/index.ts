import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./cart.handlers.ts";
import * as routes from "./cart.routes.ts";

export const cartRouter = createRouter()
	.openapi(routes.get, handlers.get)
	.openapi(routes.addItem, handlers.addItem)
	.openapi(routes.updateItem, handlers.updateItem)
	.openapi(routes.removeItem, handlers.removeItem);
