/**
 * The data model: every D1 table, index and constraint. `npm run db:generate` turns changes here into a
 * new file under migrations/ (never edit one that has landed).
 *
 * Timestamps are RFC 3339 UTC text (`2026-11-21T10:15:30.123Z`): readable in the console, returned as-is,
 * and they sort correctly as strings. Money is integer cents.
 */
import { sql } from "drizzle-orm";
import {
	check,
	index,
	integer,
	primaryKey,
	sqliteTable,
	sqliteView,
	text,
	uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** SQL default for timestamp columns, same format as `new Date().toISOString()`. */
const nowIso = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const users = sqliteTable(
	"users",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		email: text("email").notNull(),
		passwordHash: text("password_hash").notNull(),
		fullName: text("full_name"),
		role: text("role", { enum: ["user", "admin"] })
			.notNull()
			.default("user"),
		isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
		/**
		 * Access tokens carry the version they were issued under (`ver`). Deactivation bumps it, so every
		 * token issued before stays dead even after a reactivation. Checked by the caller guard (below).
		 */
		tokenVersion: integer("token_version").notNull().default(0),
		/**
		 * The owner proved the address: a completed sign-up, a password reset or a guest confirmation (all
		 * emailed links). Only verified addresses get restock emails, and only they are granted ADMIN_EMAILS.
		 * Accounts registered before sign-up was email-first may be unverified (legacy): a completed sign-up
		 * of their address replaces them, a reset verifies them.
		 */
		emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
		/**
		 * A passwordless account made by a confirmed guest pre-booking. It cannot log in; a completed sign-up
		 * of the address (features/auth) turns it into an ordinary account that keeps the pre-bookings.
		 */
		isGuest: integer("is_guest", { mode: "boolean" }).notNull().default(false),
		/** Preference: restock and hold emails (off → the ledger records them `skipped`). */
		restockEmails: integer("restock_emails", { mode: "boolean" }).notNull().default(true),
		/** Preference: the language of the reader's emails (i18n/locales.ts LOCALES). */
		locale: text("locale").notNull().default("en"),
		/** Preference: an IANA time zone; emails show times in it and holds end outside its quiet hours. */
		timeZone: text("time_zone").notNull().default("UTC"),
		/**
		 * `time_zone`'s offset from UTC in minutes, as SQL needs it for quiet hours (SQLite knows no zones): set
		 * with the zone, refreshed by the cron each hour, so a daylight-saving change moves it within the hour.
		 */
		utcOffsetMinutes: integer("utc_offset_minutes").notNull().default(0),
		/**
		 * When the owner erased the account (`DELETE /users/me`): the row stays, anonymous, for the orders it
		 * holds. An erased row can never again be made active or admin (the admin UPDATE requires this null:
		 * 409 USER_ERASED), and the caller guard answers its tokens 401, not 403.
		 */
		erasedAt: text("erased_at"),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
	},
	(t) => [
		uniqueIndex("uq_users_email").on(t.email),
		// The last-admin rule counts active admins on every demotion or deactivation.
		index("idx_users_active_admins").on(t.id).where(sql`role = 'admin' AND is_active = 1`),
		// The cron refreshes each zone's offset: the readers of one zone, by zone.
		index("idx_users_time_zone").on(t.timeZone, t.utcOffsetMinutes),
		check("ck_users_role", sql`${t.role} IN ('user', 'admin')`),
	],
);

/**
 * The **caller guard**: a view that stores nothing, whose INSTEAD OF INSERT trigger `caller_guard_check`
 * (migrations/0007_caller_guard.sql, rewritten by 0023) aborts the transaction unless the caller still exists
 * and was not erased (401), is active,
 * holds an unrevoked token version and, on admin routes, is still an admin. src/lib/db.ts inserts one row
 * at the head of every batch an authenticated request runs, so no write commits for a caller who lost the
 * right meanwhile, at no round trip of its own; the trigger's `caller_guard:<code>` messages become the
 * contract's 401/403 there (`CALLER_GUARD_REFUSALS`; test/caller-guard.test.ts ties the two together).
 * Declared here so the data model names it; drizzle-kit leaves an `existing()` view to the migration.
 */
export const callerGuard = sqliteView("caller_guard", {
	userId: integer("user_id").notNull(),
	tokenVersion: integer("token_version").notNull(),
	role: text("role", { enum: ["user", "admin"] }).notNull(),
}).existing();

/**
 * What an emailed link does: finish a sign-up (`sign_up`, for an address, 24 hours), reset a password
 * (`reset_password`, for an account, 1 hour — also the link of the "you already have an account" note
 * that a sign-up for a registered address gets, `account_exists`), or confirm a guest pre-booking
 * (`guest_prebook`, for an address and a book, 24 hours). `verify_email` links were sent before sign-up
 * became email-first: nothing accepts them any more, and the cron purges them.
 */
export const EMAIL_TOKEN_PURPOSES = [
	"sign_up",
	"account_exists",
	"reset_password",
	"guest_prebook",
	"verify_email",
] as const;

/**
 * Single-purpose links sent by email, stored only as SHA-256 hashes. The rows are also the ledger of the
 * per-address caps on emails (API.md, Auth), so they stay until a day after they were sent.
 */
