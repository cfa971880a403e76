/**
 * A local webhook receiver, to try the webhooks as an integrator would (docs/webhooks.md, "Try it locally"):
 *
 *   node scripts/webhook-receiver.ts [port]        (port 0 or none: a free one, printed)
 *
 * Every POST is verified with the standardwebhooks library against the secrets in `WEBHOOK_SECRETS`
 * (comma-separated `whsec_…`; set it after registering, or pipe them in, one per line, while it runs:
 * stdin is read only when it is not a terminal), printed as one JSON line (id, type, which secrets verified, the data) and answered 200 — or 401
 * when no secret verifies it. `RECEIVER_STATUS=500` makes it answer 500 instead, to watch the retries.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { Webhook } from "standardwebhooks";

const secrets = new Set(
	(process.env.WEBHOOK_SECRETS ?? "").split(",").filter((secret) => secret.startsWith("whsec_")),
);
const failWith = Number(process.env.RECEIVER_STATUS ?? 0);

// Secrets piped in (`… | npm run webhook:receive`) are read as they come. A terminal is never read: a
// receiver started in the background with `&`, as docs/webhooks.md does, would be stopped by the shell
// (SIGTTIN) the moment it read from it, and answer nothing.
if (!process.stdin.isTTY)
	createInterface({ input: process.stdin }).on("line", (line) => {
		if (line.trim().startsWith("whsec_")) secrets.add(line.trim());
	});

const server = createServer((req, res) => {
	const chunks: Buffer[] = [];
	req.on("data", (chunk: Buffer) => chunks.push(chunk));
	req.on("end", () => {
		const body = Buffer.concat(chunks).toString("utf8");
		const headers = {
			"webhook-id": String(req.headers["webhook-id"] ?? ""),
			"webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
			"webhook-signature": String(req.headers["webhook-signature"] ?? ""),
		};
		const verifiedBy = [...secrets].flatMap((secret, i) => {
			try {
				new Webhook(secret).verify(body, headers);
				return [`secret ${i + 1}`];
			} catch {
				return [];
			}
		});
		const event = verifiedBy.length > 0 ? (JSON.parse(body) as { type: string; data: unknown }) : null;
		console.log(
			JSON.stringify({
				id: headers["webhook-id"],
				signatures: headers["webhook-signature"].split(" ").length,
				verified_by: verifiedBy,
				type: event?.type ?? null,
				data: event?.data ?? null,
			}),
		);
		res.writeHead(failWith || (event ? 200 : 401), { "content-type": "text/plain" });
		res.end(failWith ? "failing on purpose" : event ? "ok" : "signature not verified");
	});
});

server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
	const { port } = server.address() as AddressInfo;
	console.log(`Webhook receiver on http://localhost:${port}/ (${secrets.size} secret(s) loaded)`);
});
