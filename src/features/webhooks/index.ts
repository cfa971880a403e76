import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./webhooks.handlers.ts";
import * as routes from "./webhooks.routes.ts";

export const webhooksRouter = createRouter()
	.openapi(routes.create, handlers.create)
	.openapi(routes.list, handlers.list)
	// Before `/admin/webhooks/{id}`, which would take "event-types" for an id.
	.openapi(routes.eventTypes, handlers.eventTypes)
	.openapi(routes.getOne, handlers.getOne)
	.openapi(routes.patch, handlers.patch)
	.openapi(routes.remove, handlers.remove)
	.openapi(routes.rotateSecret, handlers.rotateSecret)
	.openapi(routes.listDeliveries, handlers.listDeliveries)
	.openapi(routes.retryDelivery, handlers.retryDelivery)
	.openapi(routes.replay, handlers.replay)
	.openapi(routes.listEvents, handlers.listEvents);
