import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../src/app";
import { api } from "./helpers";

/** Every URL the docs page loads: src/href attributes, and the document named in data-url. */
function pageUrls(html: string): string[] {
	return [...html.matchAll(/\b(?:src|href|data-url)="([^"]*)"/g)].map((match) => match[1] as string);
}

/** A static file as the platform serves it: the assets come before the Worker (wrangler.toml [assets]). */
const asset = (path: string) => env.ASSETS.fetch(new Request(`https://api.test${path}`));

describe("/docs works offline", () => {
	it("loads only same-origin files", async () => {
		const res = await api("GET", "/docs");
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toContain("text/html");
		const urls = pageUrls(String(res.body));
		expect(urls).toEqual(
			expect.arrayContaining(["/openapi.json", "/docs/swagger-ui/swagger-ui-bundle.js", "/docs/docs.js"]),
		);
		for (const url of urls) expect(url, url).toMatch(/^\/(?!\/)/);
	});

	it("serves every file the page loads from the static assets", async () => {
		const page = await api("GET", "/docs");
		const types = { js: "javascript", css: "text/css", png: "image/png" } as const;
		for (const url of pageUrls(String(page.body)).filter((url) => url !== "/openapi.json")) {
			const res = await asset(url);
			expect(res.status, url).toBe(200);
			const extension = url.split(".").pop() as keyof typeof types;
			expect(res.headers.get("Content-Type"), url).toContain(types[extension]);
			await res.arrayBuffer();
		}
		const bundle = await asset("/docs/swagger-ui/swagger-ui-bundle.js");
		expect(await bundle.text()).toContain("SwaggerUIBundle");
		const document = await api("GET", "/openapi.json");
		expect(document.status).toBe(200);
	});

	it("leaves /docs and / to the Worker (no static file shadows them)", async () => {
		for (const path of ["/docs", "/"]) {
			const res = await asset(path);
			expect(res.status, path).toBe(404);
			await res.arrayBuffer();
		}
	});

	it("allows scripts, styles and requests from its own origin only (Content-Security-Policy)", async () => {
		const res = await api("GET", "/docs");
		const policy = res.headers.get("Content-Security-Policy") ?? "";
		const directives = Object.fromEntries(
			policy.split(";").map((directive) => {
				const [name = "", ...values] = directive.trim().split(/\s+/);
				return [name, values];
			}),
		);
		expect(directives["default-src"]).toEqual(["'none'"]);
		expect(directives["script-src"]).toEqual(["'self'"]);
		expect(directives["style-src"]).toEqual(["'self'"]);
		expect(directives["connect-src"]).toEqual(["'self'"]);
		expect(directives["img-src"]).toEqual(["'self'", "data:"]);
		expect(directives["frame-ancestors"]).toEqual(["'none'"]);
		expect(policy).not.toMatch(/https?:|cdn|\*/i);
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
	});

	it("serves the static files with the Worker's security headers (public/_headers)", async () => {
		// The headers the Worker's secureHeaders middleware puts on every response it makes.
		const worker = await api("GET", "/openapi.json");
		const security = [
			"Cross-Origin-Opener-Policy",
			"Cross-Origin-Resource-Policy",
			"Origin-Agent-Cluster",
			"Referrer-Policy",
			"Strict-Transport-Security",
			"X-Content-Type-Options",
			"X-DNS-Prefetch-Control",
			"X-Download-Options",
			"X-Frame-Options",
			"X-Permitted-Cross-Domain-Policies",
			"X-XSS-Protection",
		];
		for (const path of [
			"/docs/swagger-ui/swagger-ui-bundle.js",
			"/docs/swagger-ui/swagger-ui.css",
			"/docs/swagger-ui/favicon-32x32.png",
			"/docs/docs.js",
		]) {
			const res = await asset(path);
			expect(res.status, path).toBe(200);
			for (const name of security) {
				expect(worker.headers.get(name), name).not.toBeNull();
				expect(res.headers.get(name), `${path} ${name}`).toBe(worker.headers.get(name));
			}
			const policy = res.headers.get("Content-Security-Policy") ?? "";
			expect(policy, path).toContain("default-src 'none'");
			expect(policy, path).toContain("frame-ancestors 'none'");
			await res.arrayBuffer();
		}
		// The rules file itself is not an asset.
		const rules = await asset("/_headers");
		expect(rules.status).toBe(404);
		await rules.arrayBuffer();
	});

	it("redirects / to /docs", async () => {
		// Not followed: a fetch through the Worker's own entrypoint would follow it to /docs.
		const res = await exports.default.fetch(new Request("https://api.test/", { redirect: "manual" }));
		expect(res.status).toBe(302);
		expect(res.headers.get("Location")).toBe("/docs");
	});

	it("answers /docs, /openapi.json and / without JWT_SECRET; the rest still refuses", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const { JWT_SECRET: _secret, ...withoutSecret } = { ...env };
		try {
			const docs = await app.request("/docs", {}, withoutSecret);
			expect(docs.status).toBe(200);
			expect(await docs.text()).toContain("swagger-ui-bundle.js");
			const document = await app.request("/openapi.json", {}, withoutSecret);
			expect(document.status).toBe(200);
			expect(((await document.json()) as { openapi: string }).openapi).toBe("3.1.0");
			const root = await app.request("/", {}, withoutSecret);
			expect({ status: root.status, location: root.headers.get("Location") }).toEqual({
				status: 302,
				location: "/docs",
			});
			expect((await app.request("/books", {}, withoutSecret)).status).toBe(500);
			expect((await app.request("/health", {}, withoutSecret)).status).toBe(503);
		} finally {
			errors.mockRestore();
		}
	});
});
