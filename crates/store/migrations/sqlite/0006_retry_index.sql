-- The notifications waiting for a retry, by when it is due: the dispatcher finds the retries that came due, and when
-- the next one will, without reading the whole outbox (BENCHMARKS.md, "Misbehaving webhooks").
CREATE INDEX notification_retry ON notification (next_attempt_at) WHERE status = 'pending' AND next_attempt_at IS NOT NULL;