export const emailTokens = sqliteTable(
	"email_tokens",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		tokenHash: text("token_hash").notNull(),
		purpose: text("purpose", { enum: EMAIL_TOKEN_PURPOSES }).notNull(),
		userId: integer("user_id").references(() => users.id, { onDelete: "cascade" }),
		email: text("email").notNull(),
		bookId: integer("book_id").references(() => books.id, { onDelete: "cascade" }),
		/** A guest pre-booking of a work: the work and the formats accepted (as `pre_bookings`). */
		workId: integer("work_id").references(() => works.id, { onDelete: "cascade" }),
		formatsMask: integer("formats_mask"),
		/** The network that asked (guest pre-bookings are throttled per network and per address). */
		network: text("network").notNull().default(""),
		/**
		 * The language the link's email was written in: the request's `Accept-Language` for an address
		 * without an account, else the account's `locale`. The link's page speaks it, and an account the
		 * link makes (sign-up, guest confirmation) keeps it unless the browser that follows it asks for
		 * another. Null for links issued before languages were recorded (English).
		 */
		locale: text("locale"),
		createdAt: text("created_at").notNull(),
		expiresAt: text("expires_at").notNull(),
		usedAt: text("used_at"),
	},
	(t) => [
		uniqueIndex("uq_email_tokens_token_hash").on(t.tokenHash),
		// The caps count recent links per address (and guest links per network).
		index("idx_email_tokens_email_created").on(t.email, t.createdAt),
		index("idx_email_tokens_user_created").on(t.userId, t.createdAt),
		index("idx_email_tokens_network_created").on(t.network, t.createdAt),
		index("idx_email_tokens_expires").on(t.expiresAt),
	],
);

/**
 * Opaque refresh tokens, stored only as SHA-256 hashes. Every login starts a family; each refresh spends
 * one token (`used_at`) and issues its successor (`replaced_by_hash`) in the same family, so a spent token
 * presented again identifies the family to revoke.
 */
export const refreshTokens = sqliteTable(
	"refresh_tokens",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		familyId: text("family_id").notNull(),
		tokenHash: text("token_hash").notNull(),
		expiresAt: text("expires_at").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		usedAt: text("used_at"),
		replacedByHash: text("replaced_by_hash"),
		revokedAt: text("revoked_at"),
	},
	(t) => [
		uniqueIndex("uq_refresh_tokens_token_hash").on(t.tokenHash),
		index("idx_refresh_tokens_family").on(t.familyId),
		index("idx_refresh_tokens_user").on(t.userId),
		// The cron purge deletes by expiry every minute.
		index("idx_refresh_tokens_expires").on(t.expiresAt),
	],
);

/**
 * Login attempts inside the rate-limit window, one row per attempt that was let through. A successful
 * login clears the email's rows, so what remains are failures. Kept in D1 (not the Rate Limiting binding)
 * because the rules — 10 per (email, client network), 100 per email, in 15 minutes — need exact counts
 * per email, which that binding cannot express.
 */
export const loginAttempts = sqliteTable(
	"login_attempts",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		email: text("email").notNull(),
		/** The client's network (an IPv4 address or an IPv6 /64); '' when the request carried none. */
		network: text("network").notNull().default(""),
		attemptedAt: text("attempted_at").notNull(),
	},
	(t) => [
		index("idx_login_attempts_email_time").on(t.email, t.attemptedAt),
		index("idx_login_attempts_email_network_time").on(t.email, t.network, t.attemptedAt),
		// The cron purge deletes by age every minute.
		index("idx_login_attempts_time").on(t.attemptedAt),
	],
);

/**
 * Client networks an account logged in from (API.md, login limits): from a network the account used within
 * `KNOWN_NETWORK_MS`, only the per-network failure limit applies, so failures elsewhere cannot lock the owner
 * out where they really log in. A row counts only under the account's current `token_version`: whatever ends
 * every token (deactivation, erasure, a new password) also forgets these networks. The cron purges old rows.
 */
export const loginNetworks = sqliteTable(
	"login_networks",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		network: text("network").notNull(),
		tokenVersion: integer("token_version").notNull(),
		lastLoginAt: text("last_login_at").notNull(),
	},
	(t) => [
		uniqueIndex("uq_login_networks_user_network").on(t.userId, t.network),
		index("idx_login_networks_time").on(t.lastLoginAt),
	],
);

export const genres = sqliteTable(
	"genres",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		name: text("name").notNull(),
		/**
		 * `genreKey(name)` (lib/genre-name.ts: NFKC + case folding), computed by the app because SQLite
		 * cannot: "Fiction", "FICTION" and "ｆｉｃｔｉｏｎ" share one key, so they are one genre.
		 */
		// Nullable only because SQLite cannot add a NOT NULL column to a table that is referenced without
		// rebuilding it (and a rebuild would run books' ON DELETE SET NULL): the app always writes it.
		nameKey: text("name_key"),
	},
	(t) => [uniqueIndex("uq_genres_name_key").on(t.nameKey)],
);

export const ALLOCATIONS = ["notify_all", "waves", "hold_queue", "lottery"] as const;
/**
 * What made the allocation engine run (features/allocation): recorded on each offer round and notice.
 * `eligible`: a reader it had passed over can be served again (resumed, emails back on, reactivated);
 * `wave`: the cron's next wave of a `waves` book; `draw`: a lottery draw's winners.
 */
export const ALLOCATION_REASONS = [
	"restock",
	"expiry",
	"cancel",
	"pass",
	"policy",
	"eligible",
	"wave",
	"draw",
] as const;
export type AllocationReason = (typeof ALLOCATION_REASONS)[number];
export type Allocation = (typeof ALLOCATIONS)[number];

/**
 * The **allocation guard**: a view that stores nothing, whose INSTEAD OF INSERT trigger
 * `allocation_guard_check` (migrations/0035_allocation_guard.sql) aborts the transaction when the book
 * follows another policy than the row says, with the message `allocation_guard:<its policy>`. A restock's
 * batch carries only the statements of the policy its book is expected to follow, behind this guard
 * (features/allocation/engine.ts, `withBookPolicy`): a book switched meanwhile aborts the batch, which runs
 * again with its policy. A book that does not exist passes.
 */
export const allocationGuard = sqliteView("allocation_guard", {
	bookId: integer("book_id").notNull(),
	allocation: text("allocation", { enum: ALLOCATIONS }).notNull(),
}).existing();

/** An edition's format (API.md, Catalog); a work pre-booking accepts a set of them. */
export const FORMATS = ["hardcover", "paperback", "ebook", "audiobook", "large_print", "other"] as const;
export type Format = (typeof FORMATS)[number];

