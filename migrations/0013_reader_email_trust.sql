CREATE TABLE `email_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`token_hash` text NOT NULL,
	`purpose` text NOT NULL,
	`user_id` integer,
	`email` text NOT NULL,
	`book_id` integer,
	`network` text DEFAULT '' NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`used_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_email_tokens_token_hash` ON `email_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `idx_email_tokens_email_created` ON `email_tokens` (`email`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_email_tokens_user_created` ON `email_tokens` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_email_tokens_network_created` ON `email_tokens` (`network`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_email_tokens_expires` ON `email_tokens` (`expires_at`);--> statement-breakpoint
ALTER TABLE `users` ADD `email_verified` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `is_guest` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `restock_emails` integer DEFAULT true NOT NULL;