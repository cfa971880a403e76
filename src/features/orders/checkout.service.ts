/**
 * Checkout: authorize the payment, then one D1 batch, then capture.
 *
 *  1. read the cart (and the order already made with this Idempotency-Key, if any) — round trip 1;
 *  2. authorize the total with the payment provider. Declined: record a `payment_failed` order; stock and
 *     cart are untouched;
 *  3. one batch — round trip 2: check that the cart is still exactly the lines priced in step 1 (else the
 *     batch aborts: 409 `CART_EMPTY` when another checkout bought them meanwhile — a double click —, or
 *     `CART_CHANGED`), decrement every line's stock (the `CHECK (stock_quantity >= 0)` aborts the
 *     whole batch on a short line, so nothing changes), insert the order, its items and the payment, and
 *     remove the purchased cart lines (and record the `prebook.fulfilled` webhook events of the buyer's
 *     fulfilled pre-bookings, when an endpoint subscribes). If it aborts, the authorization is voided: nobody pays for copies
 *     they did not get, nobody pays twice for one cart, and no copy is sold twice;
 *  4. capture the authorization (the handler records it after the response).
 *
 * Idempotency: one order per (user, key), enforced by a unique index inside the batch, so two concurrent
 * requests with the same key produce one order; the loser voids its authorization and returns the winner's.
 * Without a key, the cart check of step 3 does the same for one cart: whichever batch commits first buys
 * it, the others find it consumed. Authorization comes before the check (it must be known to hold before
 * anything commits), so a loser may hold an authorization for a moment, but only the winner's is captured.
 */
import { and, eq, lte, type SQL, sql } from "drizzle-orm";
import { checkoutAttempts, type OrderStatus, orders } from "../../db/schema.ts";
import { batch, namedGroup, rawQuery } from "../../lib/batch.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, constraintViolation, describeError, rateLimited } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";
import { formatCents } from "../../lib/money.ts";
import { hashToken } from "../../lib/tokens.ts";
import { NOTHING, type Outcome, outcomeOf } from "../allocation/outcome.ts";
import type { CartLine } from "../cart/cart.schemas.ts";
import { cartIsBuyable, cartLines } from "../cart/cart.service.ts";
import { eventIdsOf, prebookFulfilledEvents } from "../webhooks/webhook-events.ts";
import type { OrderView } from "./orders.schemas.ts";
import { newestOrderOf, orderColumns, selectOrders } from "./orders.service.ts";
import type { Authorization, PaymentProvider } from "./payment.ts";

export interface CheckoutResult {
	order: OrderView;
	/** The order was made earlier by a request with the same Idempotency-Key. */
	replayed: boolean;
	/** The payment was captured: record it (after the response, see `markPaymentCaptured`). */
	captured: boolean;
	/**
	 * What the world must hear of: the webhook events the order's batch recorded and, when it sold, its
	 * books (their stock changed: cached catalog entries go). Nothing for a replay or a decline.
	 */
	outcome: Outcome;
}

/** A confirmed order's outcome: its events, and its books' catalog entries. */
const soldOutcome = (order: OrderView, webhookEventIds: number[]) =>
	outcomeOf({
		webhookEventIds,
		catalogBookIds: order.items.flatMap((item) => (item.bookId === null ? [] : [item.bookId])),
	});

const keyReused = () =>
	new AppError(
		"IDEMPOTENCY_KEY_REUSED",
		"This Idempotency-Key was already used for a checkout with another payment_token",
		"payment_token",
	);

/** The cart is no longer the one priced: it changed between the read and the batch. */
const cartChanged = () =>
	new AppError(
		"CART_CHANGED",
		"Your cart changed while the order was being placed; nothing was charged. Review it and check out again",
		null,
	);

const cartEmpty = () => new AppError("CART_EMPTY", "Your cart is empty", null);

const insufficientStock = (line: Pick<CartLine, "bookId" | "bookTitle" | "availableQuantity">) =>
	new AppError(
		"INSUFFICIENT_STOCK",
		line.availableQuantity === 0
			? `"${line.bookTitle}" is out of stock`
			: `Only ${line.availableQuantity} of "${line.bookTitle}" left`,
		`book_id:${line.bookId}`,
	);

/** The throttle (API.md: checkout cannot be used to test stolen cards), per user and window. */
const CHECKOUT_WINDOW_MS = 15 * 60 * 1000;
export const MAX_CHECKOUT_ATTEMPTS = 10;
export const MAX_DECLINED_CHECKOUTS = 3;
/**
 * How long an attempt whose payment has not answered counts as a possible decline: longer than a checkout
 * runs (authorize + one batch), short enough that a request that died mid-way blocks nobody for long.
 */
