//! `/api/v1/openapi.json`: the API described for clients and tools
//! (OpenAPI 3.1). The paths and methods come from [`super::ROUTES`], the
//! table the tests hold the router to, so the document cannot drift from
//! what is served.

use serde_json::{Map, Value, json};

use super::{MAX_PAGE, MAX_PAGE_SIZE, ROUTES};

use super::input::CAA_TAGS;

/// A zone name in ASCII: two or more LDH labels of at most 63 octets
/// (what [`super::input::domain`] accepts, IDN aside), the last one
/// starting with a letter as every top-level domain does (an all-numeric
/// last label reads as an IP address and is refused).
const DOMAIN_PATTERN: &str = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$";

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (path, methods) in ROUTES {
        let mut item = Map::new();
        for method in methods {
            item.insert(method.to_ascii_lowercase(), operation(path, method));
        }
        paths.insert(format!("{path}/"), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "bindbridge DNS Management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "DNS zones and records, served by BIND9. Every path also answers without its trailing slash. Lists are bare JSON arrays; with ?page=&page_size= (at most 1000) they carry Link and X-Total-Count headers.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer vps_…"}
            },
            "schemas": schemas(),
        },
    })
}

fn schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "required": ["detail", "error_code", "field"],
            "properties": {
                "detail": {"type": "string"},
                "error_code": {"type": "string", "enum": ["validation_error", "malformed_json", "not_authenticated", "permission_denied", "not_found", "method_not_allowed", "request_timeout", "unsupported_media_type", "payload_too_large", "internal_error"]},
                "field": {"type": ["string", "null"]},
            },
        },
        "Zone": {
            "type": "object",
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "domain": {"type": "string", "example": "example.com"},
                "created_at": {"type": "string", "format": "date-time"},
                "record_count": {"type": "integer"},
            },
        },
        "ZoneDetail": {
            "allOf": [{"$ref": "#/components/schemas/Zone"}],
            "properties": {
                "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                "soa": super::views::SoaView::schema(),
                "nameservers": {"type": "array", "items": {"type": "string"}},
                "nameservers_ttl": {"type": "integer", "description": "TTL of the apex NS set, which NS records written at @ share"},
                "deploy": {"type": "object", "properties": {
                    "state": {"type": "string", "enum": ["pending", "deployed", "failed"]},
                    "serial": {"type": ["integer", "null"]},
                    "deployed_at": {"type": ["string", "null"], "format": "date-time"},
                    "error": {"type": ["string", "null"]},
                    "secondaries": {"type": "array", "items": {"type": "object", "properties": {
                        "address": {"type": "string", "example": "192.0.2.2:53"},
                        "serial": {"type": ["integer", "null"]},
                        "in_sync": {"type": "boolean"},
                        "since": {"type": "string", "format": "date-time"},
                        "error": {"type": ["string", "null"]}}}}}},
            },
        },
        "ZoneCreate": {
            "type": "object",
            "required": ["domain"],
            "additionalProperties": false,
            "properties": {"domain": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": DOMAIN_PATTERN, "description": "Letters, digits and hyphens in dot-separated labels (at least two; 253 characters at most without the final dot); IDN allowed, stored as lowercase A-labels without the final dot. Refused (400, field domain): any other character, public suffixes (co.uk), IP-address-shaped names (1.2.3.4), special-use names (localhost, invalid, local, onion, alt, home.arpa and below), in-addr.arpa and ip6.arpa themselves, names at or above the provider's nameservers, and the catalog zone's names. The pattern shows the ASCII form; IDN (U-labels) is accepted too, and an xn-- label must be a valid A-label (IDNA 2008)"}},
        },
        "Record": {
            "type": "object",
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "zone": {"type": "string", "format": "uuid"},
                "record_type": {"type": "string", "example": "MX"},
                "name": {"type": "string", "example": "@"},
                "value": {"type": "string", "example": "mail.example.com"},
                "ttl": {"type": "integer", "example": 3600},
                "priority": {"type": ["integer", "null"], "example": 10},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "Batch": {
            "description": "A list of changes (or {\"changes\": [...]}), applied in order in one transaction: all or nothing, one version, one deploy, one new serial. Each change is checked like the single write it stands for; the zone rules judge the batch as a whole. A refused change answers 400 naming it (field changes[3].value) and nothing is stored. At most 10,000 changes.",
            "anyOf": [
                {"type": "array", "minItems": 1, "items": one("BatchChange")},
                {"type": "object", "additionalProperties": false, "required": ["changes"], "properties": {
                    "changes": {"type": "array", "minItems": 1, "items": one("BatchChange")}}},
            ],
        },
        "BatchChange": batch_change(),
        "BatchResult": {
            "type": "object",
            "properties": {
                "dry_run": {"type": "boolean"},
                "changes": {"type": "array", "items": {"type": "object", "properties": {
                    "op": {"type": "string"},
                    "domain": {"type": "string", "description": "The zone's, for zone.create and zone.delete"},
                    "record_count": {"type": "integer", "description": "Records the zone.delete would delete"},
                    "records": {"type": "array", "items": one("Record")},
                    "deleted": {"type": "array", "items": {"type": "string", "format": "uuid"}}}}},
            },
        },
        "DryRun": {
            "allOf": [one("BatchResult")],
            "properties": {
                "diff": {"type": "array", "items": {"type": "string"}, "description": "Lines of the rendered zone file removed (-) and added (+), whitespace collapsed; the SOA serial is the stored one (the deploy picks the next)"},
                "checkzone": {"type": "object", "properties": {
                    "accepted": {"type": ["boolean", "null"], "description": "named-checkzone's verdict on the zone after the write, as the deploy renders it; null if it could not be run"},
                    "output": {"type": "string"}}},
            },
        },
        "RecordWrite": record_write(true),
        "RecordPatch": record_write(false),
        "RecordName": {"type": "string", "minLength": 1, "pattern": NAME_PATTERN, "description": "@ (the apex); the zone's name or a name ending in '.' + the zone's name, with or without the final dot (that full name); another name ending in a dot is outside the zone (400); any other name is relative to the zone (www, _sip._tcp, a.b), except a name of three labels or more ending in a top-level domain (www.other.test), which is refused as a name outside the zone; * first for a wildcard. The pattern shows the relative form of one or two labels; full names inside the zone are accepted too"},
        "HostName": {"type": "string", "minLength": 1, "pattern": HOST_NAME_PATTERN, "description": "a RecordName that is a host name (letters, digits, inner hyphens; * first for a wildcard): the owner of A, AAAA and MX records (check-names)"},
        "NsName": {"type": "string", "minLength": 1, "pattern": NS_NAME_PATTERN, "description": "a RecordName without a wildcard: named refuses a wildcard NS"},
        "Ttl": {"type": "integer", "minimum": 1, "maximum": 2147483647, "default": 3600, "description": "the TTL of the record's whole RRset (same name and type): the other records of the RRset take it too; without it, a record joins its RRset's TTL (3600 for a new RRset)"},
        "Priority": {"type": "integer", "minimum": 0, "maximum": 65535, "description": "MX preference or SRV priority"},
        "NoPriority": {"type": "null", "description": "only MX and SRV take a priority; null is the same as absent"},
        "ValueA": {"type": "string", "pattern": format!("^[ \\t]*{IPV4}[ \\t]*$"), "description": "an IPv4 address, four decimal octets without leading zeros"},
        "ValueAAAA": {"type": "string", "format": "ipv6", "description": "an IPv6 address (RFC 4291 text form)"},
        "ValueHost": {"type": "string", "maxLength": 254, "pattern": DOMAIN_PATTERN, "description": "a host name: a full name with a dot, final dot optional (not an IP address, not a name of one label)"},
        "ValueSRV": {"type": "string", "pattern": format!("^[ \\t]*{U16}[ \\t]+{U16}[ \\t]+({HOST}|\\.)[ \\t]*$"), "description": "'weight port target': numbers of 0-65535 and a host name (at most 255 octets in wire form, 253 characters without the final dot), or . for no service"},
        "ValueCAA": {"type": "string", "pattern": format!("^[ \\t]*{U8}[ \\t]+{}[ \\t]+\"[^\"\\\\\\u0000-\\u001f\\u007f]*\"[ \\t]*$", type_words(&CAA_TAGS)), "description": "'flags tag \"value\"': flags 0-255, a tag of issue, issuewild, iodef, contactemail, contactphone, issuemail, issuevmc (any case)"},
        "ValueTXT": {"anyOf": [
            {"type": "string", "pattern": "^\\s*([^\\s\"][\\s\\S]*)?$", "description": "plain text, split into 255-octet strings"},
            {"type": "string", "pattern": TXT_STRINGS_PATTERN, "description": "starting with a quote: character strings in zone-file form (\"a\" \"b\")"},
        ], "description": "TXT (and SPF) as plain text or, starting with a quote, as quoted strings in zone-file form; 65535 octets at most in all (a limit in octets, which JSON Schema cannot state)"},
        "RecordType": {"type": "string", "minLength": 1, "pattern": type_pattern(&described_types()), "description": "A, AAAA, CNAME, MX, TXT, NS, SRV, CAA (the types of the API document), PTR, DNAME and SPF; case is ignored. The server also takes every other type of zone files but SOA (and RFC 3597 TYPEnnn), each value in the type's zone-file presentation form (names in it full names): a grammar per type that this document does not describe"},
    })
}

