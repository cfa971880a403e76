/**
 * The documented error codes are the real ones: every error answer a test sees must be one of its
 * operation's documented statuses, with its `code` in that response's enum (src/lib/openapi.ts
 * `errorResponses`). Checked inside `fetchWorker`, so every test enforces it; requests to no route at all
 * (404 NOT_FOUND) are not an operation's and are skipped.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";

interface DocumentedOperation {
	method: string;
	path: string;
	pattern: RegExp;
	/** Status → the codes of its JSON error body (undefined: a status without an error envelope). */
	responses: Map<string, string[] | undefined>;
}

type DocResponse = {
	content?: Record<string, { schema?: { allOf?: { properties?: { code?: { enum?: string[] } } }[] } }>;
};

let operations: Promise<DocumentedOperation[]> | undefined;

async function loadOperations(): Promise<DocumentedOperation[]> {
	const ctx = createExecutionContext();
	const res = await worker.fetch(new Request("https://api.test/openapi.json"), env, ctx);
	await waitOnExecutionContext(ctx);
	const doc = (await res.json()) as {
		paths: Record<string, Record<string, { responses: Record<string, DocResponse> }>>;
	};
	return (
		Object.entries(doc.paths)
			.flatMap(([path, ops]) =>
				Object.entries(ops).map(([method, op]) => ({
					method: method.toUpperCase(),
					path,
					pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
					responses: new Map(
						Object.entries(op.responses).map(([status, response]) => [
							status,
							response.content?.["application/json"]?.schema?.allOf?.find((part) => part.properties?.code)
								?.properties?.code?.enum,
						]),
					),
				})),
			)
			// Literal paths first: /prebooks/guest before /prebooks/{id}.
			.sort((a, b) => a.path.split("{").length - b.path.split("{").length)
	);
}

export async function expectDocumentedError(method: string, url: string, res: Response): Promise<void> {
	if (res.status < 400 || !(res.headers.get("Content-Type") ?? "").includes("application/json")) return;
	operations ??= loadOperations();
	const pathname = new URL(url).pathname;
	const operation = (await operations).find((op) => op.method === method && op.pattern.test(pathname));
	if (!operation) return;
	const { code } = (await res.clone().json()) as { code?: string };
	const where = `${method} ${operation.path} answered ${res.status} ${code}`;
	expect([...operation.responses.keys()], `${where}: status not documented`).toContain(String(res.status));
	expect(operation.responses.get(String(res.status)), `${where}: code not documented`).toContain(code);
}
