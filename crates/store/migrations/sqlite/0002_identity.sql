-- Set once, when dev mode first provisioned the well-known tenant and app (so deleting them is respected).
ALTER TABLE instance ADD COLUMN dev_defaults_at TEXT;

CREATE TABLE tenant (
    tenant_id    TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

CREATE TABLE application (
    app_id          TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenant (tenant_id) ON DELETE CASCADE,
    display_name    TEXT NOT NULL,
    calling_webhook TEXT,
    created_at      TEXT NOT NULL
) STRICT;

-- Granted application permissions (app roles), by name: Calls.Initiate.All …
CREATE TABLE application_permission (
    app_id     TEXT NOT NULL REFERENCES application (app_id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (app_id, permission)
) STRICT;

-- Client secrets, stored as SHA-256 hashes; the value is shown once, when created.
CREATE TABLE application_secret (
    secret_id  TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES application (app_id) ON DELETE CASCADE,
    hint       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT
) STRICT;
CREATE INDEX application_secret_by_app ON application_secret (app_id);

-- Certificates (or bare public keys) for client assertions, by thumbprint.
CREATE TABLE application_certificate (
    app_id         TEXT NOT NULL REFERENCES application (app_id) ON DELETE CASCADE,
    sha1           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    description    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT,
    PRIMARY KEY (app_id, sha1)
) STRICT;

-- RS256 keys that sign tokens; a retired key stays published until the tokens it signed have expired.
CREATE TABLE signing_key (
    kid             TEXT PRIMARY KEY,
    private_key_pem TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    retired_at      TEXT
) STRICT;
