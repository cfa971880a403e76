ALTER TABLE `book_demand` ADD `work_waiting_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- The demand alert counts the line the demand report counts (API.md, Pre-bookings: a book's line is its own
-- waiting pre-bookings plus the waiting work pre-bookings that accept it; docs/insights.md). `waiting_count`
-- keeps its meaning (the book's own, which `position` reads beyond its cap); `work_waiting_count` is the
-- work part, kept by the triggers below, and the alert compares their sum with the threshold.
--
-- A join of either part is checked in one place: the view `line_demand_join`, whose trigger records
-- `demand.threshold_crossed` when the book's whole line now equals its threshold. Each part moves by one per
-- joining row, so the sum does too, and equality after a join is exactly a crossing. `published_at` follows
-- features/webhooks/webhook-events.ts (publishedUnlessSubscribed), as before.
CREATE VIEW `line_demand_join` AS
SELECT 0 AS `book_id`, '' AS `at`
WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `line_demand_join_check` INSTEAD OF INSERT ON `line_demand_join`
BEGIN
	INSERT INTO `webhook_events` (`type`, `payload`, `source_key`, `created_at`, `published_at`)
	SELECT 'demand.threshold_crossed',
		json_object('book_id', `d`.`book_id`, 'waiting_count', `d`.`waiting_count` + `d`.`work_waiting_count`,
			'threshold', `b`.`demand_alert_threshold`),
		'demand.threshold_crossed:' || `d`.`book_id` || ':' || (`d`.`crossings` + 1),
		NEW.`at`,
		CASE WHEN EXISTS (SELECT 1 FROM `webhook_endpoints` AS `e`, json_each(`e`.`events`) AS `t`
			WHERE `e`.`enabled` = 1 AND `t`.`value` = 'demand.threshold_crossed') THEN NULL ELSE NEW.`at` END
	FROM `book_demand` AS `d` JOIN `books` AS `b` ON `b`.`id` = `d`.`book_id`
	WHERE `d`.`book_id` = NEW.`book_id`
		AND `d`.`waiting_count` + `d`.`work_waiting_count` = `b`.`demand_alert_threshold`
	ON CONFLICT (`source_key`) DO NOTHING;
	UPDATE `book_demand` SET `crossings` = `crossings` + 1
	WHERE `book_id` = NEW.`book_id`
		AND `waiting_count` + `work_waiting_count` = (SELECT `demand_alert_threshold` FROM `books` WHERE `id` = NEW.`book_id`);
END;
--> statement-breakpoint
-- The book's own part: as before, its joins now checked against the whole line.
DROP TRIGGER `waiting_line_change_apply`;
--> statement-breakpoint
CREATE TRIGGER `waiting_line_change_apply` INSTEAD OF INSERT ON `waiting_line_change`
BEGIN
	UPDATE `book_demand` SET `waiting_count` = max(`waiting_count` + NEW.`delta`, 0)
	WHERE NEW.`delta` < 0 AND `book_id` = NEW.`book_id`;
	INSERT INTO `book_demand` (`book_id`, `waiting_count`)
	SELECT NEW.`book_id`, 1 WHERE NEW.`delta` > 0
	ON CONFLICT (`book_id`) DO UPDATE SET `waiting_count` = `waiting_count` + 1;
	INSERT INTO `line_demand_join` (`book_id`, `at`) SELECT NEW.`book_id`, NEW.`at` WHERE NEW.`delta` > 0;
END;
--> statement-breakpoint
-- The work part: a work pre-booking without an edition (`work_id`, `formats_mask`) joins or leaves the line
-- of every edition of its work whose format bit its mask has (acceptsBook in features/allocation/line.ts).
-- A join is one row (+1); a leave may be many rows of one mask at once (a notice, an offer round).
CREATE VIEW `work_line_change` AS
SELECT 0 AS `work_id`, 0 AS `formats_mask`, 0 AS `delta`, '' AS `at`
WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `work_line_change_apply` INSTEAD OF INSERT ON `work_line_change`
BEGIN
	UPDATE `book_demand` SET `work_waiting_count` = max(`work_waiting_count` + NEW.`delta`, 0)
	WHERE NEW.`delta` < 0 AND `book_id` IN (SELECT `e`.`id` FROM `books` AS `e`
		WHERE `e`.`work_id` = NEW.`work_id` AND (NEW.`formats_mask` & (CASE `e`.`format` WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4 WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 WHEN 'other' THEN 32 ELSE 0 END)) <> 0);
	INSERT INTO `book_demand` (`book_id`, `work_waiting_count`)
	SELECT `e`.`id`, 1 FROM `books` AS `e`
	WHERE NEW.`delta` > 0 AND `e`.`work_id` = NEW.`work_id` AND (NEW.`formats_mask` & (CASE `e`.`format` WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4 WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 WHEN 'other' THEN 32 ELSE 0 END)) <> 0
	ON CONFLICT (`book_id`) DO UPDATE SET `work_waiting_count` = `work_waiting_count` + 1;
	INSERT INTO `line_demand_join` (`book_id`, `at`)
	SELECT `e`.`id`, NEW.`at` FROM `books` AS `e`
	WHERE NEW.`delta` > 0 AND `e`.`work_id` = NEW.`work_id` AND (NEW.`formats_mask` & (CASE `e`.`format` WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4 WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 WHEN 'other' THEN 32 ELSE 0 END)) <> 0;
END;
--> statement-breakpoint
-- Joining: a new work pre-booking (a reader's, a guest's confirmation), and a pass (back to waiting, edition
-- cleared, its place kept).
CREATE TRIGGER `pre_bookings_work_waiting_insert` AFTER INSERT ON `pre_bookings`
WHEN NEW.`status` = 'waiting' AND NEW.`book_id` IS NULL AND NEW.`work_id` IS NOT NULL
BEGIN
	INSERT INTO `work_line_change` (`work_id`, `formats_mask`, `delta`, `at`)
	VALUES (NEW.`work_id`, NEW.`formats_mask`, 1, NEW.`created_at`);
END;
--> statement-breakpoint
CREATE TRIGGER `pre_bookings_work_waiting_join` AFTER UPDATE OF `passes_left` ON `pre_bookings`
WHEN NEW.`status` = 'waiting' AND NEW.`book_id` IS NULL AND NEW.`work_id` IS NOT NULL
	AND NOT (OLD.`status` = 'waiting' AND OLD.`book_id` IS NULL)
BEGIN
	INSERT INTO `work_line_change` (`work_id`, `formats_mask`, `delta`, `at`)
	VALUES (NEW.`work_id`, NEW.`formats_mask`, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
--> statement-breakpoint
-- Leaving one at a time: a cancel (the reader's, an unsubscribe, an erasure), a delete.
CREATE TRIGGER `pre_bookings_work_waiting_leave`
AFTER UPDATE OF `expired_at`, `cancelled_at`, `fulfilled_at` ON `pre_bookings`
WHEN OLD.`status` = 'waiting' AND OLD.`book_id` IS NULL AND OLD.`work_id` IS NOT NULL
	AND NEW.`status` NOT IN ('waiting', 'notified', 'offered')
BEGIN
	INSERT INTO `work_line_change` (`work_id`, `formats_mask`, `delta`, `at`)
	VALUES (OLD.`work_id`, OLD.`formats_mask`, -1, '');
END;
--> statement-breakpoint
CREATE TRIGGER `pre_bookings_work_waiting_delete` AFTER DELETE ON `pre_bookings`
WHEN OLD.`status` = 'waiting' AND OLD.`book_id` IS NULL AND OLD.`work_id` IS NOT NULL
BEGIN
	INSERT INTO `work_line_change` (`work_id`, `formats_mask`, `delta`, `at`)
	VALUES (OLD.`work_id`, OLD.`formats_mask`, -1, '');
END;
--> statement-breakpoint
-- Leaving in bulk, once per unit as the book's own part does (prebook_insight_triggers): the work
-- pre-bookings a notice (a restock record, or its newest wave) or an offer round served, one change per
-- (work, mask) among them, so a notice of a million readers pays a few statements, not one per reader.
CREATE TRIGGER `restocks_work_line_notified` AFTER UPDATE OF `notified_count` ON `restocks`
WHEN NEW.`notified_count` > OLD.`notified_count`
BEGIN
	INSERT INTO `work_line_change` (`work_id`, `formats_mask`, `delta`, `at`)
	SELECT `p`.`work_id`, `p`.`formats_mask`, -count(*), '' FROM `pre_bookings` AS `p`
	WHERE `p`.`restock_id` = NEW.`id` AND `p`.`work_id` IS NOT NULL
		AND `p`.`notified_at` = (SELECT max(`q`.`notified_at`) FROM `pre_bookings` AS `q`
			WHERE `q`.`restock_id` = NEW.`id`)
	GROUP BY `p`.`work_id`, `p`.`formats_mask`;
END;
--> statement-breakpoint
CREATE TRIGGER `offer_rounds_work_line_offered` AFTER UPDATE OF `offered_count` ON `offer_rounds`
WHEN OLD.`offered_count` IS NULL AND NEW.`offered_count` > 0
BEGIN
	INSERT INTO `work_line_change` (`work_id`, `formats_mask`, `delta`, `at`)
	SELECT `p`.`work_id`, `p`.`formats_mask`, -count(*), '' FROM `pre_bookings` AS `p`
	WHERE `p`.`offer_round_id` = NEW.`id` AND `p`.`work_id` IS NOT NULL
	GROUP BY `p`.`work_id`, `p`.`formats_mask`;
END;
--> statement-breakpoint
-- A catalog change (an edition added to a work, moved to another, given another format) changes which work
-- pre-bookings accept the book: its work part is counted again, from the work's line index. Like a
-- threshold lowered below the count, a jump past the threshold records nothing until the line falls below
-- it and reaches it again.
CREATE TRIGGER `books_work_line_insert` AFTER INSERT ON `books`
WHEN NEW.`work_id` IS NOT NULL
BEGIN
	INSERT INTO `book_demand` (`book_id`, `work_waiting_count`)
	SELECT `e`.`id`, (SELECT count(*) FROM `pre_bookings` AS `p`
		WHERE `p`.`work_id` = `e`.`work_id` AND `p`.`status` = 'waiting' AND `p`.`book_id` IS NULL
			AND (`p`.`formats_mask` & (CASE `e`.`format` WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4 WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 WHEN 'other' THEN 32 ELSE 0 END)) <> 0)
	FROM `books` AS `e` WHERE `e`.`id` = NEW.`id`
	ON CONFLICT (`book_id`) DO UPDATE SET `work_waiting_count` = excluded.`work_waiting_count`;
END;
--> statement-breakpoint
CREATE TRIGGER `books_work_line_regroup` AFTER UPDATE OF `work_id`, `format` ON `books`
WHEN NEW.`work_id` IS NOT OLD.`work_id` OR NEW.`format` IS NOT OLD.`format`
BEGIN
	INSERT INTO `book_demand` (`book_id`, `work_waiting_count`)
	SELECT `e`.`id`, (SELECT count(*) FROM `pre_bookings` AS `p`
		WHERE `p`.`work_id` = `e`.`work_id` AND `p`.`status` = 'waiting' AND `p`.`book_id` IS NULL
			AND (`p`.`formats_mask` & (CASE `e`.`format` WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4 WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 WHEN 'other' THEN 32 ELSE 0 END)) <> 0)
	FROM `books` AS `e` WHERE `e`.`id` = NEW.`id`
	ON CONFLICT (`book_id`) DO UPDATE SET `work_waiting_count` = excluded.`work_waiting_count`;
END;
--> statement-breakpoint
-- The work parts the store's history already holds.
INSERT INTO `book_demand` (`book_id`, `work_waiting_count`)
SELECT `e`.`id`, count(*) FROM `books` AS `e` JOIN `pre_bookings` AS `p`
	ON `p`.`work_id` = `e`.`work_id` AND `p`.`status` = 'waiting' AND `p`.`book_id` IS NULL
		AND (`p`.`formats_mask` & (CASE `e`.`format` WHEN 'hardcover' THEN 1 WHEN 'paperback' THEN 2 WHEN 'ebook' THEN 4 WHEN 'audiobook' THEN 8 WHEN 'large_print' THEN 16 WHEN 'other' THEN 32 ELSE 0 END)) <> 0
WHERE true
GROUP BY `e`.`id`
ON CONFLICT (`book_id`) DO UPDATE SET `work_waiting_count` = excluded.`work_waiting_count`;