/**
 * A work groups the editions (books) of one book: a reader who pre-books the work waits in the line of
 * every edition whose format they accept (features/allocation/line.ts).
 */
export const works = sqliteTable("works", {
	id: integer("id").primaryKey({ autoIncrement: true }),
	title: text("title").notNull(),
	author: text("author").notNull(),
	createdAt: text("created_at").notNull().default(nowIso),
	updatedAt: text("updated_at").notNull().default(nowIso),
});

export const books = sqliteTable(
	"books",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		title: text("title").notNull(),
		author: text("author").notNull(),
		priceCents: integer("price_cents").notNull(),
		/** Normalised: digits only (and a final X for ISBN-10). */
		isbn: text("isbn"),
		description: text("description"),
		genreId: integer("genre_id").references(() => genres.id, { onDelete: "set null" }),
		/** YYYY-MM-DD */
		publishDate: text("publish_date"),
		/** The work this edition belongs to; an edition outlives its work (set null). */
		workId: integer("work_id").references(() => works.id, { onDelete: "set null" }),
		/** One of FORMATS (the trigger of the migration works_formats_and_insights refuses others). */
		format: text("format", { enum: FORMATS }).notNull().default("other"),
		stockQuantity: integer("stock_quantity").notNull().default(0),
		/**
		 * Copies held for `offered` pre-bookings (hold_queue books): always the number of the book's offered
		 * pre-bookings, recomputed by every batch that offers, expires, cancels or sells a held copy.
		 * `0 <= held_quantity <= stock_quantity` is enforced by the triggers `books_held_within_stock_*`
		 * (migrations/0012): SQLite cannot add a table CHECK without rebuilding `books`, and a rebuild would
		 * cascade-delete its children. Anyone but a holder buys from `stock_quantity - held_quantity`.
		 */
		heldQuantity: integer("held_quantity").notNull().default(0),
		/** How a restock is shared among the waiting readers (API.md, Pre-bookings rules 4 and 5). */
		allocation: text("allocation", { enum: ALLOCATIONS }).notNull().default("notify_all"),
		/** How long an offered copy is held for its reader (hold_queue), 1–168. */
		holdHours: integer("hold_hours").notNull().default(48),
		/** `waves`: each wave notifies ceil(available × wave_factor) readers, 1–20. */
		waveFactor: integer("wave_factor").notNull().default(3),
		/** `waves`: minutes between waves while copies remain, 5–1440. */
		waveMinutes: integer("wave_minutes").notNull().default(60),
		/**
		 * `demand.threshold_crossed` is recorded when the book's waiting count reaches this (API.md, Webhooks):
		 * once per crossing, again only after the count fell below. Null: no alert. See `bookDemand`. Positive
		 * (the trigger `books_demand_alert_threshold_*` of the migration prebook_insight_triggers: a CHECK would rebuild `books`).
		 */
		demandAlertThreshold: integer("demand_alert_threshold"),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
	},
	(t) => [
		uniqueIndex("uq_books_isbn").on(t.isbn),
		index("idx_books_genre").on(t.genreId),
		index("idx_books_author").on(sql`lower(${t.author})`),
		// A work's editions: its `editions`, `GET /books?work_id=` and the lines of its work pre-bookings.
		index("idx_books_work").on(t.workId, t.id),
		// The cron's next waves look only at `waves` books.
		index("idx_books_waves").on(t.id).where(sql`allocation = 'waves'`),
		// The cron opens a draw for every lottery book without one.
		index("idx_books_lottery").on(t.id).where(sql`allocation = 'lottery'`),
		// The last line of defence against overselling: a batch that would take stock below 0 fails whole.
		check("ck_books_stock_non_negative", sql`${t.stockQuantity} >= 0`),
		check("ck_books_price_range", sql`${t.priceCents} > 0 AND ${t.priceCents} <= 10000000`),
	],
);

/**
 * The times engine batches stamped their rows with, one row each (src/lib/clock.ts): the primary key makes
 * a second batch with the same time fail, so each batch's "rows created at now" are its own. Kept an hour
 * (the cron purges older ones).
 */
export const batchClock = sqliteTable("batch_clock", {
	at: text("at").primaryKey(),
});

/**
 * A stock increase. Written in the same batch as the notification it caused, so every notified
 * pre-booking points at the restock that notified it (`pre_bookings.restock_id`).
 */
export const restocks = sqliteTable(
	"restocks",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		adminId: integer("admin_id").references(() => users.id, { onDelete: "set null" }),
		quantityBefore: integer("quantity_before").notNull(),
		quantityAfter: integer("quantity_after").notNull(),
		notifiedCount: integer("notified_count").notNull().default(0),
		/**
		 * `restock` when the stock rose; otherwise the engine notified a notify_all line because copies became
		 * available another way (a held copy released, a policy switch, a reader eligible again): then
		 * `quantity_before = quantity_after` and there is no admin.
		 */
		reason: text("reason", { enum: ALLOCATION_REASONS }).notNull().default("restock"),
		createdAt: text("created_at").notNull().default(nowIso),
		/**
		 * When the queue accepted every notified id. Null on a notifying restock means the Worker may have
		 * died between commit and enqueue: the cron relay republishes it.
		 */
		publishedAt: text("published_at"),
		/**
		 * How far the publication got, for a line published page by page (allocation/paged-publication.ts): the
		 * last (`notified_at`, `user_id`) put on the queue, and when the publication last moved (the relay
		 * takes over a publication that has not moved for a minute, from there).
		 */
		publishCursorAt: text("publish_cursor_at"),
		publishCursorUserId: integer("publish_cursor_user_id"),
		publishMovedAt: text("publish_moved_at"),
	},
	(t) => [
		index("idx_restocks_book").on(t.bookId, t.id),
		index("idx_restocks_unpublished").on(t.id).where(sql`published_at IS NULL AND notified_count > 0`),
	],
);

