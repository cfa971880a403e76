/**
 * The words of a validation error. zod's own messages are written for developers ("Too big: expected
 * string to have <=255 characters", "Invalid option: expected one of …"); the contract wants `detail` to
 * say plainly what is wrong with the field ("author must be at most 255 characters"). This module is zod's
 * global `customError` (set once, below), so every schema without a message of its own speaks this way; a
 * schema's or check's own message still wins (zod's order: check, schema, parse call, `customError`, locale).
 *
 * Messages name the field as `errors[].field` does (the path joined with "."); an issue about the whole body
 * (an array sent instead of an object) names "The request body".
 */
import { z } from "@hono/zod-openapi";

type Issue = Parameters<z.core.$ZodErrorMap>[0];

const TYPE_NAMES: Record<string, string> = {
	string: "a string",
	number: "a number",
	int: "an integer",
	bigint: "an integer",
	boolean: "true or false",
	object: "an object",
	record: "an object",
	array: "an array",
	tuple: "an array",
	date: "a date",
	null: "null",
};

const FORMAT_NAMES: Record<string, string> = {
	email: "a valid email address",
	url: "a valid URL",
	uuid: "a valid UUID",
	uuidv4: "a valid UUID",
	uuidv6: "a valid UUID",
	uuidv7: "a valid UUID",
	guid: "a valid UUID",
	date: "a valid date (YYYY-MM-DD)",
	datetime: "an RFC 3339 date-time",
	time: "a valid time (HH:MM:SS)",
	duration: "an ISO 8601 duration",
	ipv4: "an IPv4 address",
	ipv6: "an IPv6 address",
	base64: "base64 text",
	base64url: "base64url text",
	jwt: "a JWT",
};

const typeName = (expected: string) => TYPE_NAMES[expected] ?? `of type ${expected}`;

/** "a, b and c" style lists are ambiguous with values containing spaces; the contract's style is "one of: a, b". */
const listValues = (values: readonly unknown[]) =>
	values
		.map((value) => (typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))))
		.join(", ");

/** What is wrong, without the field's name ("must be at most 255 characters"). */
function problem(issue: Issue): string {
	switch (issue.code) {
		case "invalid_type":
			if (issue.input === undefined) return "is required";
			if (issue.input === null) return `must not be null (it must be ${typeName(issue.expected)})`;
			return `must be ${typeName(issue.expected)}`;
		case "invalid_value": {
			const values = issue.values;
			const sorted = values.map(String).sort();
			if (sorted.length === 2 && sorted[0] === "false" && sorted[1] === "true")
				return "must be true or false";
			if (values.length === 1) return `must be ${listValues(values)}`;
			return `must be one of: ${listValues(values)}`;
		}
		case "too_big": {
			const max = issue.maximum.toString();
			switch (issue.origin) {
				case "string":
					return issue.exact ? `must be exactly ${max} characters` : `must be at most ${max} characters`;
				case "array":
				case "set":
				case "map":
					return issue.exact ? `must have exactly ${max} items` : `must have at most ${max} items`;
				case "file":
					return `must be at most ${max} bytes`;
				default:
					return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
			}
		}
		case "too_small": {
			const min = issue.minimum.toString();
			switch (issue.origin) {
				case "string":
					if (issue.exact) return `must be exactly ${min} characters`;
					return issue.minimum === 1 ? "must not be empty" : `must be at least ${min} characters`;
				case "array":
				case "set":
				case "map":
					if (issue.exact) return `must have exactly ${min} items`;
					return issue.minimum === 1 ? "must not be empty" : `must have at least ${min} items`;
				case "file":
					return `must be at least ${min} bytes`;
				default:
					return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
			}
		}
		case "invalid_format": {
			const format = issue as Issue & { prefix?: string; suffix?: string; includes?: string };
			if (issue.format === "starts_with") return `must start with "${format.prefix}"`;
			if (issue.format === "ends_with") return `must end with "${format.suffix}"`;
			if (issue.format === "includes") return `must contain "${format.includes}"`;
			const name = FORMAT_NAMES[issue.format];
			return name ? `must be ${name}` : "is not in the expected format";
		}
		case "not_multiple_of":
			return `must be a multiple of ${issue.divisor}`;
		case "unrecognized_keys":
			return `has unknown fields: ${listValues(issue.keys)}`;
		case "invalid_union": {
			// Every alternative refused the value's type alone: name the types ("must be a number or a string").
			const types = issue.errors.map((alternative) =>
				alternative.length === 1 &&
				alternative[0]?.code === "invalid_type" &&
				alternative[0].path.length === 0
					? alternative[0].expected
					: null,
			);
			if (issue.input !== undefined && types.length > 0 && types.every((type) => type !== null)) {
				return `must be ${[...new Set(types.map((type) => typeName(type as string)))].join(" or ")}`;
			}
			return issue.input === undefined ? "is required" : "is not valid";
		}
		case "invalid_key":
			return "has an invalid key";
		case "invalid_element":
			return "contains an invalid value";
		default:
			return "is not valid";
	}
}

/** The message of an issue no schema worded: the field's name, then what is wrong with it. */
function validationMessage(issue: Issue): string {
	const field = issue.path?.length ? issue.path.map(String).join(".") : "The request body";
	return `${field} ${problem(issue)}`;
}

z.config({ customError: validationMessage });
