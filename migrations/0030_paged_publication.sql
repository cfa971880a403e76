DROP INDEX `idx_pre_bookings_restock_user`;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_restock_notice` ON `pre_bookings` (`restock_id`,`notified_at`,`user_id`);--> statement-breakpoint
ALTER TABLE `offer_rounds` ADD `publish_cursor_user_id` integer;--> statement-breakpoint
ALTER TABLE `offer_rounds` ADD `publish_moved_at` text;--> statement-breakpoint
ALTER TABLE `restocks` ADD `publish_cursor_at` text;--> statement-breakpoint
ALTER TABLE `restocks` ADD `publish_cursor_user_id` integer;--> statement-breakpoint
ALTER TABLE `restocks` ADD `publish_moved_at` text;