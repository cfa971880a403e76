import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./wishlist.handlers.ts";
import * as routes from "./wishlist.routes.ts";

export const wishlistRouter = createRouter()
	.openapi(routes.list, handlers.list)
	.openapi(routes.add, handlers.add)
	.openapi(routes.remove, handlers.remove);
