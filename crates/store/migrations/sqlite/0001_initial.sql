-- The store's own identity: one row, written when the data directory is first used.
CREATE TABLE instance (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    instance_id TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;

-- Reports received by POST /communications/calls/logTeleconferenceDeviceQuality, kept for inspection.
CREATE TABLE device_quality_report (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at    TEXT    NOT NULL,
    tenant_id      TEXT    NOT NULL,
    app_id         TEXT    NOT NULL,
    api_version    TEXT    NOT NULL,
    user_agent     TEXT    NOT NULL,
    call_chain_id  TEXT,
    participant_id TEXT,
    media_leg_id   TEXT,
    quality_json   TEXT    NOT NULL
) STRICT;
