import { sql } from "drizzle-orm";
import { ConfigError, loadConfig } from "../../lib/config.ts";
import type { Db } from "../../lib/db.ts";
import { AppError, describeError } from "../../lib/errors.ts";
import { logEvent } from "../../lib/log.ts";

/** Ready means: the configuration parses and D1 answers a real query. */
export async function checkHealth(db: Db, env: Env): Promise<void> {
	try {
		loadConfig(env);
	} catch (err) {
		if (!(err instanceof ConfigError)) throw err;
		// Variable names and what is wrong with them, never their values.
		throw new AppError("SERVICE_UNAVAILABLE", `Invalid configuration: ${err.problems.join("; ")}`);
	}
	try {
		await db.run(sql`SELECT 1`);
	} catch (err) {
		logEvent("error", "health_check_failed", { error: describeError(err) });
		throw new AppError("SERVICE_UNAVAILABLE", "The database does not answer");
	}
}
