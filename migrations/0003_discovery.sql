CREATE TABLE `agent_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`machine_id` text NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_tokens_machine` ON `agent_tokens` (`machine_id`);--> statement-breakpoint
CREATE TABLE `erase_reports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`machine_id` text NOT NULL,
	`task_id` text NOT NULL,
	`disk` text NOT NULL,
	`serial` text,
	`method` text NOT NULL,
	`bytes_written` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`verified` integer NOT NULL,
	`refused` text,
	`at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `erase_reports_machine` ON `erase_reports` (`machine_id`,`id`);--> statement-breakpoint
CREATE TABLE `machine_hardware` (
	`machine_id` text PRIMARY KEY NOT NULL,
	`report` text NOT NULL,
	`reported_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`machine_id` text NOT NULL,
	`kind` text NOT NULL,
	`params` text NOT NULL,
	`state` text NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `tasks_machine` ON `tasks` (`machine_id`,`state`);