CREATE TABLE `book_demand` (
	`book_id` integer PRIMARY KEY NOT NULL,
	`waiting_count` integer DEFAULT 0 NOT NULL,
	`crossings` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `prebook_daily` (
	`book_id` integer NOT NULL,
	`day` text NOT NULL,
	`signups` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`notified` integer DEFAULT 0 NOT NULL,
	`offered` integer DEFAULT 0 NOT NULL,
	`expired` integer DEFAULT 0 NOT NULL,
	`passed` integer DEFAULT 0 NOT NULL,
	`fulfilled` integer DEFAULT 0 NOT NULL,
	`revenue_cents` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`book_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `prebook_daily_purchase_hours` (
	`book_id` integer NOT NULL,
	`day` text NOT NULL,
	`hours` integer NOT NULL,
	`purchases` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`book_id`, `day`, `hours`)
);
--> statement-breakpoint
ALTER TABLE `books` ADD `demand_alert_threshold` integer;--> statement-breakpoint
ALTER TABLE `offer_rounds` ADD `offered_count` integer;