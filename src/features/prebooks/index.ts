import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./prebooks.handlers.ts";
import * as routes from "./prebooks.routes.ts";

export const prebooksRouter = createRouter()
	.openapi(routes.guestCreate, handlers.guestCreate)
	.openapi(routes.guestConfirm, handlers.guestConfirm)
	// Before `/prebooks/{id}`: "confirm" is a page, not an id that would ask for a login.
	.openapi(routes.showGuestConfirmPage, handlers.showGuestConfirmPage)
	.openapi(routes.guestConfirmPage, handlers.guestConfirmPage)
	.openapi(routes.create, handlers.create)
	.openapi(routes.list, handlers.list)
	.openapi(routes.get, handlers.get)
	.openapi(routes.cancel, handlers.cancel)
	.openapi(routes.pause, handlers.pause)
	.openapi(routes.resume, handlers.resume)
	.openapi(routes.pass, handlers.pass)
	.openapi(routes.demand, handlers.demand)
	.openapi(routes.line, handlers.line);
