import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { matchLocale, preferredLocale } from "../../i18n/index.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/app-env.ts";
import { requestEffects, sendEmail } from "../../lib/effects.ts";
import { AppError } from "../../lib/errors.ts";
import {
	formFields,
	linkRefusedPage,
	PAGE_CONTENT_SECURITY_POLICY,
	pageLocale,
	postedPageLocale,
} from "../../lib/pages.ts";
import { decodeCursor, newestFirstCursor, toPage } from "../../lib/pagination.ts";
import { requestNetwork } from "../../lib/rate-limit.ts";
import { guestConfirmationEmail } from "../../prebook-emails/templates.ts";
import type { Outcome } from "../allocation/outcome.ts";
import { publishAfterCommit } from "../allocation/publish-outcome.ts";
import { waitingDemand } from "../insights/insights.service.ts";
import { confirmGuestPrebook, guestLinkOf, requestGuestPrebook } from "./guest-prebooks.service.ts";
import { confirmGuestPage, guestConfirmedPage, guestRefusal } from "./prebooks.pages.ts";
import type * as routes from "./prebooks.routes.ts";
import type { PrebookView } from "./prebooks.schemas.ts";
import {
	LINE_CSV_COLUMNS,
	lineCursor,
	targetOf,
	toCsvRecord,
	toDemandItem,
	toLineEntry,
	toPrebookResponse,
} from "./prebooks.schemas.ts";
import {
	bookLine,
	cancelPrebook,
	createPrebook,
	getPrebook,
	listPrebooks,
	passOffer,
	pausePrebook,
	resumePrebook,
} from "./prebooks.service.ts";

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
	const { prebook, outcome } = await createPrebook(c.var.db, c.var.caller.id, targetOf(c.req.valid("json")));
	await publishAfterCommit(c, outcome);
	return c.json(toPrebookResponse(prebook), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
	const { status, limit, cursor } = c.req.valid("query");
	const after = decodeCursor(cursor, newestFirstCursor);
	const rows = await listPrebooks(c.var.db, c.var.caller.id, { status, after, limit });
	return c.json(
		toPage(rows, limit, toPrebookResponse, (row) => ({ at: row.createdAt, id: row.id })),
		200,
	);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) =>
	c.json(toPrebookResponse(await getPrebook(c.var.db, c.var.caller.id, c.req.valid("param").id)), 200);

export const cancel: AppRouteHandler<typeof routes.cancel> = async (c) => {
	await publishAfterCommit(c, await cancelPrebook(c.var.db, c.var.caller.id, c.req.valid("param").id));
	return c.body(null, 204);
};

export const pause: AppRouteHandler<typeof routes.pause> = async (c) => {
	const { id } = c.req.valid("param");
	const prebook = await pausePrebook(c.var.db, c.var.caller.id, id, c.req.valid("json").until);
	return c.json(toPrebookResponse(prebook), 200);
};

/**
 * The pre-booking after a change, answered once its outcome is published. A change that closed a lottery
 * draw answers with the draw still closing: the draw is scored after the response (publish-outcome.ts), and the
 * reader sees whether they won on their next read.
 */
async function afterChange(c: Context<AppEnv>, change: { prebook: PrebookView; outcome: Outcome }) {
	await publishAfterCommit(c, change.outcome);
	return c.json(toPrebookResponse(change.prebook), 200);
}

export const resume: AppRouteHandler<typeof routes.resume> = async (c) => {
	const { id } = c.req.valid("param");
	return afterChange(c, await resumePrebook(c.var.db, c.var.caller.id, id));
};

export const pass: AppRouteHandler<typeof routes.pass> = async (c) => {
	const { id } = c.req.valid("param");
	return afterChange(c, await passOffer(c.var.db, c.var.caller.id, id));
};

export const demand: AppRouteHandler<typeof routes.demand> = async (c) => {
	const rows = await waitingDemand(c.var.db, c.req.valid("query").limit);
	return c.json({ items: rows.map(toDemandItem) }, 200);
};

/** Rows per round trip of a CSV export. */
const CSV_PAGE = 500;

