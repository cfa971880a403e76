CREATE TABLE `pre_bookings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`book_id` integer NOT NULL,
	`status` text DEFAULT 'waiting' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`notified_at` text,
	`cancelled_at` text,
	`restock_id` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`restock_id`) REFERENCES `restocks`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "ck_pre_bookings_status" CHECK("pre_bookings"."status" IN ('waiting', 'notified', 'cancelled'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `uq_pre_bookings_user_book_waiting` ON `pre_bookings` (`user_id`,`book_id`) WHERE status = 'waiting';--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_book_waiting` ON `pre_bookings` (`book_id`) WHERE status = 'waiting';--> statement-breakpoint
CREATE INDEX `idx_pre_bookings_user_created` ON `pre_bookings` (`user_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `restocks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`book_id` integer NOT NULL,
	`admin_id` integer,
	`quantity_before` integer NOT NULL,
	`quantity_after` integer NOT NULL,
	`notified_count` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`admin_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `idx_restocks_book` ON `restocks` (`book_id`,`id`);