const PENDING_ATTEMPT_MS = 60 * 1000;

const checkoutWindowStart = (now: Date) => new Date(now.getTime() - CHECKOUT_WINDOW_MS).toISOString();

/** How long checkout waits for the provider's authorization: well inside PENDING_ATTEMPT_MS. */
const AUTHORIZE_TIMEOUT_MS = 20 * 1000;

/** `authorize` with its abort signal, given up after AUTHORIZE_TIMEOUT_MS even if the provider ignores it. */
function authorizeInTime(
	payments: PaymentProvider,
	input: { token: string; amountCents: number; description: string },
): Promise<Authorization> {
	const signal = AbortSignal.timeout(AUTHORIZE_TIMEOUT_MS);
	const timedOut = new Promise<never>((_, reject) =>
		signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
	);
	return Promise.race([payments.authorize({ ...input, signal }), timedOut]);
}

interface ThrottleState {
	retried: number;
	attempts: number;
	oldest_attempt: string | null;
	declines: number;
	oldest_decline: string | null;
	may_decline: number;
	oldest_pending: string | null;
}

/** 429 for a refused attempt slot; Retry-After is when every limit it hit has a free slot again. */
function checkoutThrottled(started: Date, state: ThrottleState | undefined) {
	const at = (iso: string | null, after: number) => (iso ? Date.parse(iso) + after : started.getTime());
	const freeAt = [started.getTime()];
	if (state && state.attempts >= MAX_CHECKOUT_ATTEMPTS)
		freeAt.push(at(state.oldest_attempt, CHECKOUT_WINDOW_MS));
	if (state && state.declines >= MAX_DECLINED_CHECKOUTS)
		freeAt.push(at(state.oldest_decline, CHECKOUT_WINDOW_MS));
	// Possible declines still waiting for the provider: their answers come within PENDING_ATTEMPT_MS.
	else if (state && state.may_decline >= MAX_DECLINED_CHECKOUTS)
		freeAt.push(at(state.oldest_pending, PENDING_ATTEMPT_MS));
	return rateLimited("Too many checkout attempts; try again later", Math.max(...freeAt), started.getTime());
}

/**
 * One checkout request: who buys, with which Idempotency-Key and card (`fingerprint`, a hash of the payment
 * token), from when — and, as SQL, the attempt rows that count for it.
 */
interface Purchase {
	userId: number;
	idempotencyKey: string | undefined;
	fingerprint: string;
	started: Date;
	/** This request's earlier try (same key and card) within the window. */
	sameRequest: SQL;
	/** The buyer's attempts within the window. */
	recent: SQL;
	/**
	 * Declined, or not answered yet (and recent enough to be still running): parallel checkouts each count
	 * the others in flight, so at most MAX_DECLINED_CHECKOUTS payments can decline, however many race.
	 */
	mayDecline: SQL;
}

async function purchaseOf(
	userId: number,
	options: { paymentToken?: string; idempotencyKey?: string },
): Promise<Purchase> {
	const { idempotencyKey } = options;
	const fingerprint = await hashToken(options.paymentToken ?? "");
	const started = new Date();
	const windowStart = checkoutWindowStart(started);
	const recent = sql`user_id = ${userId} AND attempted_at > ${windowStart}`;
	return {
		userId,
		idempotencyKey,
		fingerprint,
		started,
		sameRequest: sql`user_id = ${userId} AND idempotency_key = ${idempotencyKey ?? null}
			AND request_fingerprint = ${fingerprint} AND attempted_at > ${windowStart}`,
		recent,
		mayDecline: sql`${recent} AND (declined = 1
			OR (pending = 1 AND attempted_at > ${new Date(started.getTime() - PENDING_ATTEMPT_MS).toISOString()}))`,
	};
}

/** This request's attempt: the slot it reserved, or the one its first try reserved (a retry). */
const thisAttempt = (purchase: Purchase, attemptId: number | undefined) =>
	sql`id = ${attemptId ?? null} OR (${attemptId ?? null} IS NULL AND ${purchase.sameRequest})`;

/** The attempt's payment was answered (or never will be): it is no possible decline any more. */
const settleAttempt = (purchase: Purchase, attemptId: number | undefined) =>
	rawQuery(sql`UPDATE checkout_attempts SET pending = 0 WHERE ${thisAttempt(purchase, attemptId)}`);

