-- Calls, as the engine's JSON documents, with the columns queries need next to them.
CREATE TABLE call (
    call_id    TEXT    PRIMARY KEY,
    tenant_id  TEXT    NOT NULL,
    app_id     TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    -- Bumped by every change; a write from a stale version is refused.
    version    INTEGER NOT NULL,
    document   TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    ended_at   TEXT
) STRICT;
CREATE INDEX call_by_app ON call (app_id, ended_at);

-- Timers the engine armed. `timer_key` is the serialised timer; arming the same one again moves it.
CREATE TABLE call_timer (
    call_id   TEXT NOT NULL,
    timer_key TEXT NOT NULL,
    due_at    TEXT NOT NULL,
    PRIMARY KEY (call_id, timer_key)
) STRICT;
CREATE INDEX call_timer_by_due ON call_timer (due_at);

-- The notification outbox and journal: written in the transaction of the change that raised it, then delivered.
CREATE TABLE notification (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id         TEXT    NOT NULL,
    tenant_id       TEXT    NOT NULL,
    app_id          TEXT    NOT NULL,
    -- NULL when the app has neither a callbackUri for the call nor a registered calling webhook.
    url             TEXT,
    body            TEXT    NOT NULL,
    raised_at       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    finished_at     TEXT
) STRICT;
CREATE INDEX notification_pending ON notification (status, call_id, seq);
CREATE INDEX notification_by_app ON notification (app_id, seq);

-- Small named values the server keeps between runs (the virtual clock's time).
CREATE TABLE setting (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The simulated world: users, phones, bots and meetings of each tenant, as JSON documents.
CREATE TABLE world_entity (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    document   TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, entity_key)
) STRICT;
