-- What each secondary serves of each deployed zone, as bindbridge last
-- asked it. A secondary is named by its configured address and port
-- ("192.0.2.2:53"); rows of secondaries no longer configured are removed
-- at start.
CREATE TABLE secondary_serials (
    zone_id    INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    secondary  TEXT    NOT NULL,
    -- NULL: it answered, but does not serve the zone (yet).
    serial     INTEGER,
    -- Why it could not be asked; NULL when it answered.
    error      TEXT,
    -- Since when it has answered this way (unix time).
    since      INTEGER NOT NULL,
    PRIMARY KEY (zone_id, secondary)
) WITHOUT ROWID;
