-- TSIG keys (RFC 8945) for DNS UPDATE. Unlike API tokens the secret itself
-- is stored: the server computes the same HMAC as the client, so it needs
-- the key, not a hash of it. The database file is therefore as secret as
-- the keys (serve creates it 0600).
CREATE TABLE tsig_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The key's name in lowercase presentation form without the final dot.
    name TEXT NOT NULL,
    -- The algorithm's name as BIND writes it: hmac-sha256, hmac-md5, ...
    algorithm TEXT NOT NULL,
    secret BLOB NOT NULL,
    -- Comma-separated zone domains the key may change; empty: every zone
    -- of its user.
    zones TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- One active key per name: a request names its key, and must find one.
CREATE UNIQUE INDEX tsig_keys_active_name ON tsig_keys (name) WHERE revoked_at IS NULL;
