/**
 * Email-first sign-up with the typed client: ask for the link, then finish with the token from it (a
 * storefront serving its own page at APP_URL/signup reads `?token=` and calls `finishSignUp`).
 */
import type { AppType } from "bookstore-edge-api/client";
import { hc } from "hono/client";

const api = hc<AppType>("https://bookstore.example");

/** Always "check your inbox": the answer is the same whether or not the address has an account. */
export async function askToSignUp(email: string): Promise<string> {
	const res = await api.auth.register.$post({ json: { email } });
	if (res.status === 202) return `We sent a link to ${email}: follow it to choose your password`;
	if (res.status === 429) return "Too many attempts from here; try again in a minute";
	const error = await res.json();
	return `Unexpected ${res.status} ${error.code}: ${error.detail}`;
}

/** The account exists from here on, signed in: keep the tokens. */
export async function finishSignUp(token: string, password: string, fullName?: string) {
	const res = await api.auth.register.complete.$post({ json: { token, password, full_name: fullName } });
	if (res.status === 201) {
		const { access_token, refresh_token, user } = await res.json();
		return { signedIn: true as const, accessToken: access_token, refreshToken: refresh_token, user };
	}
	if (res.status === 400) {
		// `code` is AUTH_INVALID_TOKEN (the link is unknown, used or expired, or the address completed a
		// sign-up meanwhile) or MALFORMED_BODY.
		const error = await res.json();
		return { signedIn: false as const, reason: `${error.code}: ${error.detail}. Ask for a new link.` };
	}
	const error = await res.json();
	return { signedIn: false as const, reason: `${res.status} ${error.code}: ${error.detail}` };
}

/** A reset ends every session: sign in again afterwards. */
export async function resetPassword(token: string, password: string): Promise<string> {
	const res = await api.auth.password.reset.$post({ json: { token, password } });
	if (res.status === 204) return "Your password is changed: sign in again";
	const error = await res.json();
	return `${res.status} ${error.code}: ${error.detail}`;
}