/**
 * The waves of a `waves` book's notification (API.md, Pre-bookings rule 6): each one notified the next
 * readers in line under the same restock record (its first at the restock, the next ones by the cron every
 * `wave_minutes` while copies remain). `GET /admin/restocks` lists them per restock.
 */
export const noticeWaves = sqliteTable(
	"notice_waves",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		restockId: integer("restock_id")
			.notNull()
			.references(() => restocks.id, { onDelete: "cascade" }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		/** 1 for the restock's first wave, then 2, 3… */
		wave: integer("wave").notNull(),
		notifiedCount: integer("notified_count").notNull(),
		createdAt: text("created_at").notNull(),
	},
	(t) => [
		uniqueIndex("uq_notice_waves_restock_wave").on(t.restockId, t.wave),
		index("idx_notice_waves_book_created").on(t.bookId, t.createdAt),
	],
);

/**
 * Supply an admin expects for a book (API.md, Pre-bookings rule 12): what `estimate.expected_by` is worked
 * out from. A restock marks the book's entries expected up to 7 days after it as received.
 */
export const inboundShipments = sqliteTable(
	"inbound_shipments",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		quantity: integer("quantity").notNull(),
		expectedAt: text("expected_at").notNull(),
		receivedAt: text("received_at"),
		createdAt: text("created_at").notNull(),
	},
	(t) => [
		// The book's pending supply in expected order (estimates), and what a restock marks received.
		index("idx_inbound_shipments_book_pending").on(t.bookId, t.expectedAt).where(sql`received_at IS NULL`),
		index("idx_inbound_shipments_book").on(t.bookId, t.id),
	],
);

export type InboundRow = typeof inboundShipments.$inferSelect;

export const DRAW_STATUSES = ["open", "closing", "closed"] as const;

/**
 * A `lottery` book's draws (API.md, Pre-bookings rule 8). Each book has one `open` draw whose
 * `seed_commitment` (hex SHA-256 of the 32-byte seed) is public before anyone enters. When copies become
 * available the engine holds `copies` of them for the draw and closes it on the servable waiting
 * pre-bookings of that moment (`closing`: entries fixed, scores not yet computed — SQLite has no HMAC);
 * the Worker then scores every entry with HMAC-SHA256(seed, "<draw_id>:<prebook_id>"), offers the lowest
 * scores and marks the draw `closed`, publishing `seed` (secret until then), in one batch
 * (features/allocation/lottery-draws.ts). `held_quantity` counts a closing draw's copies.
 */
export const draws = sqliteTable(
	"draws",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		status: text("status", { enum: DRAW_STATUSES }).notNull().default("open"),
		/** 64 hex characters; never shown before the draw is closed. */
		seed: text("seed").notNull(),
		seedCommitment: text("seed_commitment").notNull(),
		/** Copies held for the draw when it closed. */
		copies: integer("copies").notNull().default(0),
		entries: integer("entries").notNull().default(0),
		openedAt: text("opened_at").notNull(),
		closingAt: text("closing_at"),
		closedAt: text("closed_at"),
	},
	(t) => [
		// One open draw per book, whoever opens it.
		uniqueIndex("uq_draws_book_open").on(t.bookId).where(sql`status = 'open'`),
		index("idx_draws_book").on(t.bookId, t.id),
		// The held copies of a book's closing draws, and the cron's search for draws left half-done.
		index("idx_draws_closing").on(t.bookId).where(sql`status = 'closing'`),
	],
);

/** One entry per pre-booking per draw; `score` is set when the draw is scored, `won` when it is offered a copy. */
export const drawEntries = sqliteTable(
	"draw_entries",
	{
		drawId: integer("draw_id")
			.notNull()
			.references(() => draws.id, { onDelete: "cascade" }),
		prebookId: integer("prebook_id")
			.notNull()
			.references(() => preBookings.id, { onDelete: "cascade" }),
		score: text("score"),
		won: integer("won", { mode: "boolean" }).notNull().default(false),
	},
	(t) => [
		uniqueIndex("uq_draw_entries_draw_prebook").on(t.drawId, t.prebookId),
		index("idx_draw_entries_draw_score").on(t.drawId, t.score),
		// A pre-booking's last draw (its `draw` field).
		index("idx_draw_entries_prebook").on(t.prebookId, t.drawId),
	],
);

export const PREBOOK_STATUSES = [
	"waiting",
	"notified",
	"offered",
	"fulfilled",
	"expired",
	"cancelled",
] as const;
export type PrebookStatus = (typeof PREBOOK_STATUSES)[number];

/**
 * One offer of held copies (a hold_queue book's next in line, a lottery book's winners or runners-up):
 * written in the same batch as the change that freed the copies (a restock, an expiry, a cancel, a pass,
 * a switch of policy, a draw's completion), so every offered pre-booking points at the
 * round that offered it (`pre_bookings.offer_round_id`) and the relay can republish an unconfirmed one.
 */
export const offerRounds = sqliteTable(
	"offer_rounds",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		/** What freed the copies. */
		reason: text("reason", { enum: ALLOCATION_REASONS }).notNull(),
		offeredAt: text("offered_at").notNull(),
		holdExpiresAt: text("hold_expires_at").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		/** When the queue accepted every offered id; null means the relay republishes it. */
		publishedAt: text("published_at"),
		/** How far the publication got (the last `user_id` on the queue) and when it last moved, as on restocks. */
		publishCursorUserId: integer("publish_cursor_user_id"),
		publishMovedAt: text("publish_moved_at"),
		/**
		 * How many it offered: set once, by the batch that made the round (null before). Setting it counts the
		 * round's offers in the insight counters and takes them off the waiting-line counter, once per round
		 * rather than once per offered row (migration prebook_insight_triggers).
		 */
		offeredCount: integer("offered_count"),
	},
	(t) => [
		index("idx_offer_rounds_book").on(t.bookId, t.id),
		index("idx_offer_rounds_unpublished").on(t.id).where(sql`published_at IS NULL`),
	],
);

