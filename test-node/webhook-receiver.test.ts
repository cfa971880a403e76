/**
 * scripts/webhook-receiver.ts as docs/webhooks.md runs it: started in the background of an interactive
 * shell (`WEBHOOK_SECRETS=… npm run webhook:receive -- <port> &`), it must keep answering — a process that
 * reads the terminal there is stopped by the shell (SIGTTIN). And it verifies what it prints.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const SECRET = `whsec_${Buffer.from("a local receiver's test secret, 32+ bytes").toString("base64")}`;
const OTHER = `whsec_${Buffer.from("a second secret, as during a rotation!!").toString("base64")}`;

async function freePort(): Promise<number> {
	const server = createServer().listen(0, "127.0.0.1");
	await new Promise((resolve) => server.once("listening", resolve));
	const { port } = server.address() as { port: number };
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** A signed delivery of `type`, as the Worker sends it. */
function post(port: number, secret: string, type: string) {
	const id = `evt_${Math.floor(Math.random() * 1e9)}`;
	const body = JSON.stringify({ type, timestamp: new Date().toISOString(), data: { book_id: 7 } });
	const headers = new Webhook(secret).sign(id, new Date(), body);
	return fetch(`http://127.0.0.1:${port}/hooks`, {
		method: "POST",
		headers: {
			"webhook-id": id,
			"webhook-timestamp": String(Math.floor(Date.now() / 1000)),
			"webhook-signature": headers,
			"content-type": "application/json",
		},
		body,
	});
}

async function until<T>(check: () => T | undefined, ms = 15_000): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error("timed out");
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

describe("npm run webhook:receive", () => {
	const started: ChildProcess[] = [];
	const dir = mkdtempSync(join(tmpdir(), "webhook-receiver-"));
	afterAll(() => {
		for (const child of started) child.kill();
		rmSync(dir, { recursive: true, force: true });
	});

	it("verifies each delivery against WEBHOOK_SECRETS and secrets piped in while it runs", async () => {
		const port = await freePort();
		const receiver = spawn(process.execPath, ["scripts/webhook-receiver.ts", String(port)], {
			cwd: ROOT,
			env: { ...process.env, WEBHOOK_SECRETS: SECRET },
			stdio: ["pipe", "pipe", "inherit"],
		});
		started.push(receiver);
		let out = "";
		receiver.stdout?.on("data", (chunk: Buffer) => {
			out += chunk.toString();
		});
		await until(() => (out.includes("Webhook receiver on") ? true : undefined));

		expect((await post(port, SECRET, "restock.created")).status).toBe(200);
		expect((await post(port, OTHER, "prebook.notified")).status).toBe(401);
		receiver.stdin?.write(`${OTHER}\n`);
		// The piped line is read asynchronously: retry until the new secret is in.
		let status = 0;
		for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
			status = (await post(port, OTHER, "prebook.notified")).status;
			if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
		}
		expect(status).toBe(200);
		const lines = out
			.trim()
			.split("\n")
			.filter((line) => line.startsWith("{"))
			.map((line) => JSON.parse(line) as { type: string | null; verified_by: string[] });
		expect(lines[0]).toMatchObject({ type: "restock.created", verified_by: ["secret 1"] });
		expect(lines[1]).toMatchObject({ type: null, verified_by: [] });
		expect(lines.at(-1)).toMatchObject({ type: "prebook.notified", verified_by: ["secret 2"] });
	});

	// A real terminal with job control: util-linux `script` gives bash one. Without it (macOS' `script`
	// takes other arguments), this one test cannot be run here and says so.
	const hasScript = spawnSync("script", ["-qfec", "true", "/dev/null"]).status === 0;
	it.skipIf(!hasScript)(
		"keeps answering when started in the background of an interactive shell, as the docs do",
		async () => {
			const port = await freePort();
			const shell = join(dir, "docs.sh");
			writeFileSync(
				shell,
				[
					`cd ${JSON.stringify(ROOT)}`,
					`WEBHOOK_SECRETS=${SECRET} npm run webhook:receive -- ${port} &`,
					// What an interactive shell does while the user types the next commands.
					"sleep 4",
					`curl -s -o /dev/null -w 'answered %{http_code}\\n' --max-time 5 -X POST http://127.0.0.1:${port}/hooks -d '{}'`,
					"jobs -l",
					"kill %1",
					"exit",
				].join("\n"),
			);
			const run = spawnSync("script", ["-qfec", `bash --norc --noprofile -i ${shell}`, "/dev/null"], {
				encoding: "utf8",
				timeout: 60_000,
			});
			expect(run.stdout).toContain("answered 401");
			expect(run.stdout).not.toMatch(/Stopped/);
			expect(run.stdout).toMatch(/Running\s+WEBHOOK_SECRETS=/);
		},
		60_000,
	);
});
