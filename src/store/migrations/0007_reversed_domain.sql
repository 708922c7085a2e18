-- The zone's domain with its labels reversed ("example.com" →
-- "com.example."; the root zone: ""), so that the zones below a name are
-- one range of an index: creating a zone checks that it overlaps no other
-- account's zone without reading every zone. Set by the store on every
-- insert and save; the rows from before are filled in when the store opens
-- the database (SQLite cannot reverse the labels itself).
ALTER TABLE zones ADD COLUMN reversed_domain TEXT;
CREATE INDEX zones_reversed_domain ON zones (reversed_domain);