export const preBookings = sqliteTable(
	"pre_bookings",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		/**
		 * The edition: a book pre-booking's book; a work pre-booking's is null while it waits and then the
		 * edition it was notified or offered (from then on it is done for every other edition).
		 */
		bookId: integer("book_id").references(() => books.id, { onDelete: "cascade" }),
		/** A work pre-booking's work (null for a book pre-booking). */
		workId: integer("work_id").references(() => works.id, { onDelete: "set null" }),
		/**
		 * A work pre-booking's accepted formats, one bit per format (FORMAT_BITS in
		 * features/allocation/line.ts), so the line's SQL tests a format with one `&`.
		 */
		formatsMask: integer("formats_mask"),
		status: text("status", { enum: PREBOOK_STATUSES }).notNull().default("waiting"),
		createdAt: text("created_at").notNull().default(nowIso),
		notifiedAt: text("notified_at"),
		offeredAt: text("offered_at"),
		holdExpiresAt: text("hold_expires_at"),
		fulfilledAt: text("fulfilled_at"),
		expiredAt: text("expired_at"),
		cancelledAt: text("cancelled_at"),
		restockId: integer("restock_id").references(() => restocks.id, { onDelete: "set null" }),
		offerRoundId: integer("offer_round_id").references(() => offerRounds.id, { onDelete: "set null" }),
		/** A waiting pre-booking is passed over until then, keeping its place (rule 4); null: not paused. */
		pausedUntil: text("paused_until"),
		/** How many more offers may be passed (rule 7's pass). */
		passesLeft: integer("passes_left").notNull().default(2),
	},
	(t) => [
		check(
			"ck_pre_bookings_status",
			sql`${t.status} IN ('waiting', 'notified', 'offered', 'fulfilled', 'expired', 'cancelled')`,
		),
		// A pre-booking names a book, a work, or (a work pre-booking given an edition) both.
		check("ck_pre_bookings_book_or_work", sql`${t.bookId} IS NOT NULL OR ${t.workId} IS NOT NULL`),
		// Rule 2: one active (waiting or offered) book pre-booking per user and book, and one active work
		// pre-booking per user and work. A book pre-booking and a work pre-booking accepting that book are
		// refused as duplicates inside the insert (features/prebooks/rules.ts); an offer never trips these indexes.
		uniqueIndex("uq_pre_bookings_user_book_active")
			.on(t.userId, t.bookId)
			.where(sql`status IN ('waiting', 'offered') AND work_id IS NULL`),
		uniqueIndex("uq_pre_bookings_user_work_active")
			.on(t.userId, t.workId)
			.where(sql`status IN ('waiting', 'offered') AND work_id IS NOT NULL`),
		// The line of a book, in order: the restock and offer UPDATEs, `position` (a count over this range)
		// and the demand ranking read only a book's waiting rows.
		// It carries `paused_until` and `user_id` so eligibility (rule 4) is read from the index and a seek
		// into users, never from the table's rows.
		index("idx_pre_bookings_book_waiting_line")
			.on(t.bookId, t.createdAt, t.id, t.pausedUntil, t.userId)
			.where(sql`status = 'waiting'`),
		// The waiting work pre-bookings of a work, in line order: the part of an edition's line that is not its
		// own (line.ts). Carries what eligibility and the format test read, like the book line index (and
		// `book_id`, always null here: SQLite counts an index as covering only if it holds every column read).
		index("idx_pre_bookings_work_waiting_line")
			.on(t.workId, t.createdAt, t.id, t.formatsMask, t.pausedUntil, t.userId, t.bookId)
			.where(sql`status = 'waiting' AND book_id IS NULL`),
		// The admin's view of an edition's line: the work pre-bookings of its work, every status.
		index("idx_pre_bookings_work_created").on(t.workId, t.createdAt, t.id).where(sql`book_id IS NULL`),
		// The cron ends lapsed pauses (and runs the engine for their lines).
		index("idx_pre_bookings_pause_lapse")
			.on(t.pausedUntil)
			.where(sql`status = 'waiting' AND paused_until IS NOT NULL`),
		// A book's held copies (held_quantity is recounted from these), and the expiry sweep's lapsed holds of
		// one book, oldest first, as an index range (no sort, no table lookups).
		index("idx_pre_bookings_book_offered").on(t.bookId, t.holdExpiresAt).where(sql`status = 'offered'`),
		// The expiry sweep: lapsed holds, oldest first.
		index("idx_pre_bookings_hold_expiry").on(t.holdExpiresAt).where(sql`status = 'offered'`),
		// A user's list, newest first, without sorting.
		index("idx_pre_bookings_user_created").on(t.userId, t.createdAt, t.id),
		// The consumer finds each recipient of a notice (a restock's, or one of its waves: one `notified_at`)
		// or an offer round with one seek; the publication pages through them in user id order.
		// `work_id` too: the insight triggers count a notice's own pre-bookings (not a work's) from the index.
		// Partial: a waiting pre-booking has neither id, so marking a line of a million notified or offered
		// inserts each entry and deletes none (docs/benchmarks.md, "A line of a million"); every statement
		// that reads them names an id, which implies IS NOT NULL, so SQLite still uses them.
		index("idx_pre_bookings_restock_notice")
			.on(t.restockId, t.notifiedAt, t.userId, t.workId)
			.where(sql`restock_id IS NOT NULL`),
		index("idx_pre_bookings_offer_round_user")
			.on(t.offerRoundId, t.userId, t.workId)
			.where(sql`offer_round_id IS NOT NULL`),
		// The admin's view of a book's whole line (every status) in line order.
		index("idx_pre_bookings_book_created").on(t.bookId, t.createdAt, t.id),
	],
);

/** `skipped`: not emailed on purpose (the reader turned restock emails off, or the address is unverified). */
export const DELIVERY_STATUSES = ["sending", "sent", "failed", "dead", "skipped"] as const;

