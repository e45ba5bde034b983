-- Call ownership (ARCHITECTURE.md, "Ownership"): each live call is changed by one node at a time. A node is alive
-- while its heartbeat has not expired; a call's owner row names the node that may commit its changes and the epoch
-- those changes must carry (the fencing token: a takeover raises it, so a node that lost the call cannot commit).
CREATE TABLE node (
    node_id      TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- `node_id` is '' once released; the row stays so the epoch never goes back.
CREATE TABLE call_owner (
    call_id TEXT    PRIMARY KEY,
    node_id TEXT    NOT NULL,
    epoch   INTEGER NOT NULL
);
CREATE INDEX call_owner_by_node ON call_owner (node_id);
