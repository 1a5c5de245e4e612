CREATE TABLE `bmcs` (
	`machine_id` text PRIMARY KEY NOT NULL,
	`address` text NOT NULL,
	`port` integer NOT NULL,
	`username` text NOT NULL,
	`password_sealed` text NOT NULL,
	`cipher_suite` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
