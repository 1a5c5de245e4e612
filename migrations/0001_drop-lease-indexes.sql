DROP INDEX `leases_mac`;--> statement-breakpoint
DROP INDEX `leases_client_id`;--> statement-breakpoint
DROP INDEX `leases_expires`;