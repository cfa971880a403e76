/**
 * `npm run deploy` runs this first: it refuses to go on while wrangler.toml still holds the placeholder D1
 * database id, which would make the remote migrations and the deploy target a database that does not
 * exist (or someone else's). `wrangler d1 create … --update-config` does not edit a TOML configuration, so
 * the id has to be pasted by hand: the message says where.
 */
import { unstable_readConfig } from "wrangler";

/** A D1 database id: a UUID (`wrangler d1 create` prints one), never the all-zero placeholder. */
const DATABASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLACEHOLDER = /^[0-]*$/;

/** What stops a deploy of `configPath`, as lines to print; empty when it may go on. */
export function deployProblems(configPath = "wrangler.toml"): string[] {
	const config = unstable_readConfig({ config: configPath });
	const problems: string[] = [];
	for (const database of config.d1_databases) {
		const id = database.database_id ?? "";
		if (DATABASE_ID.test(id) && !PLACEHOLDER.test(id)) continue;
		problems.push(
			`${configPath} has no real D1 database id for the binding ${database.binding} (database_id = "${id}").`,
			"",
			`Create the database once with \`npx wrangler d1 create ${database.database_name}\` (or see the id of an`,
			`existing one with \`npx wrangler d1 info ${database.database_name}\`), then paste its database_id into`,
			`${configPath}, in the [[d1_databases]] block whose binding is "${database.binding}":`,
			"",
			"  [[d1_databases]]",
			`  binding = "${database.binding}"`,
			`  database_name = "${database.database_name}"`,
			'  database_id = "<the id wrangler printed>"   # here, in place of the zeros',
		);
	}
	return problems;
}

if (import.meta.main) {
	const problems = deployProblems();
	if (problems.length > 0) {
		console.error(`npm run deploy refused:\n\n${problems.join("\n")}\n`);
		process.exit(1);
	}
}
