-- Notification delivery you can audit: a stable message id and a per-call sequence number on every notification,
-- the call's chain and scenario ids for the headers Graph sends, dead letters that can be replayed, the wall-clock
-- time a notification was queued (delivery latency starts there), and one journal row per delivery attempt.

-- How many notifications each call has raised: the next one's sequence number is this plus one.
ALTER TABLE call ADD COLUMN notifications_raised INTEGER NOT NULL DEFAULT 0;

CREATE TABLE notification_v4 (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- X-Microsoft-Skype-Message-ID: the same on every attempt and replay, so bots can drop duplicates.
    message_id       TEXT    NOT NULL UNIQUE,
    call_id          TEXT    NOT NULL,
    -- 1, 2, 3 … within the call, in the order the notifications were raised.
    call_sequence    INTEGER NOT NULL,
    tenant_id        TEXT    NOT NULL,
    app_id           TEXT    NOT NULL,
    -- NULL when the app has neither a callbackUri for the call nor a registered calling webhook.
    url              TEXT,
    body             TEXT    NOT NULL,
    chain_id         TEXT    NOT NULL,
    scenario_id      TEXT    NOT NULL,
    -- The server's clock (virtual or not) at the change that raised it.
    raised_at        TEXT    NOT NULL,
    -- The wall clock when it was committed to the outbox.
    queued_at        TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'deadLettered')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Attempts since it was queued or last replayed: what the backoff and the attempt limit count.
    round_attempts   INTEGER NOT NULL DEFAULT 0,
    replayed_at      TEXT,
    next_attempt_at  TEXT,
    last_status      INTEGER,
    last_error       TEXT,
    finished_at      TEXT
) STRICT;

-- Existing rows keep the message ids they were sent with (the dispatcher derived them from seq) and get their
-- sequence numbers in the order they were raised; 'failed' is now a dead letter.
INSERT INTO notification_v4 (seq, message_id, call_id, call_sequence, tenant_id, app_id, url, body, chain_id,
                             scenario_id, raised_at, queued_at, status, attempts, round_attempts, next_attempt_at,
                             last_status, last_error, finished_at)
SELECT n.seq,
       '00000000-5b1e-d0c5-' || printf('%04x-%012x', (n.seq >> 48) & 65535, n.seq & 281474976710655),
       n.call_id,
       ROW_NUMBER() OVER (PARTITION BY n.call_id ORDER BY n.seq),
       n.tenant_id, n.app_id, n.url, n.body,
       COALESCE((SELECT json_extract(c.document, '$.callChainId') FROM call c WHERE c.call_id = n.call_id), n.call_id),
       COALESCE((SELECT json_extract(c.document, '$.callChainId') FROM call c WHERE c.call_id = n.call_id), n.call_id),
       n.raised_at, n.raised_at,
       CASE n.status WHEN 'failed' THEN 'deadLettered' ELSE n.status END,
       n.attempts, n.attempts, n.next_attempt_at, n.last_status, n.last_error, n.finished_at
FROM notification n;

UPDATE call SET notifications_raised = (SELECT COUNT(*) FROM notification_v4 n WHERE n.call_id = call.call_id);

DROP TABLE notification;
ALTER TABLE notification_v4 RENAME TO notification;
CREATE INDEX notification_pending ON notification (status, call_id, seq);
CREATE INDEX notification_by_app ON notification (app_id, seq);
CREATE INDEX notification_by_call ON notification (call_id, seq);
CREATE INDEX notification_finished ON notification (finished_at) WHERE finished_at IS NOT NULL;

-- Every delivery attempt: where it went, what was sent (headers without the token), what came back, how long it
-- took. A batched POST is one row per notification it carried.
CREATE TABLE delivery_attempt (
    seq              INTEGER NOT NULL REFERENCES notification (seq) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       TEXT    NOT NULL,
    latency_ms       INTEGER NOT NULL,
    url              TEXT    NOT NULL,
    request_headers  TEXT    NOT NULL,
    batch_size       INTEGER NOT NULL,
    status           INTEGER,
    response_excerpt TEXT,
    error            TEXT,
    outcome          TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retry', 'deadLettered', 'duplicate')),
    next_attempt_at  TEXT,
    PRIMARY KEY (seq, attempt)
) STRICT;
