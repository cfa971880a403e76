import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./genres.handlers.ts";
import * as routes from "./genres.routes.ts";

export const genresRouter = createRouter()
	.openapi(routes.list, handlers.list)
	.openapi(routes.create, handlers.create);