/**
 * Round trip 1: the order already made with this key (a replay), the cart, and an attempt slot. The slot
 * is reserved by a conditional INSERT, so parallel requests cannot overshoot the throttle; a retry of the
 * same purchase (same key and card) reuses its slot. A replay (or a reused key) of an order already made,
 * and a cart that is empty or short, reserve nothing: no payment will be tried for them.
 */
function reserveAttempt(db: Db, purchase: Purchase) {
	const { userId, idempotencyKey, fingerprint, started, sameRequest, recent, mayDecline } = purchase;
	return batch(db, {
		previous: db
			.select({ order: orderColumns(), fingerprint: orders.requestFingerprint })
			.from(orders)
			.where(and(eq(orders.userId, userId), eq(orders.idempotencyKey, idempotencyKey ?? "")))
			.limit(1),
		lines: cartLines(db, userId),
		reserved: rawQuery<{ id: number }>(sql`INSERT INTO checkout_attempts
				(user_id, attempted_at, idempotency_key, request_fingerprint, pending)
			SELECT ${userId}, ${started.toISOString()}, ${idempotencyKey ?? null}, ${fingerprint}, 1
			WHERE NOT EXISTS (SELECT 1 FROM checkout_attempts WHERE ${sameRequest})
				AND NOT EXISTS (SELECT 1 FROM orders WHERE user_id = ${userId} AND idempotency_key = ${idempotencyKey ?? null})
				AND ${cartIsBuyable(userId)}
				AND (SELECT count(*) FROM checkout_attempts WHERE ${recent}) < ${MAX_CHECKOUT_ATTEMPTS}
				AND (SELECT count(*) FROM checkout_attempts WHERE ${mayDecline}) < ${MAX_DECLINED_CHECKOUTS}
			RETURNING id`),
		// When refused: how full each limit is and since when, to say when a slot frees up.
		throttle: rawQuery<ThrottleState>(sql`SELECT
				EXISTS (SELECT 1 FROM checkout_attempts WHERE ${sameRequest}) AS retried,
				(SELECT count(*) FROM checkout_attempts WHERE ${recent}) AS attempts,
				(SELECT min(attempted_at) FROM checkout_attempts WHERE ${recent}) AS oldest_attempt,
				(SELECT count(*) FROM checkout_attempts WHERE ${recent} AND declined = 1) AS declines,
				(SELECT min(attempted_at) FROM checkout_attempts WHERE ${recent} AND declined = 1) AS oldest_decline,
				(SELECT count(*) FROM checkout_attempts WHERE ${mayDecline}) AS may_decline,
				(SELECT min(attempted_at) FROM checkout_attempts WHERE ${mayDecline} AND declined = 0) AS oldest_pending`),
	});
}

/**
 * Round trip 2, one batch: a declined payment's `payment_failed` order (stock and cart untouched), or the
 * confirmed order — the cart checked to be still the priced lines, the stock taken, the buyer's pre-bookings
 * fulfilled, the payment recorded, the lines removed. Throws what D1 threw when the batch aborted.
 */
