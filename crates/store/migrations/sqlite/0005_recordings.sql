-- Recordings made by recordResponse: a WAV each, readable with an access token (kept as its SHA-256), deleted some
-- time after their call ends (docs:call-record: "discarded shortly after the call ends").
CREATE TABLE recording (
    recording_id TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    wav          BLOB NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX recording_by_call ON recording (call_id);
