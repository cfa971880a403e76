CREATE TABLE `checkout_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`attempted_at` text NOT NULL,
	`declined` integer DEFAULT false NOT NULL,
	`idempotency_key` text,
	`request_fingerprint` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `idx_checkout_attempts_user_time` ON `checkout_attempts` (`user_id`,`attempted_at`);--> statement-breakpoint
CREATE INDEX `idx_checkout_attempts_time` ON `checkout_attempts` (`attempted_at`);--> statement-breakpoint
ALTER TABLE `genres` ADD `name_key` text;--> statement-breakpoint
ALTER TABLE `login_attempts` ADD `network` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_login_attempts_email_network_time` ON `login_attempts` (`email`,`network`,`attempted_at`);--> statement-breakpoint
ALTER TABLE `orders` ADD `request_fingerprint` text;