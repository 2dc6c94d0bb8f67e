ALTER TABLE "record_block_keys" DROP CONSTRAINT "record_block_keys_record_id_source_records_id_fk";--> statement-breakpoint
ALTER TABLE "record_block_keys" DROP CONSTRAINT "record_block_keys_key_record_id_pk";--> statement-breakpoint
ALTER TABLE "record_block_keys" ADD COLUMN "key_hash" bigint;--> statement-breakpoint
UPDATE "record_block_keys" SET "key_hash" = hashtextextended("key", 0);--> statement-breakpoint
ALTER TABLE "record_block_keys" ALTER COLUMN "key_hash" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "record_block_keys" DROP COLUMN "key";--> statement-breakpoint
CREATE INDEX "record_block_keys_key_idx" ON "record_block_keys" USING btree ("key_hash","record_id");
