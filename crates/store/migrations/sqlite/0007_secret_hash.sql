-- A secret's digest is SHA-256 for the random secrets Switchboard generates and an argon2id PHC string for secrets
-- chosen by hand (the configuration file's): the column says what it holds, not one algorithm.
ALTER TABLE application_secret RENAME COLUMN sha256 TO hash;
