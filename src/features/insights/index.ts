import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./insights.handlers.ts";
import * as routes from "./insights.routes.ts";

export const insightsRouter = createRouter().openapi(routes.prebooks, handlers.prebooks);