async function commitOrder(
	db: Db,
	payments: PaymentProvider,
	purchase: Purchase,
	attemptId: number | undefined,
	lines: CartLine[],
	totalCents: number,
	authorization: Authorization,
): Promise<{ order: OrderView; webhookEventIds: number[] }> {
	const { userId, idempotencyKey, fingerprint } = purchase;
	const now = new Date().toISOString();
	const orderItems = JSON.stringify(
		lines.map((line) => ({
			book_id: line.bookId,
			title: line.bookTitle,
			price: line.unitPriceCents,
			quantity: line.quantity,
		})),
	);
	// The order goes first: a concurrent request with the same Idempotency-Key fails on the unique index
	// before anything else, so it answers with the winner's order instead of a stock error.
	const newOrder = (status: OrderStatus) =>
		namedGroup({
			order:
				rawQuery(sql`INSERT INTO orders (user_id, status, total_cents, idempotency_key, request_fingerprint, created_at)
			VALUES (${userId}, ${status}, ${totalCents}, ${idempotencyKey ?? null}, ${fingerprint}, ${now})`),
			items: rawQuery(sql`INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity)
			SELECT ${newestOrderOf(userId)},
				value ->> 'book_id', value ->> 'title', value ->> 'price', value ->> 'quantity'
			FROM json_each(${orderItems})`),
		});
	const payment = (status: "authorized" | "declined", reference: string | null) =>
		rawQuery(sql`INSERT INTO payments (order_id, provider, status, reference, amount_cents, created_at, updated_at)
			VALUES (${newestOrderOf(userId)}, ${payments.name}, ${status}, ${reference}, ${totalCents}, ${now}, ${now})`);
	const readBack = selectOrders(db, eq(orders.id, newestOrderOf(userId)), 1);

	if (!authorization.approved) {
		const { declined } = await batch(db, {
			order: newOrder("payment_failed"),
			payment: payment("declined", null),
			declined: readBack,
			// Declines are throttled more tightly than attempts; a retry's decline marks its first attempt.
			attemptDeclined: rawQuery(
				sql`UPDATE checkout_attempts SET declined = 1, pending = 0 WHERE ${thisAttempt(purchase, attemptId)}`,
			),
		});
		logEvent("info", "checkout_payment_declined", { user_id: userId, reason: authorization.reason });
		if (!declined[0]) throw new Error("checkout: the declined order was not read back");
		return { order: declined[0], webhookEventIds: [] };
	}
	// The cart must still be exactly the priced lines (same lines, same quantities, none added). Else this
	// statement breaks `carts.user_id`'s NOT NULL and the whole batch rolls back (SQLite's RAISE exists only
	// in triggers): of two checkouts of one cart, only the first to commit buys it.
	const priced = JSON.stringify(lines.map((line) => ({ id: line.id, quantity: line.quantity })));
	const cartIsStillPriced = rawQuery(sql`UPDATE carts SET user_id = NULL WHERE user_id = ${userId}
		AND NOT ((SELECT count(*) FROM cart_items WHERE cart_id = carts.id) = ${lines.length}
			AND (SELECT count(*) FROM cart_items JOIN json_each(${priced}) AS p
				ON cart_items.id = p.value ->> 'id' AND cart_items.quantity = p.value ->> 'quantity'
				WHERE cart_items.cart_id = carts.id) = ${lines.length})`);
	const { fulfilledEvents, confirmed } = await batch(db, {
		order: newOrder("confirmed"),
		// After the order: a concurrent request with the same key still answers with the winner's order.
		cartIsStillPriced,
		// The buyer's held copy (hold_queue) comes out of held_quantity, the rest out of the available
		// copies; the triggers of migrations/0021 abort the batch if that would take a copy held for
		// someone else (held_quantity > stock_quantity) or the stock below 0.
		stock: rawQuery(sql`UPDATE books SET stock_quantity = stock_quantity - (j.value ->> 'quantity'),
			held_quantity = held_quantity - min(j.value ->> 'quantity', (SELECT count(*) FROM pre_bookings AS held
				WHERE held.user_id = ${userId} AND held.book_id = books.id AND held.status = 'offered')),
			updated_at = ${now}
			FROM json_each(${orderItems}) AS j
			WHERE books.id = j.value ->> 'book_id'`),
		// Rule 6: the buyer's notified or offered pre-booking of each bought book is fulfilled (after the
		// statement above has counted the held copy).
		fulfilled: rawQuery(sql`UPDATE pre_bookings SET status = 'fulfilled', fulfilled_at = ${now}
			WHERE user_id = ${userId} AND status IN ('notified', 'offered')
				AND book_id IN (SELECT value ->> 'book_id' FROM json_each(${orderItems}))`),
		fulfilledEvents: prebookFulfilledEvents(userId, orderItems, newestOrderOf(userId), now),
		payment: payment("authorized", authorization.reference),
		boughtLines: rawQuery(
			sql`DELETE FROM cart_items WHERE id IN (SELECT value FROM json_each(${JSON.stringify(lines.map((l) => l.id))}))`,
		),
		confirmed: readBack,
		// Approved: no longer a possible decline.
		attemptSettled: settleAttempt(purchase, attemptId),
	});
	const order = confirmed[0];
	if (!order) throw new Error("checkout: the confirmed order was not read back");
	return { order, webhookEventIds: eventIdsOf(fulfilledEvents) };
}

/**
 * The order batch rolled back (its authorization already voided): the answer the abort means — the
 * winner's order for a concurrent request with the same key, 409 for a cart bought or changed meanwhile or
 * a copy gone — read in one round trip that also settles the attempt. Anything else is rethrown.
 */
