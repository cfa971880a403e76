/**
 * `npm run db:reset`: forgets the local D1 (and the local queues' and cache's state) so the next
 * `npm run dev` starts over — migrations applied and demo data seeded again. Stop `npm run dev` first.
 */
import { rmSync } from "node:fs";

rmSync(".wrangler/state", { recursive: true, force: true });
console.log("Local state removed: `npm run dev` will migrate and seed a fresh database.");
