-- Rate-limit buckets are bookkeeping, not patient data: unlogged, a draw commits without waiting for a WAL flush.
-- After a database crash the table is empty again (every bucket full), which only forgets the last minute's draws.
ALTER TABLE "rate_limit_buckets" SET UNLOGGED;
--> statement-breakpoint
-- Takes the audit chain lock and then reads the chain's last hash, in one round trip. The read is a statement of
-- its own after the lock (a function's statements each take a fresh snapshot under READ COMMITTED), so it sees
-- the entry the previous holder of the lock committed. With only_if_written, a transaction that has written
-- nothing gets no lock and locked = false.
CREATE FUNCTION audit_chain_head(lock_key bigint, only_if_written boolean)
RETURNS TABLE (locked boolean, hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF only_if_written AND txid_current_if_assigned() IS NULL THEN
    RETURN QUERY SELECT false, NULL::text;
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(lock_key);
  RETURN QUERY SELECT true, (SELECT a.hash FROM audit_log a ORDER BY a.id DESC LIMIT 1);
END
$$;
--> statement-breakpoint
-- One publishing round of the change-event outbox in one round trip: under the publish lock, gives the oldest
-- committed unpublished rows (at most max_rows) the next global positions in the order they were written,
-- notifies `channel` when it published any, and returns how many it published and the highest published position.
CREATE FUNCTION publish_change_events(lock_key bigint, max_rows integer, channel text)
RETURNS TABLE (published integer, head bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  pending bigint[];
  last_position bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  SELECT array_agg(p.seq ORDER BY p.seq) INTO pending
    FROM (SELECT c.seq FROM change_events c WHERE c.position IS NULL ORDER BY c.seq LIMIT max_rows) p;
  IF pending IS NULL THEN
    RETURN QUERY SELECT 0, coalesce((SELECT max(c.position) FROM change_events c), 0::bigint);
    RETURN;
  END IF;
  last_position := setval('change_event_position_seq', nextval('change_event_position_seq') + cardinality(pending) - 1);
  UPDATE change_events c SET position = last_position - cardinality(pending) + v.n, published_at = now()
    FROM unnest(pending) WITH ORDINALITY AS v(seq, n)
    WHERE c.seq = v.seq;
  PERFORM pg_notify(channel, 'published');
  RETURN QUERY SELECT cardinality(pending), last_position;
END
$$;