fn operation(path: &str, method: &str) -> Value {
    let zone = path.starts_with("/api/v1/dns-zones");
    let item = path.ends_with("{uuid}");
    let nested = path.ends_with("/records") && zone;
    let file = path.ends_with("/export") || path.ends_with("/import");
    if file {
        return zone_file_operation(path, method);
    }
    let (summary, permission, ok, schema, body) = match (method, zone, item, nested) {
        ("GET", true, false, false) => ("List DNS zones", "dns:list", "200", list("Zone"), None),
        ("POST", true, false, false) => (
            "Create a DNS zone",
            "dns:create",
            "201",
            one("ZoneDetail"),
            Some("ZoneCreate"),
        ),
        ("GET", true, true, _) => (
            "Get a DNS zone with its records",
            "dns:read",
            "200",
            one("ZoneDetail"),
            None,
        ),
        ("DELETE", true, true, _) => ("Delete a DNS zone", "dns:delete", "204", Value::Null, None),
        ("GET", true, _, true) => (
            "List the records of a zone",
            "dns:list",
            "200",
            list("Record"),
            None,
        ),
        ("POST", true, _, true) => (
            "Create a record in a zone",
            "dns:create",
            "201",
            one("Record"),
            Some("RecordWrite"),
        ),
        ("PATCH", true, _, true) => (
            "Apply a batch of changes to a zone, all or nothing",
            "dns:create, dns:update or dns:delete (each change its own)",
            "200",
            one("BatchResult"),
            Some("Batch"),
        ),
        ("GET", false, false, _) => ("List records", "dns:list", "200", list("Record"), None),
        ("GET", false, true, _) => ("Get a record", "dns:read", "200", one("Record"), None),
        ("PUT", false, true, _) => (
            "Replace a record",
            "dns:update",
            "200",
            one("Record"),
            Some("RecordWrite"),
        ),
        ("PATCH", false, true, _) => (
            "Update fields of a record",
            "dns:update",
            "200",
            one("Record"),
            Some("RecordPatch"),
        ),
        ("DELETE", false, true, _) => ("Delete a record", "dns:delete", "204", Value::Null, None),
        _ => ("", "", "200", Value::Null, None),
    };
    let mut parameters = Vec::new();
    if item || nested {
        parameters.push(json!({"name": "uuid", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
    }
    if method == "GET" && !item {
        if zone && !nested {
            parameters.push(query("domain", "Only the zone with this exact domain"));
        }
        if !zone {
            parameters.push(query("zone", "Only records of this zone (uuid)"));
        }
        if !zone || nested {
            parameters.push(query("record_type", "Only records of this type"));
        }
        parameters.push(json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}}));
        parameters.push(json!({"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}}));
    }
    let writes = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
    if writes {
        parameters.push(json!({"name": "dry_run", "in": "query", "schema": {"type": "boolean", "default": false},
            "description": "true: store nothing, and answer 200 with a DryRun (the diff of the rendered zone and named-checkzone's verdict). The write runs in its transaction and is rolled back, so a dry run refuses exactly what the write would refuse, with the same error."}));
    }
    let mut responses = Map::new();
    if writes {
        responses.insert(
            "200".into(),
            json!({"description": "With ?dry_run=true: what the write would do; nothing was stored", "content": {"application/json": {"schema": one("DryRun")}}}),
        );
    }
    let mut success = match schema {
        Value::Null => json!({"description": "Done; no body"}),
        schema => json!({"description": "OK", "content": {"application/json": {"schema": schema}}}),
    };
    // Record writes say what else the client should know in Warning
    // headers: the RRset's other TTLs changed, or the zone's last deploy
    // failed (named serves an older version).
    let record_write = !zone || nested;
    if record_write && matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") {
        success["headers"] = json!({"Warning": {
            "description": "299 - \"...\": other records of the RRset took the TTL written, or the zone's last deploy failed; one header each",
            "schema": {"type": "string"}}});
    }
    responses.insert(ok.into(), success);
    let error = |description: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    responses.insert(
        "400".into(),
        error("Invalid parameters or validation error"),
    );
    responses.insert("401".into(), error("Invalid or missing API token"));
    responses.insert(
        "403".into(),
        error(&format!("The token lacks {permission}")),
    );
    responses.insert("404".into(), error("Not found, or not the caller's"));
    if body.is_some() {
        responses.insert("413".into(), error("Body over 1 MiB"));
        responses.insert("415".into(), error("Body not sent as application/json"));
    }
    let mut op = json!({
        "summary": summary,
        "description": format!("Needs the {permission} permission (or dns:*)."),
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
    }
    op
}

/// Export and import: zone files, not JSON.
fn zone_file_operation(path: &str, method: &str) -> Value {
    let uuid = json!({"name": "uuid", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let error = |description: &str| json!({"description": description, "content": {"application/json": {"schema": one("Error")}}});
    let zone_file = json!({"text/dns": {"schema": {"type": "string"}}});
    if path.ends_with("/export") && method == "GET" {
        return json!({
            "summary": "Export the zone as its canonical zone file",
            "description": "Needs dns:read. The file the deploy renders (same renderer), with the serial named serves once deployed; text/dns is the media type RFC 4027 registers for master files.",
            "parameters": [uuid],
            "responses": {"200": {"description": "The zone file", "content": zone_file},
                "401": error("Invalid or missing API token"), "403": error("The token lacks dns:read"),
                "404": error("Not found, or not the caller's")},
        });
    }
    json!({
        "summary": "Replace the zone's records with those of a zone file",
        "description": "Needs dns:update. The body is a zone file (text/dns or text/plain), parsed as bindbridge compile does; $INCLUDE is refused. Its records replace the zone's in one transaction (one deploy). The SOA and the apex NS set stay the zone's: the body's SOA (serial included) and apex NS records are not imported; apex NS records other than the zone's nameservers are listed in `ignored`.",
        "parameters": [uuid, {"name": "dry_run", "in": "query", "schema": {"type": "boolean", "default": false},
            "description": "true: store nothing; the answer adds dry_run, diff (the rendered zone's lines removed and added) and checkzone (named-checkzone's verdict on the zone after)"}],
        "requestBody": {"required": true, "content": zone_file},
        "responses": {
            "200": {"description": "Imported", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "records": {"type": "integer"}, "added": {"type": "integer"}, "removed": {"type": "integer"},
                "updated": {"type": "integer"}, "changed": {"type": "boolean"},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "ignored": {"type": "array", "items": {"type": "string"}},
                "dry_run": {"type": "boolean"}, "diff": {"type": "array", "items": {"type": "string"}},
                "checkzone": {"type": "object"}}}}}},
            "400": error("The zone file has errors: field body, each diagnostic as body:line:col: message; nothing imported"),
            "401": error("Invalid or missing API token"), "403": error("The token lacks dns:update"),
            "404": error("Not found, or not the caller's"),
            "413": error("Body over 1 MiB"), "415": error("Body not sent as text/dns or text/plain"),
        },
    })
}

/// A decimal number of 0-255 or 0-65535 (leading zeros allowed, as the
/// parser reads numbers).
const U8: &str = "0*(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const U16: &str =
    "0*(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)";
/// A strict dotted quad, as the parser's `parse_ipv4` reads it.
const IPV4: &str = "((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
/// [`DOMAIN_PATTERN`] unanchored, for a host name inside a longer value.
const HOST: &str =
    "([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?";
/// A record's owner as a relative name of one or two labels (`www`,
/// `_sip._tcp`, `*.dev`) or `@`.
const NAME_PATTERN: &str = "^(@|(\\*|[A-Za-z0-9_-]{1,63})(\\.[A-Za-z0-9_-]{1,63})?)$";
/// [`NAME_PATTERN`] with host-name labels.
const HOST_NAME_PATTERN: &str = "^(@|(\\*|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)?)$";
/// [`NAME_PATTERN`] without the wildcard.
const NS_NAME_PATTERN: &str = "^(@|[A-Za-z0-9_-]{1,63}(\\.[A-Za-z0-9_-]{1,63})?)$";
/// Character strings in zone-file form, the first quoted: quoted strings
/// and bare words, no control bytes (a tab aside), no `;`, `(` or `)`
/// outside quotes; `\DDD` at most `\255`.
const TXT_STRINGS_PATTERN: &str = "^[ \\t]*\"([^\"\\\\\\u0000-\\u001f\\u007f]|\\\\(25[0-5]|2[0-4][0-9]|[01][0-9]{2})|\\\\[^0-9\\u0000-\\u001f\\u007f])*\"([ \\t]+(\"([^\"\\\\\\u0000-\\u001f\\u007f]|\\\\(25[0-5]|2[0-4][0-9]|[01][0-9]{2})|\\\\[^0-9\\u0000-\\u001f\\u007f])*\"|([^\\s\"\\\\;()\\u0000-\\u001f\\u007f]|\\\\(25[0-5]|2[0-4][0-9]|[01][0-9]{2})|\\\\[^0-9\\u0000-\\u001f\\u007f])+))*[ \\t]*$";

/// Record types that share one value grammar, and whether they take a
/// priority: each is one branch of a record write, keyed on `record_type`.
struct Kind {
    types: Vec<&'static str>,
    value: &'static str,
    priority: bool,
    owner: &'static str,
    /// A name holds one record of the type at most (CNAME, DNAME).
    singleton: bool,
}

fn kinds() -> Vec<Kind> {
    let kind = |types: &[&'static str], value, priority, owner| Kind {
        types: types.to_vec(),
        value,
        priority,
        owner,
        singleton: types.iter().any(|t| matches!(*t, "CNAME" | "DNAME")),
    };
    // Owners: A, AAAA and MX records are at host names (check-names);
    // named refuses a wildcard NS.
    let kinds = vec![
        kind(&["A"], "ValueA", false, "HostName"),
        kind(&["AAAA"], "ValueAAAA", false, "HostName"),
        kind(&["MX"], "ValueHost", true, "HostName"),
        kind(&["SRV"], "ValueSRV", true, "RecordName"),
        kind(&["NS"], "ValueHost", false, "NsName"),
        kind(&["CNAME", "DNAME"], "ValueHost", false, "RecordName"),
        kind(&["PTR"], "ValueHost", false, "RecordName"),
        kind(&["CAA"], "ValueCAA", false, "RecordName"),
        kind(&["TXT", "SPF"], "ValueTXT", false, "RecordName"),
    ];
    kinds
}

/// The record types this document describes: those of the API document,
/// and PTR, DNAME and SPF, whose values share their grammars.
fn described_types() -> Vec<&'static str> {
    kinds().into_iter().flat_map(|k| k.types).collect()
}