async function answerAbortedOrder(
	db: Db,
	purchase: Purchase,
	attemptId: number | undefined,
	err: unknown,
): Promise<CheckoutResult> {
	const { userId, idempotencyKey, fingerprint } = purchase;
	const violation = constraintViolation(err);
	const settled = settleAttempt(purchase, attemptId);
	if (violation?.kind === "unique" && idempotencyKey) {
		// A concurrent request with the same key made the order: answer with it.
		const { winners } = await batch(db, {
			settled,
			winners: db
				.select({ order: orderColumns(), fingerprint: orders.requestFingerprint })
				.from(orders)
				.where(and(eq(orders.userId, userId), eq(orders.idempotencyKey, idempotencyKey))),
		});
		const winner = winners[0];
		if (winner && winner.fingerprint !== fingerprint) throw keyReused();
		if (winner) return { order: winner.order, replayed: true, captured: false, outcome: NOTHING };
	}
	if (violation?.kind === "not_null" && violation.target === "carts.user_id") {
		// Another checkout bought the cart (or the buyer changed it) between the read and the batch.
		const { current } = await batch(db, { settled, current: cartLines(db, userId) });
		throw current.length === 0 ? cartEmpty() : cartChanged();
	}
	if (violation?.kind === "check" || violation?.kind === "foreign_key") {
		// Another buyer took the last copies (or the book was removed) between the read and the batch.
		const { current } = await batch(db, { settled, current: cartLines(db, userId) });
		const short = current.find((line) => line.quantity > line.availableQuantity);
		throw short
			? insufficientStock(short)
			: new AppError("INSUFFICIENT_STOCK", "A book in your cart is gone", null);
	}
	throw err;
}

export async function checkout(
	db: Db,
	payments: PaymentProvider,
	userId: number,
	options: { paymentToken?: string; idempotencyKey?: string },
): Promise<CheckoutResult> {
	const purchase = await purchaseOf(userId, options);
	const { previous, lines, reserved, throttle } = await reserveAttempt(db, purchase);
	const earlier = previous[0];
	if (earlier) {
		if (earlier.fingerprint !== null && earlier.fingerprint !== purchase.fingerprint) throw keyReused();
		return { order: earlier.order, replayed: true, captured: false, outcome: NOTHING };
	}

	if (lines.length === 0) throw cartEmpty();
	// A line already short needs no payment attempt (none was reserved); the batch re-checks meanwhile.
	const short = lines.find((line) => line.quantity > line.availableQuantity);
	if (short) throw insufficientStock(short);
	const attemptId = reserved[0]?.id;
	if (attemptId === undefined && !throttle[0]?.retried)
		throw checkoutThrottled(purchase.started, throttle[0]);

	const totalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
	const authorization = await authorizeInTime(payments, {
		token: options.paymentToken ?? "tok_default",
		amountCents: totalCents,
		description: `Bookstore order of ${lines.length} line(s), ${formatCents(totalCents)}`,
	}).catch(async (err: unknown) => {
		// No answer (an outage, or none within the timeout): nothing was ordered or charged, and it is no
		// decline — the attempt is settled (it still counts towards the 10 attempts).
		logEvent("error", "checkout_payment_unavailable", { user_id: userId, error: describeError(err) });
		await batch(db, { settled: settleAttempt(purchase, attemptId) });
		throw new AppError(
			"SERVICE_UNAVAILABLE",
			"The payment provider did not answer; nothing was charged",
			null,
			{
				headers: { "Retry-After": "30" },
			},
		);
	});

	let committed: { order: OrderView; webhookEventIds: number[] };
	try {
		committed = await commitOrder(db, payments, purchase, attemptId, lines, totalCents, authorization);
	} catch (err) {
		// Nobody pays for copies they did not get, nor twice for one cart.
		if (authorization.approved) await payments.void(authorization.reference);
		return answerAbortedOrder(db, purchase, attemptId, err);
	}
	const { order, webhookEventIds } = committed;
	if (!authorization.approved) return { order, replayed: false, captured: false, outcome: NOTHING };
	// The order is committed; only now is the money taken. A capture that fails leaves the payment
	// `authorized` for reconciliation, never an unpaid order silently undone.
	try {
		await payments.capture(authorization.reference);
	} catch (err) {
		logEvent("error", "checkout_capture_failed", {
			order_id: order.id,
			error: err instanceof Error ? err.name : typeof err,
		});
		return { order, replayed: false, captured: false, outcome: soldOutcome(order, webhookEventIds) };
	}
	return { order, replayed: false, captured: true, outcome: soldOutcome(order, webhookEventIds) };
}

/** Cron: attempts older than the window no longer count. */
export async function purgeExpiredCheckoutAttempts(db: Db, now: Date): Promise<void> {
	await db.delete(checkoutAttempts).where(lte(checkoutAttempts.attemptedAt, checkoutWindowStart(now)));
}