/**
 * The email ledger: one row per notified pre-booking and restock. A consumer claims a row before sending
 * (so a redelivered, retried or republished message never emails twice) and marks it sent or failed after.
 * `sending` rows whose claim is older than the lease were abandoned by a dead consumer and may be
 * claimed again; `dead` rows exhausted their retries (docs/email-pipeline.md, "Retries and dead letters").
 */
export const emailDeliveries = sqliteTable(
	"email_deliveries",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		prebookId: integer("prebook_id")
			.notNull()
			.references(() => preBookings.id, { onDelete: "cascade" }),
		/** The notification this email belongs to: a restock (prebook.notified) or an offer round. */
		restockId: integer("restock_id").references(() => restocks.id, { onDelete: "cascade" }),
		offerRoundId: integer("offer_round_id").references(() => offerRounds.id, { onDelete: "cascade" }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
		attempts: integer("attempts").notNull().default(0),
		claimToken: text("claim_token"),
		claimedAt: text("claimed_at"),
		sentAt: text("sent_at"),
		/** The kind of the last failure (an error name, never provider text). */
		lastError: text("last_error"),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
	},
	(t) => [
		check("ck_email_deliveries_status", sql`${t.status} IN ('sending', 'sent', 'failed', 'dead', 'skipped')`),
		check(
			"ck_email_deliveries_one_notification",
			sql`(${t.restockId} IS NULL) <> (${t.offerRoundId} IS NULL)`,
		),
		uniqueIndex("uq_email_deliveries_prebook_restock").on(t.prebookId, t.restockId),
		uniqueIndex("uq_email_deliveries_prebook_offer_round").on(t.prebookId, t.offerRoundId),
		index("idx_email_deliveries_offer_round_status").on(t.offerRoundId, t.status),
		index("idx_email_deliveries_restock_status").on(t.restockId, t.status),
		index("idx_email_deliveries_claim").on(t.claimToken),
	],
);

export const wishlistItems = sqliteTable(
	"wishlist_items",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		addedAt: text("added_at").notNull().default(nowIso),
	},
	(t) => [
		uniqueIndex("uq_wishlist_items_user_book").on(t.userId, t.bookId),
		index("idx_wishlist_items_user_added").on(t.userId, t.addedAt, t.id),
	],
);

/** One cart per user, created with its first line. */
export const carts = sqliteTable(
	"carts",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		createdAt: text("created_at").notNull().default(nowIso),
	},
	(t) => [uniqueIndex("uq_carts_user").on(t.userId)],
);

/** Copies per cart line: the request schema and the CHECK below both read it. */
export const MAX_CART_LINE_QUANTITY = 100;

export const cartItems = sqliteTable(
	"cart_items",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		cartId: integer("cart_id")
			.notNull()
			.references(() => carts.id, { onDelete: "cascade" }),
		bookId: integer("book_id")
			.notNull()
			.references(() => books.id, { onDelete: "cascade" }),
		quantity: integer("quantity").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
	},
	(t) => [
		uniqueIndex("uq_cart_items_cart_book").on(t.cartId, t.bookId),
		check(
			"ck_cart_items_quantity",
			sql`${t.quantity} BETWEEN 1 AND ${sql.raw(String(MAX_CART_LINE_QUANTITY))}`,
		),
	],
);

export const ORDER_STATUSES = ["confirmed", "payment_failed"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const orders = sqliteTable(
	"orders",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id),
		status: text("status", { enum: ORDER_STATUSES }).notNull(),
		totalCents: integer("total_cents").notNull(),
		/** The client's Idempotency-Key: one order per key and user, whatever the retries. */
		idempotencyKey: text("idempotency_key"),
		/**
		 * SHA-256 of what the keyed request asked for (its payment token): the same key sent with another
		 * request is refused (422 IDEMPOTENCY_KEY_REUSED) instead of answering with an unrelated order.
		 */
		requestFingerprint: text("request_fingerprint"),
		createdAt: text("created_at").notNull().default(nowIso),
	},
	(t) => [
		check("ck_orders_status", sql`${t.status} IN ('confirmed', 'payment_failed')`),
		check("ck_orders_total", sql`${t.totalCents} >= 0`),
		uniqueIndex("uq_orders_user_idempotency_key")
			.on(t.userId, t.idempotencyKey)
			.where(sql`idempotency_key IS NOT NULL`),
		index("idx_orders_user").on(t.userId, t.id),
	],
);

/** What was bought, as it was then: title and unit price are snapshots, the book may change or go. */
export const orderItems = sqliteTable(
	"order_items",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		orderId: integer("order_id")
			.notNull()
			.references(() => orders.id, { onDelete: "cascade" }),
		bookId: integer("book_id").references(() => books.id, { onDelete: "set null" }),
		title: text("title").notNull(),
		unitPriceCents: integer("unit_price_cents").notNull(),
		quantity: integer("quantity").notNull(),
	},
	(t) => [index("idx_order_items_order").on(t.orderId)],
);

/**
 * Checkout attempts inside the throttle window, one row per payment authorization let through (reserved
 * atomically before authorizing, so parallel requests cannot overshoot). Bounds how fast one account can
 * test cards: attempts per window, and declines per window more tightly.
 */
export const checkoutAttempts = sqliteTable(
	"checkout_attempts",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id")
			.notNull()
			.references(() => users.id, { onDelete: "cascade" }),
		attemptedAt: text("attempted_at").notNull(),
		declined: integer("declined", { mode: "boolean" }).notNull().default(false),
		/**
		 * The payment's answer is not in yet. A pending attempt counts as a possible decline (for
		 * PENDING_ATTEMPT_MS), so parallel checkouts cannot get past the decline cap before any has declined.
		 */
		pending: integer("pending", { mode: "boolean" }).notNull().default(false),
		/**
		 * A retry of the same purchase (same Idempotency-Key and payment token) reuses its attempt instead
		 * of spending another: the throttle counts purchases and cards tried, never a client's retries.
		 */
		idempotencyKey: text("idempotency_key"),
		requestFingerprint: text("request_fingerprint").notNull(),
	},
	(t) => [
		index("idx_checkout_attempts_user_time").on(t.userId, t.attemptedAt),
		// The cron purge deletes by age.
		index("idx_checkout_attempts_time").on(t.attemptedAt),
	],
);

