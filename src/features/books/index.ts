import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./books.handlers.ts";
import * as routes from "./books.routes.ts";

export const booksRouter = createRouter()
	.openapi(routes.list, handlers.list)
	.openapi(routes.get, handlers.get)
	.openapi(routes.page, handlers.page)
	.openapi(routes.create, handlers.create)
	.openapi(routes.update, handlers.update)
	.openapi(routes.remove, handlers.remove);
