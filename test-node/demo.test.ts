/**
 * `npm run demo` against a real dev server (bench/local-server.ts: `wrangler dev` on a free port, on a
 * fresh state directory with the migrations applied and the demo data seeded, stopped and removed
 * afterwards), twice in a row: the second run starts from what the first left and must succeed too.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanUp, type DevServer, seedFreshState, startDevServer } from "../bench/local-server.ts";
import { pickEmail, type SentEmail } from "../scripts/demo-emails.ts";
import { seedDemoData } from "../scripts/seed.ts";

const STATE = join(".wrangler", `demo-test-${process.pid}`);

function demo(...args: string[]): { status: number | null; out: string; err: string } {
	const run = spawnSync(process.execPath, ["scripts/demo.ts", ...args], {
		encoding: "utf8",
		timeout: 120_000,
	});
	return { status: run.status, out: run.stdout, err: run.stderr };
}

describe("npm run demo", () => {
	let server: DevServer;
	beforeAll(async () => {
		await seedFreshState(STATE, async () => {});
		await seedDemoData(STATE);
		server = await startDevServer(STATE);
	}, 120_000);
	afterAll(() => cleanUp(), 60_000);

	it("tells the headline story, one line per step, and can be run again right away", () => {
		for (const run of [1, 2]) {
			const { status, out, err } = demo("--url", server.base);
			expect(err, `run ${run}`).toBe("");
			expect(status, `run ${run}:\n${out}`).toBe(0);
			const lines = out.trim().split("\n");
			const step = (name: string) => lines.filter((line) => line.startsWith(`  ${name.padEnd(12)} `));
			expect(step("signed in")).toHaveLength(1);
			expect(step("pre-booked")).toHaveLength(2);
			expect(step("restocked")[0]).toMatch(/: 0 → 4 copies; pre-booking \d+ notified$/);
			const emails = step("emailed");
			expect(emails).toHaveLength(3);
			expect(emails[0]).toMatch(
				/"Back in stock: .+" to reader@bookstore\.local → \.wrangler\/tmp\/email\/.+\/email-text\/.+\.txt$/,
			);
			expect(emails[1]).toMatch(/"A copy is held for you: .+" to reader@bookstore\.local → /);
			expect(emails[2]).toMatch(/"Confirm your pre-booking: .+" to guest-[a-z0-9]+@example\.com → /);
			expect(step("held")[0]).toMatch(/pre-booking \d+ offered, hold_expires_at \d{4}-\d\d-\d\dT/);
			expect(step("confirmed")[0]).toMatch(/the guest's pre-booking \d+ waiting, 1st in line/);
			expect(step("tidied")[0]).toContain(
				run === 1 ? "no active pre-booking left" : "cancelled the reader's 1 active pre-booking(s)",
			);
			expect(lines.at(-1)).toMatch(/^Done in [\d.]+ s\./);
		}
	}, 180_000);

	it("stops with a clear message and a non-zero exit when no server answers", () => {
		const { status, out, err } = demo("--url", "http://127.0.0.1:9");
		expect(status).toBe(1);
		expect(out).toBe("Bookstore demo against http://127.0.0.1:9\n");
		expect(err).toContain("no API answers at http://127.0.0.1:9. Start it with `npm run dev`");
	});
});

describe("the email each demo step shows", () => {
	const since = Date.parse("2026-12-04T10:00:00.000Z");
	const sent = (messageId: string, subject: string, to: string, at: number): SentEmail => ({
		messageId,
		subject,
		to: [to],
		sentAt: new Date(at).toISOString(),
	});
	// What each email's text file holds: its cancel and unsubscribe links name the pre-booking.
	const texts: Record<string, string> = {
		"<late@local>": "Your copy… https://api.local/unsubscribe/v1.p.7.100.c2lnbmF0dXJl",
		"<neighbour@local>": "Back… https://api.local/unsubscribe/v1.p.7.1201.c2lnbmF0dXJl",
		"<this-run@local>":
			"Held… https://api.local/unsubscribe/v1.p.7.120.c2lnbmF0dXJl https://api.local/unsubscribe/v1.a.7.120.c2ln",
	};
	const fileOf = (messageId: string) => (messageId in texts ? messageId : undefined);
	const read = (file: string) => texts[file] ?? "";

	it("is the email about the pre-booking the step made, not a newer one to the reader about a similar title", () => {
		// Newest first, as wrangler dev lists them: an earlier run's hold email delivered late, and a restock
		// email about "Dune Messiah", both after this step's "Dune" hold email.
		const list = [
			sent("<late@local>", "A copy is held for you: Dune", "reader@bookstore.local", since + 900),
			sent("<neighbour@local>", "Back in stock: Dune Messiah", "reader@bookstore.local", since + 600),
			sent("<this-run@local>", "A copy is held for you: Dune", "reader@bookstore.local", since + 300),
		];
		const wanted = { to: "reader@bookstore.local", title: "Dune", since, prebookId: 120 };
		expect(pickEmail(list, wanted, fileOf, read)).toEqual({ email: list[2], file: "<this-run@local>" });
		// Until it arrives, nothing is picked (the demo waits), though others match recipient and title.
		expect(pickEmail(list.slice(0, 2), wanted, fileOf, read)).toEqual({ email: null, candidate: list[0] });
	});

	it("is never an email sent before the step began", () => {
		const list = [sent("<this-run@local>", "Held: Dune", "reader@bookstore.local", since - 5_000)];
		const wanted = { to: "reader@bookstore.local", title: "Dune", since, prebookId: 120 };
		expect(pickEmail(list, wanted, fileOf, read).email).toBeNull();
	});
});
