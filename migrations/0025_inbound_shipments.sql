CREATE TABLE `inbound_shipments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`book_id` integer NOT NULL,
	`quantity` integer NOT NULL,
	`expected_at` text NOT NULL,
	`received_at` text,
	`created_at` text NOT NULL,
	FOREIGN KEY (`book_id`) REFERENCES `books`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `idx_inbound_shipments_book_pending` ON `inbound_shipments` (`book_id`,`expected_at`) WHERE received_at IS NULL;--> statement-breakpoint
CREATE INDEX `idx_inbound_shipments_book` ON `inbound_shipments` (`book_id`,`id`);