/// A pattern matching any of `words`, ignoring ASCII case (JSON Schema
/// patterns have no flags): `[Mm][Xx]`.
fn type_words(words: &[&str]) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| match c.is_ascii_alphabetic() {
                    true => format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()),
                    false => c.to_string(),
                })
                .collect()
        })
        .collect();
    format!("({})", alternatives.join("|"))
}

fn type_pattern(types: &[&str]) -> String {
    format!("^{}$", type_words(types))
}

/// The fields of a record of `kind`: name, type, value, TTL and priority
/// (required for MX and SRV, else absent or null).
fn record_fields(kind: &Kind) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(
        "record_type".into(),
        json!({"type": "string", "pattern": type_pattern(&kind.types)}),
    );
    fields.insert("name".into(), one(kind.owner));
    fields.insert("value".into(), one(kind.value));
    // A null TTL is the same as none.
    fields.insert(
        "ttl".into(),
        json!({"anyOf": [one("Ttl"), {"type": "null"}]}),
    );
    let priority = if kind.priority {
        "Priority"
    } else {
        "NoPriority"
    };
    fields.insert("priority".into(), one(priority));
    fields
}

/// A record write, one branch per kind of record: what POST and PUT take
/// (`full`), or with every field optional, what PATCH merges onto the
/// stored record (any branch may match, since the stored type decides).
fn record_write(full: bool) -> Value {
    let branches: Vec<Value> = kinds()
        .iter()
        .map(|kind| {
            let mut required = vec!["record_type", "name", "value"];
            if kind.priority {
                required.push("priority");
            }
            let mut branch = json!({"type": "object", "additionalProperties": false, "properties": record_fields(kind)});
            if full {
                branch["required"] = json!(required);
            }
            branch
        })
        .collect();
    let key = if full { "oneOf" } else { "anyOf" };
    json!({
        "type": "object",
        key: branches,
        "description": "One branch per record type, keyed on record_type: what its value is, and whether it takes a priority (MX and SRV require one; other types refuse it). With PATCH every field is optional and the stored record fills in the others: the result must be a valid record.",
    })
}