export const line: AppRouteHandler<typeof routes.line> = async (c) => {
	const bookId = c.req.valid("param").id;
	const { status, limit, cursor } = c.req.valid("query");
	const after = decodeCursor(cursor, lineCursor);
	// Hono's negotiation: quality values (`text/csv;q=0` is a refusal) and media types in any letter case.
	const wantsCsv =
		accepts(c, {
			header: "Accept",
			supports: ["application/json", "text/csv"],
			default: "application/json",
		}) === "text/csv";
	if (!wantsCsv) {
		const rows = await bookLine(c.var.db, bookId, { status, after, limit });
		return c.json(
			toPage(rows, limit, toLineEntry, (row) => ({ at: row.createdAt, id: row.id })),
			200,
		);
	}
	// The first page is read before answering, so an unknown book is still a 404; the rest streams, one
	// keyset page per round trip, so an export of any length holds one page in memory.
	const db = c.var.db;
	let rows = await bookLine(db, bookId, { status, after, limit: CSV_PAGE });
	// The running position, known once a page has one (the first page measures the line before a client's
	// cursor, as a JSON page does).
	let servableBefore: number | undefined;
	const encoder = new TextEncoder();
	const body = new ReadableStream<Uint8Array>({
		start(controller) {
			controller.enqueue(encoder.encode(`${LINE_CSV_COLUMNS.join(",")}\r\n`));
		},
		async pull(controller) {
			const page = rows.slice(0, CSV_PAGE);
			if (page.length > 0)
				controller.enqueue(
					encoder.encode(page.map((row) => `${toCsvRecord(toLineEntry(row))}\r\n`).join("")),
				);
			const last = page.at(-1);
			if (rows.length <= CSV_PAGE || !last) return controller.close();
			// Positions run on from this page's last: the next page need not measure the line before it.
			servableBefore = page.findLast((row) => row.position !== null)?.position ?? servableBefore;
			rows = await bookLine(db, bookId, {
				status,
				after: { at: last.createdAt, id: last.id },
				limit: CSV_PAGE,
				servableBefore,
			});
		},
	});
	return c.body(body, 200, {
		"Content-Type": "text/csv; charset=utf-8",
		"Content-Disposition": `attachment; filename="book-${bookId}-prebookings.csv"`,
	});
};

export const guestCreate: AppRouteHandler<typeof routes.guestCreate> = async (c) => {
	const body = c.req.valid("json");
	const { email } = body;
	const { title, link } = await requestGuestPrebook(c.var.db, {
		email,
		target: targetOf(body),
		network: requestNetwork(c),
		// An address without an account is written to in the language the asker's browser asks for.
		locale: preferredLocale(c.req.header("Accept-Language")),
	});
	// No link: the address has had its confirmation emails for now. The answer is the same (API.md).
	if (link !== null) {
		const url = `${c.var.config.appUrl}/prebooks/confirm?token=${encodeURIComponent(link.token)}`;
		const confirmation = guestConfirmationEmail({
			to: email,
			title,
			url,
			expiresAt: link.expiresAt,
			reader: link.reader,
		});
		await sendEmail(requestEffects(c), confirmation, "guest_prebook");
	}
	return c.json({ status: "confirmation_sent" as const }, 202);
};

export const guestConfirm: AppRouteHandler<typeof routes.guestConfirm> = async (c) => {
	const { prebook, outcome } = await confirmGuestPrebook(
		c.var.db,
		c.req.valid("json").token,
		// A new guest account speaks the language the guest's browser asks for, else the link's.
		matchLocale(c.req.header("Accept-Language")),
	);
	await publishAfterCommit(c, outcome);
	return c.json(toPrebookResponse(prebook), 201);
};

export const showGuestConfirmPage: AppRouteHandler<typeof routes.showGuestConfirmPage> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const { token } = c.req.valid("query");
	const link = token ? await guestLinkOf(c.var.db, token) : null;
	// A used or expired link still speaks its own language.
	const locale = pageLocale(c, link?.locale);
	if (!link?.usable) return c.html(linkRefusedPage(locale), 400);
	return c.html(confirmGuestPage(locale, link.usable), 200);
};

export const guestConfirmPage: AppRouteHandler<typeof routes.guestConfirmPage> = async (c) => {
	c.header("Content-Security-Policy", PAGE_CONTENT_SECURITY_POLICY);
	const { token } = c.req.valid("query");
	const fields = await formFields(c.req);
	// The language the page was shown in (its hidden field), else the link's, else the browser's.
	const locale = await postedPageLocale(c, fields, async () =>
		token ? (await guestLinkOf(c.var.db, token))?.locale : null,
	);
	if (!token) return c.html(linkRefusedPage(locale), 400);
	try {
		const { prebook, outcome } = await confirmGuestPrebook(c.var.db, token, locale);
		await publishAfterCommit(c, outcome);
		return c.html(guestConfirmedPage(locale, prebook.bookTitle), 201);
	} catch (err) {
		const refused = err instanceof AppError ? guestRefusal(locale, err) : null;
		if (!refused) throw err;
		return c.html(refused.page, refused.status);
	}
};
