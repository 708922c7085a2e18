-- bindbridge store, first version.
--
-- Times are seconds since the epoch (UTC); the API shows them as ISO 8601.
-- uuids are 16-byte blobs (the API shows them as text). Both keep a
-- million-record zone small: a record row is read and written often.
-- Every change to a zone's content bumps
-- zones.version in the same transaction; the deploy worker deploys while
-- version > deployed_version.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Only a hash of each token is kept, with a short prefix to recognise it.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL DEFAULT '',
    prefix        TEXT    NOT NULL,
    hash          BLOB    NOT NULL UNIQUE,
    permissions   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    expires_at    INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
-- Every API request finds its token by prefix.
CREATE INDEX api_tokens_prefix ON api_tokens (prefix);

-- The SOA and the apex NS set are zone data, not records: the API shows a
-- new zone with record_count 0. nameservers is a JSON array of absolute
-- names in presentation form.
CREATE TABLE zones (
    id                INTEGER PRIMARY KEY,
    uuid              BLOB    NOT NULL UNIQUE,
    -- Without the final dot ("example.com"; the root zone is ".").
    domain            TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    owner_id          INTEGER NOT NULL REFERENCES users (id),
    soa_ttl           INTEGER NOT NULL,
    soa_mname         TEXT    NOT NULL,
    soa_rname         TEXT    NOT NULL,
    serial            INTEGER NOT NULL,
    refresh           INTEGER NOT NULL,
    retry             INTEGER NOT NULL,
    expire            INTEGER NOT NULL,
    minimum           INTEGER NOT NULL,
    -- The $TTL of the zone file; NULL when it had none.
    default_ttl       INTEGER,
    nameservers       TEXT    NOT NULL,
    ns_ttl            INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    deployed_version  INTEGER NOT NULL DEFAULT 0,
    -- pending, deployed or failed.
    deploy_state      TEXT    NOT NULL DEFAULT 'pending',
    deploy_error      TEXT,
    deployed_serial   INTEGER,
    deployed_at       INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX zones_owner ON zones (owner_id);

-- Records in the shape of the API: name relative to the zone ("@" for the
-- apex, an absolute name when its spelling differs from the zone's), value
-- in presentation form with absolute names, priority split out for MX and
-- SRV.
CREATE TABLE records (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB    NOT NULL UNIQUE,
    zone_id      INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    record_type  TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    ttl          INTEGER NOT NULL,
    priority     INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX records_zone ON records (zone_id);

-- Who changed what, when. Not tied to the zones table by a foreign key:
-- the history of a deleted zone stays.
CREATE TABLE change_log (
    id           INTEGER PRIMARY KEY,
    zone_uuid    BLOB    NOT NULL,
    domain       TEXT    NOT NULL,
    record_uuid  BLOB,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    before       TEXT,
    after        TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX change_log_zone ON change_log (zone_uuid);
