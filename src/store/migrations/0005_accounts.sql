-- Accounts for the dashboard (/account/): passwords, sessions, login
-- failures; and API tokens limited to some zones.

-- An argon2id hash in PHC string form ($argon2id$v=19$...); NULL: the
-- user cannot log in (API tokens and TSIG keys work all the same).
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- The zones (domains, comma-separated, lowercase, without the final dot)
-- a token may act on; empty: every zone of its user.
ALTER TABLE api_tokens ADD COLUMN zones TEXT NOT NULL DEFAULT '';

-- Dashboard sessions. The cookie holds 256 random bits; only their
-- SHA-256 hash is kept, so a copy of the database logs nobody in.
CREATE TABLE sessions (
    id_hash     BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The token every form of the session carries (CSRF): useless
    -- without the session cookie, so kept in clear.
    csrf        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins of the last minute, per account ('user:NAME') and per
-- client address ('addr:IP'); older rows are removed as new ones come.
CREATE TABLE login_failures (
    key  TEXT    NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
