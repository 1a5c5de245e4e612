CREATE TABLE `machine_configs` (
	`machine_id` text NOT NULL,
	`generation` integer NOT NULL,
	`config_sealed` text NOT NULL,
	`signature` text NOT NULL,
	`expires_at` integer NOT NULL,
	`task_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`machine_id`, `generation`),
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `machine_nodes` (
	`machine_id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`image_name` text NOT NULL,
	`image_version` text NOT NULL,
	`slot` text NOT NULL,
	`config_generation` integer NOT NULL,
	`addresses` text NOT NULL,
	`hostname` text,
	`boot_id` text,
	`first_reported_at` integer NOT NULL,
	`reported_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `node_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`machine_id` text NOT NULL,
	`task_id` text NOT NULL,
	`config_generation` integer NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `node_tokens_machine` ON `node_tokens` (`machine_id`);--> statement-breakpoint
ALTER TABLE `tasks` ADD `phase` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `bytes_done` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `bytes_total` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `progress_at` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `result` text;--> statement-breakpoint
CREATE INDEX `tasks_created` ON `tasks` (`created_at`);