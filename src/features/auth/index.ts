import { createRouter } from "../../lib/openapi.ts";
import * as handlers from "./auth.handlers.ts";
import * as routes from "./auth.routes.ts";

export const authRouter = createRouter()
	.openapi(routes.register, handlers.register)
	.openapi(routes.completeSignUp, handlers.completeSignUp)
	.openapi(routes.forgotPassword, handlers.forgotPassword)
	.openapi(routes.resetPassword, handlers.resetPassword)
	.openapi(routes.login, handlers.login)
	.openapi(routes.refresh, handlers.refresh)
	.openapi(routes.logout, handlers.logout)
	.openapi(routes.showSignUpPage, handlers.showSignUpPage)
	.openapi(routes.completeSignUpPage, handlers.completeSignUpPage)
	.openapi(routes.showResetPage, handlers.showResetPage)
	.openapi(routes.resetPasswordPage, handlers.resetPasswordPage);
