DROP INDEX `idx_pre_bookings_book_line`;--> statement-breakpoint
ALTER TABLE `pre_bookings` ADD `paused_until` text;--> statement-breakpoint
ALTER TABLE `pre_bookings` ADD `passes_left` integer DEFAULT 2 NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_book_waiting_line` ON `pre_bookings` (`book_id`,`created_at`,`id`,`paused_until`,`user_id`) WHERE status = 'waiting';--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_pause_lapse` ON `pre_bookings` (`paused_until`) WHERE status = 'waiting' AND paused_until IS NOT NULL;--> statement-breakpoint
ALTER TABLE `restocks` ADD `reason` text DEFAULT 'restock' NOT NULL;