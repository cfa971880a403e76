CREATE TABLE `batch_clock` (
	`at` text PRIMARY KEY NOT NULL
);
