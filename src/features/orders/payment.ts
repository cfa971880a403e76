/**
 * Payment behind a small provider interface: authorize (hold the amount), then capture or void.
 *
 * Checkout authorizes before the stock batch and captures only after it committed, so a declined payment
 * never touches stock and an approved one is only taken for copies the batch actually reserved (a short
 * line voids the authorization). Providers are selected by the `PAYMENT_PROVIDER` variable.
 */
import type { PaymentProviderName } from "../../lib/config.ts";

export type Authorization = { approved: true; reference: string } | { approved: false; reason: string };

export interface PaymentProvider {
	readonly name: string;
	/**
	 * `signal` aborts after AUTHORIZE_TIMEOUT_MS: give up then (checkout answers 503 and counts no decline).
	 * An approval that arrives later is never captured; providers release uncaptured authorizations.
	 */
	authorize(input: {
		token: string;
		amountCents: number;
		description: string;
		signal: AbortSignal;
	}): Promise<Authorization>;
	capture(reference: string): Promise<void>;
	void(reference: string): Promise<void>;
}

const DECLINED_TEST_TOKEN = "tok_fail";

/**
 * The built-in test provider: approves everything except the token `tok_fail`. It moves no money; a real
 * provider implements the same three calls.
 */
export const testPaymentProvider: PaymentProvider = {
	name: "test",
	async authorize({ token }) {
		if (token === DECLINED_TEST_TOKEN) return { approved: false, reason: "card_declined" };
		return { approved: true, reference: `test_auth_${crypto.randomUUID()}` };
	},
	async capture() {},
	async void() {},
};

/** Every provider the Worker ships, by the name `PAYMENT_PROVIDER` selects (validated in lib/config.ts). */
export const paymentProviders: Record<PaymentProviderName, PaymentProvider> = { test: testPaymentProvider };
