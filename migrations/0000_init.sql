CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`machine_id` text,
	`mac` text,
	`at` integer NOT NULL,
	`source` text NOT NULL,
	`type` text NOT NULL,
	`message` text NOT NULL,
	`data` text,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `events_machine` ON `events` (`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `events_unattached_mac` ON `events` (`mac`,`machine_id`);--> statement-breakpoint
CREATE TABLE `leases` (
	`address` integer PRIMARY KEY NOT NULL,
	`subnet` text NOT NULL,
	`mac` text NOT NULL,
	`client_id` text,
	`hostname` text,
	`state` text NOT NULL,
	`starts_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `leases_mac` ON `leases` (`mac`);--> statement-breakpoint
CREATE INDEX `leases_client_id` ON `leases` (`client_id`);--> statement-breakpoint
CREATE INDEX `leases_expires` ON `leases` (`state`,`expires_at`);--> statement-breakpoint
CREATE TABLE `machine_macs` (
	`mac` text PRIMARY KEY NOT NULL,
	`machine_id` text NOT NULL,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `machine_macs_machine` ON `machine_macs` (`machine_id`);--> statement-breakpoint
CREATE TABLE `machines` (
	`id` text PRIMARY KEY NOT NULL,
	`uuid` text,
	`reported_uuid` text,
	`uuid_status` text NOT NULL,
	`serial` text,
	`manufacturer` text,
	`product` text,
	`firmware` text,
	`arch` text,
	`ip` text,
	`state` text NOT NULL,
	`state_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `machines_uuid` ON `machines` (`uuid`);--> statement-breakpoint
CREATE INDEX `machines_serial` ON `machines` (`serial`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
