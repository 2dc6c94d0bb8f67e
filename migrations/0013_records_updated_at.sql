-- What was stored since a moment, read by a bulk load to find the records online ingest stored while it planned.
CREATE INDEX "source_records_updated_idx" ON "source_records" USING btree ("updated_at");
