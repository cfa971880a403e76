import { z } from "@hono/zod-openapi";
import { singleLineText } from "../../lib/text.ts";
import { emailInput, UserSchema } from "../users/users.schemas.ts";

const password = z
	.string()
	.min(8, "password must be 8 to 128 characters")
	.max(128, "password must be 8 to 128 characters")
	.openapi({ example: "correct horse battery" });

export const RegisterBody = z
	.object({ email: emailInput })
	.openapi("RegisterRequest", { example: { email: "new.reader@example.com" } });

/** An emailed link's token (finish sign-up, reset password, guest confirmation). */
const linkToken = z.string().min(1).max(512);

/** The fields a sign-up's page asks for (its form), also in the JSON body. */
export const SignUpFields = z.object({
	password,
	full_name: singleLineText("full_name", { max: 255 }).nullish(),
});

export const CompleteSignUpBody = z
	.object({ token: linkToken, ...SignUpFields.shape })
	.openapi("CompleteSignUpRequest");

export const ForgotPasswordBody = z
	.object({ email: emailInput })
	.openapi("ForgotPasswordRequest", { example: { email: "reader@bookstore.local" } });

export const ResetPasswordFields = z.object({ password });

export const ResetPasswordBody = z
	.object({ token: linkToken, ...ResetPasswordFields.shape })
	.openapi("ResetPasswordRequest");

/** The example is the local demo reader that `npm run dev` seeds, so "Try it out" on /docs logs in at once. */
export const LoginBody = z
	.object({ email: emailInput, password: z.string().min(1).max(128) })
	.openapi("LoginRequest", {
		example: { email: "reader@bookstore.local", password: "reader-password-local" },
		description:
			"The example is the demo reader of a local `npm run dev` (admin: admin@bookstore.local / admin-password-local)",
	});

export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(512) }).openapi("RefreshRequest");

export const TokenPairSchema = z
	.object({
		access_token: z.string(),
		refresh_token: z.string(),
		token_type: z.literal("bearer"),
		expires_in: z.number().int().openapi({ description: "Access token lifetime in seconds", example: 900 }),
	})
	.openapi("TokenPair");

export type TokenPair = z.infer<typeof TokenPairSchema>;

export const SignedUpSchema = TokenPairSchema.extend({ user: UserSchema }).openapi("SignedUp");

export const VerificationSentSchema = z
	.object({ status: z.literal("verification_sent") })
	.openapi("VerificationSent");

export const ResetSentSchema = z.object({ status: z.literal("reset_sent") }).openapi("ResetSent");

/** A page's link: `?token=…`. Not checked here: a missing or unknown one gets the page that says so. */
export const PageQuery = z.object({
	token: z
		.string()
		.optional()
		.openapi({
			param: { name: "token", in: "query" },
			description: "The token of the emailed link",
		}),
});
