CREATE TABLE `email_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`prebook_id` integer NOT NULL,
	`restock_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`claim_token` text,
	`claimed_at` text,
	`sent_at` text,
	`last_error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`prebook_id`) REFERENCES `pre_bookings`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`restock_id`) REFERENCES `restocks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "ck_email_deliveries_status" CHECK("email_deliveries"."status" IN ('sending', 'sent', 'failed', 'dead'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_email_deliveries_prebook_restock` ON `email_deliveries` (`prebook_id`,`restock_id`);--> statement-breakpoint
CREATE INDEX `idx_email_deliveries_restock_status` ON `email_deliveries` (`restock_id`,`status`);--> statement-breakpoint
CREATE INDEX `idx_email_deliveries_claim` ON `email_deliveries` (`claim_token`);--> statement-breakpoint
ALTER TABLE `restocks` ADD `published_at` text;--> statement-breakpoint
CREATE INDEX `idx_restocks_unpublished` ON `restocks` (`id`) WHERE published_at IS NULL AND notified_count > 0;--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_restock` ON `pre_bookings` (`restock_id`);