/** One payment attempt per order: the provider's decision and reference, for reconciliation. */
export const payments = sqliteTable(
	"payments",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		orderId: integer("order_id")
			.notNull()
			.references(() => orders.id, { onDelete: "cascade" }),
		provider: text("provider").notNull(),
		status: text("status", { enum: ["authorized", "captured", "declined"] }).notNull(),
		reference: text("reference"),
		amountCents: integer("amount_cents").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
	},
	(t) => [
		check("ck_payments_status", sql`${t.status} IN ('authorized', 'captured', 'declined')`),
		uniqueIndex("uq_payments_order").on(t.orderId),
	],
);

export type UserRow = typeof users.$inferSelect;
export type BookRow = typeof books.$inferSelect;
export type GenreRow = typeof genres.$inferSelect;

/**
 * Webhooks (API.md, "Webhooks (for integrators)"): endpoints, their signing secrets, the event outbox and
 * the delivery ledger. See features/webhooks/.
 *
 * An endpoint subscribes to event types (`events`, a JSON array of catalogue names). Disabled endpoints get
 * no new deliveries, and their queued ones are not attempted.
 */
export const webhookEndpoints = sqliteTable(
	"webhook_endpoints",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		url: text("url").notNull(),
		/** JSON array of event types (features/webhooks/webhook-catalogue.ts), e.g. `["prebook.notified"]`. */
		events: text("events").notNull(),
		description: text("description"),
		enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
	},
	(t) => [
		check("ck_webhook_endpoints_events", sql`json_valid(${t.events}) AND json_type(${t.events}) = 'array'`),
	],
);

/**
 * An endpoint's signing secrets (`whsec_…`, stored as-is because they must sign). The current secret has no
 * `expires_at`; a rotation gives the previous one `expires_at = now + 24 h`, and every secret not yet expired
 * signs each delivery (one `v1,…` signature each), so receivers can switch keys without missing one.
 */
export const webhookSecrets = sqliteTable(
	"webhook_secrets",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		endpointId: integer("endpoint_id")
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: "cascade" }),
		secret: text("secret").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		expiresAt: text("expires_at"),
	},
	(t) => [index("idx_webhook_secrets_endpoint").on(t.endpointId, t.expiresAt)],
);

/**
 * The outbox: one row per event (or per chunk of at most 100 users of one), inserted by a statement inside
 * the batch that made the change it describes, so an event is never lost or invented by a crash between
 * commit and publication. `source_key` names what the event is about (`restock.created:<restock id>`,
 * `prebook.notified:<restock id>:<chunk>`…): a second insert of the same event does nothing. `published_at`
 * is set once the event's deliveries are on the queue; the cron relay publishes the rest.
 *
 * No AUTOINCREMENT: an INSERT into such a table reads `sqlite_sequence` even when it inserts nothing, and
 * the outbox statements run in every restock, offer, expiry and checkout batch, subscribed or not. Ids
 * (the `webhook-id` receivers deduplicate on) are still never reused: a rowid is reused only when the
 * newest row is deleted, and the retention purge always keeps the newest event.
 */
export const webhookEvents = sqliteTable(
	"webhook_events",
	{
		id: integer("id").primaryKey(),
		type: text("type").notNull(),
		/** The event's `data` (JSON object, snake_case); the delivered body wraps it as `{type, timestamp, data}`. */
		payload: text("payload").notNull(),
		sourceKey: text("source_key").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		publishedAt: text("published_at"),
	},
	(t) => [
		uniqueIndex("uq_webhook_events_source_key").on(t.sourceKey),
		index("idx_webhook_events_unpublished").on(t.id).where(sql`published_at IS NULL`),
		// The retention purge deletes by age.
		index("idx_webhook_events_created").on(t.createdAt),
	],
);

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "succeeded", "failed", "dead"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * The delivery ledger: one row per (endpoint, event), whatever the retries and redeliveries. A consumer
 * claims a row (`claim_token`, `claimed_until`: a lease) before it POSTs, so a redelivered queue message
 * never POSTs a succeeded delivery again and two consumers never POST one at once; the live leases of an
 * endpoint are its deliveries in flight, capped per endpoint in the claim.
 */
export const webhookDeliveries = sqliteTable(
	"webhook_deliveries",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		endpointId: integer("endpoint_id")
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: "cascade" }),
		eventId: integer("event_id")
			.notNull()
			.references(() => webhookEvents.id, { onDelete: "cascade" }),
		eventType: text("event_type").notNull(),
		status: text("status", { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default("pending"),
		/** POSTs made since the delivery was created (or revived by an admin's retry). */
		attempts: integer("attempts").notNull().default(0),
		lastStatusCode: integer("last_status_code"),
		/** What went wrong last: `HTTP 500: <start of the body>`, `timeout`, `redirect (302) not followed`… */
		lastError: text("last_error"),
		claimToken: text("claim_token"),
		/** The claim's lease: a consumer that died mid-POST frees the delivery when it passes. */
		claimedUntil: text("claimed_until"),
		createdAt: text("created_at").notNull().default(nowIso),
		updatedAt: text("updated_at").notNull().default(nowIso),
		deliveredAt: text("delivered_at"),
	},
	(t) => [
		check("ck_webhook_deliveries_status", sql`${t.status} IN ('pending', 'succeeded', 'failed', 'dead')`),
		uniqueIndex("uq_webhook_deliveries_endpoint_event").on(t.endpointId, t.eventId),
		// An endpoint's deliveries newest first, all or by status (keyset pages, no sort).
		index("idx_webhook_deliveries_endpoint_created").on(t.endpointId, t.createdAt, t.id),
		index("idx_webhook_deliveries_endpoint_status_created").on(t.endpointId, t.status, t.createdAt, t.id),
		// The in-flight count of an endpoint (the concurrency cap) reads only its live claims.
		index("idx_webhook_deliveries_endpoint_claims")
			.on(t.endpointId, t.claimedUntil)
			.where(sql`claimed_until IS NOT NULL`),
		// Publication finds an event's deliveries by the unique index's second column otherwise.
		index("idx_webhook_deliveries_event").on(t.eventId),
		index("idx_webhook_deliveries_claim").on(t.claimToken),
	],
);