/// A change of a batch: a create (the fields of a POST), a replace_rrset
/// (the RRset at name of record_type becomes records) or a delete.
fn batch_change() -> Value {
    let mut branches = Vec::new();
    for kind in kinds() {
        let mut fields = record_fields(&kind);
        fields.insert("op".into(), json!({"const": "create"}));
        let mut required = vec!["op", "record_type", "name", "value"];
        if kind.priority {
            required.push("priority");
        }
        branches.push(json!({"type": "object", "additionalProperties": false, "required": required, "properties": fields,
            "description": "A new record (needs dns:create)"}));
    }
    for kind in kinds() {
        let mut fields = record_fields(&kind);
        let mut member = Map::new();
        for field in ["value", "ttl", "priority"] {
            member.insert(field.into(), fields.remove(field).unwrap_or_default());
        }
        let mut required = vec!["value"];
        if kind.priority {
            required.push("priority");
        }
        fields.insert("op".into(), json!({"const": "replace_rrset"}));
        let mut records = json!({"type": "array", "items": {
            "type": "object", "additionalProperties": false, "required": required, "properties": member}});
        if kind.singleton {
            records["maxItems"] = json!(1);
        }
        fields.insert("records".into(), records);
        branches.push(json!({"type": "object", "additionalProperties": false, "required": ["op", "name", "record_type", "records"], "properties": fields,
            "description": "The RRset at name of record_type becomes records; an empty list deletes it; members must differ as RDATA, a value listed twice (in any spelling) is a 400 (needs dns:update)"}));
    }
    branches.push(json!({"type": "object", "additionalProperties": false, "required": ["op", "uuid"], "properties": {
        "op": {"const": "delete"}, "uuid": {"type": "string", "format": "uuid"}},
        "description": "A record of the zone by uuid (needs dns:delete)"}));
    branches.push(json!({"type": "object", "additionalProperties": false, "required": ["op", "name", "record_type"], "properties": {
        "op": {"const": "delete"}, "name": one("RecordName"), "record_type": one("RecordType")},
        "description": "An RRset by name and record_type (needs dns:delete)"}));
    json!({"oneOf": branches})
}

fn one(schema: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{schema}")})
}

fn list(schema: &str) -> Value {
    json!({"type": "array", "items": one(schema)})
}

fn query(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string"}, "description": description})
}
