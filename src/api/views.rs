//! JSON views shared by the API, its OpenAPI document and the command
//! line, so that one thing is written one way everywhere.

use serde_json::{Value, json};

use crate::store::Soa;

/// An SOA as the API (zone detail), `zone show --format json` and the
/// OpenAPI document show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SoaView<'a> {
    /// MNAME, absolute.
    pub primary_ns: &'a str,
    /// RNAME (the hostmaster's mailbox as a name), absolute.
    pub hostmaster: &'a str,
    /// Serial number.
    pub serial: u32,
    /// Refresh interval for secondaries.
    pub refresh: u32,
    /// Retry interval for secondaries.
    pub retry: u32,
    /// Expiry for secondaries.
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308).
    pub minimum: u32,
    /// TTL of the SOA record.
    pub ttl: u32,
}

impl<'a> From<&'a Soa> for SoaView<'a> {
    fn from(soa: &'a Soa) -> Self {
        SoaView {
            primary_ns: &soa.mname,
            hostmaster: &soa.rname,
            serial: soa.serial,
            refresh: soa.refresh,
            retry: soa.retry,
            expire: soa.expire,
            minimum: soa.minimum,
            ttl: soa.ttl,
        }
    }
}

impl SoaView<'_> {
    /// The view as a JSON value.
    pub fn json(&self) -> Value {
        serde_json::to_value(self).expect("an SOA view serialises")
    }

    /// Its JSON Schema, for the OpenAPI document: the fields of the view,
    /// in its order.
    pub fn schema() -> Value {
        let example = Soa {
            ttl: 3600,
            mname: "ns1.example.".into(),
            rname: "hostmaster.example.".into(),
            serial: 1,
            refresh: 1,
            retry: 1,
            expire: 1,
            minimum: 1,
        };
        let fields = SoaView::from(&example).json();
        let properties: serde_json::Map<String, Value> = fields
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let kind = if value.is_string() {
                    "string"
                } else {
                    "integer"
                };
                (name.clone(), json!({"type": kind}))
            })
            .collect();
        json!({"type": "object", "properties": properties})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_lists_every_field_of_the_view() {
        let schema = SoaView::schema();
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(properties.len(), 8);
        assert_eq!(properties["primary_ns"]["type"], "string");
        assert_eq!(properties["serial"]["type"], "integer");
    }
}