/**
 * Replays (`POST /admin/webhooks/{id}/replay`): the events of `types` in [since, until) with ids in
 * (after_event_id, last_event_id] — the window's events stored when it was asked — delivered again to one
 * endpoint a page at a time by the cron (webhook-replay.ts); `after_event_id` is the cursor, `finished_at`
 * set when the last page is queued.
 */
export const webhookReplays = sqliteTable(
	"webhook_replays",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		endpointId: integer("endpoint_id")
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: "cascade" }),
		/** JSON array of event types. */
		types: text("types").notNull(),
		since: text("since").notNull(),
		until: text("until").notNull(),
		afterEventId: integer("after_event_id").notNull(),
		lastEventId: integer("last_event_id").notNull(),
		/** Events in the window when it was asked (the answer's `queued`). */
		queued: integer("queued").notNull(),
		createdAt: text("created_at").notNull().default(nowIso),
		finishedAt: text("finished_at"),
	},
	(t) => [
		index("idx_webhook_replays_active").on(t.endpointId, t.id).where(sql`finished_at IS NULL`),
		index("idx_webhook_replays_finished").on(t.finishedAt),
	],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

/**
 * Pre-booking insights (API.md, Insights; docs/insights.md): counters kept by the triggers of
 * the migration prebook_insight_triggers in the statement of every transition, so every batch that
 * moves a pre-booking (the engine, checkout, the cron sweeps, an erasure…) keeps them without code of its
 * own, and a report reads a row per day, never the history.
 *
 * One row per UTC day and book. `book_id` 0 is **the store**: every transition is counted there too, and a
 * pre-booking without a book (a work's, while it waits) only there — decided in one place, the view
 * `prebook_tally` whose trigger writes both rows. No foreign key: a deleted book's history stays in the
 * store's totals. Each counter is the transitions of that day: `signups` (created), `cancelled`,
 * `notified`, `offered`, `expired`, `passed` (an offer handed back), `fulfilled` (bought), and
 * `revenue_cents`: the order lines that fulfilled them (each line once).
 */
export const prebookDaily = sqliteTable(
	"prebook_daily",
	{
		bookId: integer("book_id").notNull(),
		/** YYYY-MM-DD, UTC. */
		day: text("day").notNull(),
		signups: integer("signups").notNull().default(0),
		cancelled: integer("cancelled").notNull().default(0),
		notified: integer("notified").notNull().default(0),
		offered: integer("offered").notNull().default(0),
		expired: integer("expired").notNull().default(0),
		passed: integer("passed").notNull().default(0),
		fulfilled: integer("fulfilled").notNull().default(0),
		revenueCents: integer("revenue_cents").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.bookId, t.day] })],
);

/**
 * The purchases of a day (and book; 0 = the store, as in `prebookDaily`) by whole hours from the notice or
 * offer to the purchase, rounded down: the histogram the median of `median_hours_to_purchase` is read from.
 */
export const prebookDailyPurchaseHours = sqliteTable(
	"prebook_daily_purchase_hours",
	{
		bookId: integer("book_id").notNull(),
		day: text("day").notNull(),
		hours: integer("hours").notNull(),
		purchases: integer("purchases").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.bookId, t.day, t.hours] })],
);

/**
 * What the transition triggers add to the insights counters (`prebookDaily`, `prebookDailyPurchaseHours`):
 * a view that stores nothing; its INSTEAD OF INSERT trigger (the migration prebook_insight_triggers) adds each row to its book's
 * counters and to the store's (`book_id` 0), and a row without a book to the store's only.
 */
export const prebookTally = sqliteView("prebook_tally", {
	bookId: integer("book_id"),
	day: text("day").notNull(),
	signups: integer("signups").notNull(),
	cancelled: integer("cancelled").notNull(),
	notified: integer("notified").notNull(),
	offered: integer("offered").notNull(),
	expired: integer("expired").notNull(),
	passed: integer("passed").notNull(),
	fulfilled: integer("fulfilled").notNull(),
	revenueCents: integer("revenue_cents").notNull(),
	/** Whole hours from notice or offer to a purchase (with `fulfilled`), else null. */
	hours: integer("hours"),
}).existing();

/**
 * A book's waiting line as two counters, kept by triggers on every change of a pre-booking's status (the
 * migrations prebook_insight_triggers and work_line_demand), so the demand alert never counts the line:
 * `waiting_count`, the book's own `waiting` pre-bookings (what `position` reads beyond its cap), and
 * `work_waiting_count`, the waiting work pre-bookings that accept it. Their sum is the line the demand report
 * counts. When an increase makes the sum equal the book's `demand_alert_threshold`, the same trigger records
 * one `demand.threshold_crossed` event (`crossings` numbers them, the event's source key): the sum moves by
 * one per row, so that is exactly a crossing, and another needs the count to fall below first.
 */
export const bookDemand = sqliteTable("book_demand", {
	bookId: integer("book_id")
		.primaryKey()
		.references(() => books.id, { onDelete: "cascade" }),
	waitingCount: integer("waiting_count").notNull().default(0),
	workWaitingCount: integer("work_waiting_count").notNull().default(0),
	crossings: integer("crossings").notNull().default(0),
});
