CREATE TABLE `login_networks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`network` text NOT NULL,
	`token_version` integer NOT NULL,
	`last_login_at` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_login_networks_user_network` ON `login_networks` (`user_id`,`network`);--> statement-breakpoint
CREATE INDEX `idx_login_networks_time` ON `login_networks` (`last_login_at`);