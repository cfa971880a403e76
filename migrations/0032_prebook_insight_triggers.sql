-- Pre-booking insights and the demand alert (API.md, Insights; Webhooks `demand.threshold_crossed`;
-- docs/insights.md). Triggers keep the counters of migration 0031 inside the statement that makes each
-- transition, so every batch that moves a pre-booking — the allocation engine, checkout, the cron sweeps, a
-- pass, an erasure — keeps them with no code of its own. A pre-booking's own transitions are counted per
-- row; the engine's bulk ones (a line of a million notified, 100,000 offered in one statement) per unit:
-- once per restock record or wave (`restocks.notified_count` growing) and once per offer round
-- (`offer_rounds.offered_count` set), so a restock pays a few statements for its counters, not a few per
-- reader. Self-contained: it needs only the tables of 0031, `pre_bookings`, `books`, `restocks`,
-- `offer_rounds`, `orders`, `order_items` and `webhook_events`.

-- What the transition triggers add: a view that stores nothing. Its trigger adds a row to its book's
-- counters and to the store's (`book_id` 0); a row without a book (a work's pre-booking while it waits)
-- to the store's only. This is the one place that decides where a null book_id is counted.
CREATE VIEW `prebook_tally` AS
SELECT NULL AS `book_id`, '' AS `day`, 0 AS `signups`, 0 AS `cancelled`, 0 AS `notified`, 0 AS `offered`,
	0 AS `expired`, 0 AS `passed`, 0 AS `fulfilled`, 0 AS `revenue_cents`, NULL AS `hours`
WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `prebook_tally_add` INSTEAD OF INSERT ON `prebook_tally`
BEGIN
	INSERT INTO `prebook_daily` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
		`passed`, `fulfilled`, `revenue_cents`)
	SELECT `scope`.`id`, NEW.`day`, NEW.`signups`, NEW.`cancelled`, NEW.`notified`, NEW.`offered`, NEW.`expired`,
		NEW.`passed`, NEW.`fulfilled`, NEW.`revenue_cents`
	FROM (SELECT 0 AS `id` UNION ALL SELECT NEW.`book_id` WHERE NEW.`book_id` IS NOT NULL) AS `scope`
	WHERE true
	ON CONFLICT (`book_id`, `day`) DO UPDATE SET
		`signups` = `signups` + excluded.`signups`,
		`cancelled` = `cancelled` + excluded.`cancelled`,
		`notified` = `notified` + excluded.`notified`,
		`offered` = `offered` + excluded.`offered`,
		`expired` = `expired` + excluded.`expired`,
		`passed` = `passed` + excluded.`passed`,
		`fulfilled` = `fulfilled` + excluded.`fulfilled`,
		`revenue_cents` = `revenue_cents` + excluded.`revenue_cents`;
	-- The purchases' hours from notice or offer (the median's histogram).
	INSERT INTO `prebook_daily_purchase_hours` (`book_id`, `day`, `hours`, `purchases`)
	SELECT `scope`.`id`, NEW.`day`, NEW.`hours`, NEW.`fulfilled`
	FROM (SELECT 0 AS `id` UNION ALL SELECT NEW.`book_id` WHERE NEW.`book_id` IS NOT NULL) AS `scope`
	WHERE NEW.`hours` IS NOT NULL AND NEW.`fulfilled` > 0
	ON CONFLICT (`book_id`, `day`, `hours`) DO UPDATE SET `purchases` = `purchases` + excluded.`purchases`;
END;
--> statement-breakpoint
-- A sign-up, on the day it was made.
CREATE TRIGGER `pre_bookings_tally_insert` AFTER INSERT ON `pre_bookings`
BEGIN
	INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
		`passed`, `fulfilled`, `revenue_cents`, `hours`)
	VALUES (NEW.`book_id`, substr(NEW.`created_at`, 1, 10), 1, 0, 0, 0, 0, 0, 0, 0, NULL);
END;
--> statement-breakpoint
-- A transition, on the day of its own timestamp (a pass has none: the day it happens). A purchase adds the
-- order line that fulfilled it — the buyer's newest confirmed order of the book, which checkout inserts
-- before it fulfils — once per line (a second pre-booking fulfilled by the same line adds nothing), and its
-- whole hours since the notice or offer.
-- It listens to the timestamp (or pass count) each of these transitions sets, never to `status`: a row
-- trigger costs about a microsecond a row even when its WHEN is false, and the engine's bulk UPDATEs
-- (notified, offered: a million rows) set none of these columns, so they fire nothing here.
CREATE TRIGGER `pre_bookings_tally_transition`
AFTER UPDATE OF `expired_at`, `cancelled_at`, `fulfilled_at`, `passes_left` ON `pre_bookings`
WHEN OLD.`status` IS NOT NEW.`status`
	AND (NEW.`status` IN ('expired', 'cancelled', 'fulfilled')
		OR (OLD.`status` = 'offered' AND NEW.`status` = 'waiting'))
