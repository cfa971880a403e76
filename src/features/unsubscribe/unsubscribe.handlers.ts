import type { AppRouteHandler } from "../../lib/app-env.ts";
import { PAGE_CONTENT_SECURITY_POLICY, pageLocale } from "../../lib/pages.ts";
import { verifyUnsubscribeToken } from "../../prebook-emails/unsubscribe-token.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import type * as routes from "./unsubscribe.routes.ts";
import { confirmPage, donePage, notFoundPage } from "./unsubscribe.schemas.ts";
import { describeUnsubscribe, unsubscribe } from "./unsubscribe.service.ts";

export const show: AppRouteHandler<typeof routes.show> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const claims = await verifyUnsubscribeToken(c.var.config.unsubscribeSecret, c.req.valid("param").token);
	if (!claims) return c.html(notFoundPage(pageLocale(c)), 404);
	const view = await describeUnsubscribe(c.var.db, claims);
	return c.html(confirmPage(pageLocale(c, view.locale), view), 200);
};

export const confirm: AppRouteHandler<typeof routes.confirm> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const claims = await verifyUnsubscribeToken(c.var.config.unsubscribeSecret, c.req.valid("param").token);
	if (!claims) return c.html(notFoundPage(pageLocale(c)), 404);
	const { view, outcome } = await unsubscribe(c.var.db, claims);
	await publishAfterCommit(c, outcome);
	return c.html(donePage(pageLocale(c, view.locale), view), 200);
};
