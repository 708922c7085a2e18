-- One TTL per RRset (RFC 2181 section 5.2). Earlier versions let records of
-- one RRset hold different TTLs; named served the TTL of the newest record
-- (the zone is rendered in id order, and an RRset takes the TTL of its last
-- record). Every record of such an RRset now holds that TTL, so the API
-- shows what named serves. RRSIG sets are per covered type, and left as
-- they are.
UPDATE records SET ttl = served.ttl
FROM (
    SELECT id, last_value(ttl) OVER (
        PARTITION BY zone_id, lower(name), upper(record_type)
        ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS ttl
    FROM records
    WHERE upper(record_type) != 'RRSIG'
) AS served
WHERE records.id = served.id AND records.ttl != served.ttl;

-- NS records written at the apex join the zone's NS set, whose TTL was
-- likewise the newest record's.
UPDATE zones SET ns_ttl = (
    SELECT ttl FROM records r
    WHERE r.zone_id = zones.id AND r.name = '@' AND upper(r.record_type) = 'NS'
    ORDER BY r.id DESC LIMIT 1
)
WHERE EXISTS (
    SELECT 1 FROM records r
    WHERE r.zone_id = zones.id AND r.name = '@' AND upper(r.record_type) = 'NS'
);