BEGIN
	INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
		`passed`, `fulfilled`, `revenue_cents`, `hours`)
	VALUES (
		NEW.`book_id`,
		substr(coalesce(CASE NEW.`status`
				WHEN 'notified' THEN NEW.`notified_at`
				WHEN 'offered' THEN NEW.`offered_at`
				WHEN 'expired' THEN NEW.`expired_at`
				WHEN 'cancelled' THEN NEW.`cancelled_at`
				WHEN 'fulfilled' THEN NEW.`fulfilled_at`
			END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), 1, 10),
		0,
		NEW.`status` = 'cancelled',
		NEW.`status` = 'notified',
		NEW.`status` = 'offered',
		NEW.`status` = 'expired',
		NEW.`status` = 'waiting',
		NEW.`status` = 'fulfilled',
		CASE WHEN NEW.`status` = 'fulfilled' AND NOT EXISTS (SELECT 1 FROM `pre_bookings` AS `other`
				-- By the reader's pre-bookings (a few), never the book's (`+` keeps its index out).
				WHERE `other`.`user_id` = NEW.`user_id` AND +`other`.`book_id` = NEW.`book_id`
					AND `other`.`status` = 'fulfilled' AND `other`.`fulfilled_at` = NEW.`fulfilled_at`
					AND `other`.`id` <> NEW.`id`)
			THEN coalesce((SELECT `i`.`unit_price_cents` * `i`.`quantity`
				FROM `orders` AS `o` JOIN `order_items` AS `i` ON `i`.`order_id` = `o`.`id`
				WHERE `o`.`user_id` = NEW.`user_id` AND `o`.`status` = 'confirmed' AND `i`.`book_id` = NEW.`book_id`
				ORDER BY `o`.`id` DESC LIMIT 1), 0)
			ELSE 0 END,
		CASE WHEN NEW.`status` = 'fulfilled' THEN CAST(
			(julianday(NEW.`fulfilled_at`) - julianday(coalesce(NEW.`offered_at`, NEW.`notified_at`))) * 24 AS INTEGER)
		END
	);
