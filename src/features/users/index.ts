import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./users.handlers.ts";
import * as routes from "./users.routes.ts";

export const usersRouter = createRouter()
	.openapi(routes.me, handlers.me)
	.openapi(routes.getPreferences, handlers.getPreferences)
	.openapi(routes.setPreferences, handlers.setPreferences)
	.openapi(routes.exportAccount, handlers.exportAccount)
	.openapi(routes.deleteAccount, handlers.deleteAccount)
	.openapi(routes.list, handlers.list)
	.openapi(routes.update, handlers.update);