END;
--> statement-breakpoint
-- A book's waiting line as a counter (`book_demand`): what joins or leaves it, as a view that stores
-- nothing, so the demand alert is decided in one place. A join that makes the count equal the book's
-- `demand_alert_threshold` records `demand.threshold_crossed` in the same statement: counts move by one,
-- so equality after a join is exactly a crossing, and the next needs the count to fall below first.
-- `published_at` follows features/webhooks/webhook-events.ts (publishedUnlessSubscribed): NULL when an
-- enabled endpoint subscribes (the publication or the cron relay delivers it), else born published.
CREATE VIEW `waiting_line_change` AS
SELECT 0 AS `book_id`, 0 AS `delta`, '' AS `at`
WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `waiting_line_change_apply` INSTEAD OF INSERT ON `waiting_line_change`
BEGIN
	UPDATE `book_demand` SET `waiting_count` = max(`waiting_count` + NEW.`delta`, 0)
	WHERE NEW.`delta` < 0 AND `book_id` = NEW.`book_id`;
	INSERT INTO `book_demand` (`book_id`, `waiting_count`)
	SELECT NEW.`book_id`, 1 WHERE NEW.`delta` > 0
	ON CONFLICT (`book_id`) DO UPDATE SET `waiting_count` = `waiting_count` + 1;
	INSERT INTO `webhook_events` (`type`, `payload`, `source_key`, `created_at`, `published_at`)
	SELECT 'demand.threshold_crossed',
		json_object('book_id', `d`.`book_id`, 'waiting_count', `d`.`waiting_count`,
			'threshold', `b`.`demand_alert_threshold`),
		'demand.threshold_crossed:' || `d`.`book_id` || ':' || (`d`.`crossings` + 1),
		NEW.`at`,
		CASE WHEN EXISTS (SELECT 1 FROM `webhook_endpoints` AS `e`, json_each(`e`.`events`) AS `t`
			WHERE `e`.`enabled` = 1 AND `t`.`value` = 'demand.threshold_crossed') THEN NULL ELSE NEW.`at` END
	FROM `book_demand` AS `d` JOIN `books` AS `b` ON `b`.`id` = `d`.`book_id`
	WHERE NEW.`delta` > 0 AND `d`.`book_id` = NEW.`book_id` AND `d`.`waiting_count` = `b`.`demand_alert_threshold`
	ON CONFLICT (`source_key`) DO NOTHING;
	UPDATE `book_demand` SET `crossings` = `crossings` + 1
	WHERE NEW.`delta` > 0 AND `book_id` = NEW.`book_id`
		AND `waiting_count` = (SELECT `demand_alert_threshold` FROM `books` WHERE `id` = NEW.`book_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `pre_bookings_waiting_insert` AFTER INSERT ON `pre_bookings`
WHEN NEW.`status` = 'waiting' AND NEW.`book_id` IS NOT NULL
BEGIN
	INSERT INTO `waiting_line_change` (`book_id`, `delta`, `at`) VALUES (NEW.`book_id`, 1, NEW.`created_at`);
END;
--> statement-breakpoint
-- Leaving a line: a cancel, an expiry… (or a waiting work pre-booking moved to another edition). Notices
-- and offers leave it in bulk: counted per restock record and per round, below.
CREATE TRIGGER `pre_bookings_waiting_leave`
AFTER UPDATE OF `expired_at`, `cancelled_at`, `fulfilled_at` ON `pre_bookings`
WHEN OLD.`status` = 'waiting' AND OLD.`book_id` IS NOT NULL
	AND (NEW.`status` NOT IN ('waiting', 'notified', 'offered') OR NEW.`book_id` IS NOT OLD.`book_id`)
BEGIN
	INSERT INTO `waiting_line_change` (`book_id`, `delta`, `at`) VALUES (OLD.`book_id`, -1, '');
END;
--> statement-breakpoint
-- Joining a line again: a pass (the reader keeps their place, waiting and paused).
CREATE TRIGGER `pre_bookings_waiting_join` AFTER UPDATE OF `passes_left` ON `pre_bookings`
WHEN NEW.`status` = 'waiting' AND NEW.`book_id` IS NOT NULL
	AND (OLD.`status` IS NOT 'waiting' OR OLD.`book_id` IS NOT NEW.`book_id`)
BEGIN
	INSERT INTO `waiting_line_change` (`book_id`, `delta`, `at`)
	VALUES (NEW.`book_id`, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
--> statement-breakpoint
-- The engine's bulk transitions, once per unit: a restock record's (or wave's) notified readers, as its
-- `notified_count` grows (a notify_all batch sets it from 0; each wave adds its own), and an offer round's
-- offered readers, when its batch sets `offered_count` (once). Counted on the day they happen; the book's
-- own pre-bookings among them are taken off its waiting line (a work pre-booking waited in no book's
-- count: it is given the edition only now). Those are counted over the notice's or the round's index,
-- which carries `work_id` for this.
CREATE TRIGGER `restocks_tally_notified` AFTER UPDATE OF `notified_count` ON `restocks`
WHEN NEW.`notified_count` > OLD.`notified_count`
BEGIN
	INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
		`passed`, `fulfilled`, `revenue_cents`, `hours`)
	VALUES (NEW.`book_id`, strftime('%Y-%m-%d', 'now'), 0, 0, NEW.`notified_count` - OLD.`notified_count`, 0, 0,
		0, 0, 0, NULL);
	-- This batch's readers are the record's newest `notified_at` (a wave is the newest of its record).
	INSERT INTO `waiting_line_change` (`book_id`, `delta`, `at`)
	VALUES (NEW.`book_id`, -(SELECT count(*) FROM `pre_bookings` AS `p`
		WHERE `p`.`restock_id` = NEW.`id` AND `p`.`work_id` IS NULL
			AND `p`.`notified_at` = (SELECT max(`q`.`notified_at`) FROM `pre_bookings` AS `q`
				WHERE `q`.`restock_id` = NEW.`id`)), '');
END;
--> statement-breakpoint
CREATE TRIGGER `offer_rounds_tally_offered` AFTER UPDATE OF `offered_count` ON `offer_rounds`
WHEN OLD.`offered_count` IS NULL AND NEW.`offered_count` > 0
BEGIN
	INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
		`passed`, `fulfilled`, `revenue_cents`, `hours`)
	VALUES (NEW.`book_id`, substr(NEW.`offered_at`, 1, 10), 0, 0, 0, NEW.`offered_count`, 0, 0, 0, 0, NULL);
	INSERT INTO `waiting_line_change` (`book_id`, `delta`, `at`)
	VALUES (NEW.`book_id`, -(SELECT count(*) FROM `pre_bookings` AS `p`
		WHERE `p`.`offer_round_id` = NEW.`id` AND `p`.`work_id` IS NULL), '');
END;
--> statement-breakpoint
CREATE TRIGGER `pre_bookings_waiting_delete` AFTER DELETE ON `pre_bookings`
WHEN OLD.`status` = 'waiting' AND OLD.`book_id` IS NOT NULL
BEGIN
	INSERT INTO `waiting_line_change` (`book_id`, `delta`, `at`) VALUES (OLD.`book_id`, -1, '');
END;
--> statement-breakpoint
-- `demand_alert_threshold` is null or positive (a CHECK would rebuild `books`, whose rebuild cascades).
CREATE TRIGGER `books_demand_alert_threshold_insert` BEFORE INSERT ON `books`
WHEN NEW.`demand_alert_threshold` IS NOT NULL AND NEW.`demand_alert_threshold` < 1
BEGIN
	SELECT RAISE(ABORT, 'CHECK constraint failed: ck_books_demand_alert_threshold');
END;
--> statement-breakpoint
CREATE TRIGGER `books_demand_alert_threshold_update` BEFORE UPDATE OF `demand_alert_threshold` ON `books`
WHEN NEW.`demand_alert_threshold` IS NOT NULL AND NEW.`demand_alert_threshold` < 1
BEGIN
	SELECT RAISE(ABORT, 'CHECK constraint failed: ck_books_demand_alert_threshold');
END;
--> statement-breakpoint
-- What the store's history already says (the counters start from it): every book's waiting line, and each
-- day's transitions as far as the rows record them. Passes leave no trace on the row, so they count from
-- here on; an offer passed and offered again counts its last offer only.
INSERT INTO `book_demand` (`book_id`, `waiting_count`)
SELECT `book_id`, count(*) FROM `pre_bookings` WHERE `status` = 'waiting' AND `book_id` IS NOT NULL
GROUP BY `book_id`;
--> statement-breakpoint
INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
	`passed`, `fulfilled`, `revenue_cents`, `hours`)
SELECT `book_id`, substr(`created_at`, 1, 10), count(*), 0, 0, 0, 0, 0, 0, 0, NULL
FROM `pre_bookings` WHERE true
GROUP BY `book_id`, substr(`created_at`, 1, 10);
--> statement-breakpoint
INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
	`passed`, `fulfilled`, `revenue_cents`, `hours`)
SELECT `book_id`, substr(`cancelled_at`, 1, 10), 0, count(*), 0, 0, 0, 0, 0, 0, NULL
FROM `pre_bookings` WHERE `status` = 'cancelled' AND `cancelled_at` IS NOT NULL
GROUP BY `book_id`, substr(`cancelled_at`, 1, 10);
--> statement-breakpoint
INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
	`passed`, `fulfilled`, `revenue_cents`, `hours`)
SELECT `book_id`, substr(`notified_at`, 1, 10), 0, 0, count(*), 0, 0, 0, 0, 0, NULL
FROM `pre_bookings` WHERE `notified_at` IS NOT NULL
GROUP BY `book_id`, substr(`notified_at`, 1, 10);
--> statement-breakpoint
INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
	`passed`, `fulfilled`, `revenue_cents`, `hours`)
SELECT `book_id`, substr(`offered_at`, 1, 10), 0, 0, 0, count(*), 0, 0, 0, 0, NULL
FROM `pre_bookings` WHERE `offered_at` IS NOT NULL
GROUP BY `book_id`, substr(`offered_at`, 1, 10);
--> statement-breakpoint
INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
	`passed`, `fulfilled`, `revenue_cents`, `hours`)
SELECT `book_id`, substr(`expired_at`, 1, 10), 0, 0, 0, 0, count(*), 0, 0, 0, NULL
FROM `pre_bookings` WHERE `status` = 'expired' AND `expired_at` IS NOT NULL
GROUP BY `book_id`, substr(`expired_at`, 1, 10);
--> statement-breakpoint
INSERT INTO `prebook_tally` (`book_id`, `day`, `signups`, `cancelled`, `notified`, `offered`, `expired`,
	`passed`, `fulfilled`, `revenue_cents`, `hours`)
SELECT `book_id`, `day`, 0, 0, 0, 0, 0, 0, count(*), sum(`revenue_cents`), `hours`
FROM (SELECT `p`.`book_id`, substr(`p`.`fulfilled_at`, 1, 10) AS `day`,
		coalesce((SELECT `i`.`unit_price_cents` * `i`.`quantity`
			FROM `orders` AS `o` JOIN `order_items` AS `i` ON `i`.`order_id` = `o`.`id`
			WHERE `o`.`user_id` = `p`.`user_id` AND `o`.`status` = 'confirmed' AND `o`.`created_at` = `p`.`fulfilled_at`
				AND `i`.`book_id` = `p`.`book_id`
			LIMIT 1), 0) AS `revenue_cents`,
		CAST((julianday(`p`.`fulfilled_at`) - julianday(coalesce(`p`.`offered_at`, `p`.`notified_at`))) * 24 AS INTEGER)
			AS `hours`
	FROM `pre_bookings` AS `p` WHERE `p`.`status` = 'fulfilled' AND `p`.`fulfilled_at` IS NOT NULL)
GROUP BY `book_id`, `day`, `hours`;
