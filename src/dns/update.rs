//! RFC 2136 UPDATE messages into the store's prerequisites and changes.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::Responder;
use super::answer::{response, zone_of};
use crate::api::input::{RecordInput, record};
use crate::store::shape::value_text;
use crate::store::{
    Prerequisite, PrerequisiteFailed, RecordRow, RecordWrite, Store, StoreError, TsigKey, UpdateOp,
};
use crate::zone::RType;

/// Answers an UPDATE (RFC 2136 §3) signed with `key`: the zone must be
/// one of the key's; the prerequisites and changes are applied by the
/// store in one transaction, and the reply says how it went.
pub(super) async fn handle(responder: &Responder, key: &TsigKey, request: &Message) -> Message {
    let store = &responder.store;
    let reply = |rcode| response(request, OpCode::Update, rcode);
    // §3.1.1: one zone, of type SOA.
    let [zone] = request.queries.as_slice() else {
        return reply(ResponseCode::FormErr);
    };
    if zone.query_type() != RecordType::SOA || zone.query_class() != DNSClass::IN {
        return reply(ResponseCode::FormErr);
    }
    let info = match zone_of(store, key, zone.name()).await {
        Ok(Some(info)) => info,
        Ok(None) => return reply(ResponseCode::NotAuth),
        Err(rcode) => return reply(rcode),
    };
    // The zone named must be the zone itself, not a name inside it.
    let zname = zone.name().to_ascii().to_ascii_lowercase();
    if zname.trim_end_matches('.') != info.fields.domain {
        return reply(ResponseCode::NotAuth);
    }
    let Ok(apex) = crate::zone::Name::from_ascii(&info.fields.domain) else {
        return reply(ResponseCode::ServFail);
    };
    let convert = Convert {
        apex: &apex,
        zone: zone.name(),
    };
    let prerequisites = match convert.prerequisites(&request.answers) {
        Ok(p) => p,
        Err(rcode) => return reply(rcode),
    };
    let ops = match convert.updates(&request.authorities) {
        Ok(o) => o,
        Err(rcode) => return reply(rcode),
    };
    let actor = key.actor();
    match store
        .apply_update(key.user_id, &info.uuid, &actor, &prerequisites, &ops)
        .await
    {
        Ok(updated) => {
            tracing::info!(zone = %info.fields.domain, key = %key.name, added = updated.added,
                deleted = updated.deleted, "dns update applied");
            if let (Some(within), Some(version)) = (responder.wait_served, updated.version) {
                wait_served(store, &info.uuid, version, within).await;
            }
            reply(ResponseCode::NoError)
        }
        Err(e) => reply(rcode_of(&e, &info.fields.domain)),
    }
}

/// How often the zone's deploy state is read while waiting.
const SERVED_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Waits until the deploy worker has `version` of the zone served by
/// named, or failed to deploy it, or `within` passed. The change is
/// stored either way, so the reply is NOERROR: only logged here.
async fn wait_served(store: &Store, uuid: &str, version: i64, within: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match store.zone(uuid).await {
            Ok(zone) if zone.deployed_version >= version => return,
            Ok(zone) if zone.deploy_state == "failed" => {
                tracing::warn!(zone = %zone.fields.domain, "dns update stored, but its deploy failed");
                return;
            }
            Ok(_) => {}
            // Deleted meanwhile, or the store failing: nothing to wait for.
            Err(e) => {
                tracing::warn!("dns update stored; its deploy state unknown: {e}");
                return;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(%uuid, "dns update stored, not served by named within {within:?}");
            return;
        }
        tokio::time::sleep(SERVED_POLL).await;
    }
}

/// The rcode of a refused update.
fn rcode_of(e: &StoreError, domain: &str) -> ResponseCode {
    match e {
        StoreError::Prerequisite(failed) => match failed {
            PrerequisiteFailed::NxDomain => ResponseCode::NXDomain,
            PrerequisiteFailed::YxDomain => ResponseCode::YXDomain,
            PrerequisiteFailed::NxRRset => ResponseCode::NXRRSet,
            PrerequisiteFailed::YxRRset => ResponseCode::YXRRSet,
        },
        StoreError::Conflict { .. } | StoreError::UpdateRefused(_) | StoreError::Shape { .. } => {
            tracing::info!(zone = %domain, "dns update refused: {e}");
            ResponseCode::Refused
        }
        StoreError::UnknownZone(_) => ResponseCode::NotAuth,
        e => {
            tracing::error!(zone = %domain, "dns update failed: {e}");
            ResponseCode::ServFail
        }
    }
}

/// Types that are no data (§3.4.1.2: FORMERR in an add).
fn is_meta(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::ANY | RecordType::AXFR | RecordType::IXFR | RecordType::OPT | RecordType::TSIG
    ) || matches!(u16::from(rtype), 128..=255)
}

/// Converts records of one zone from the wire to the store's shapes.
struct Convert<'a> {
    apex: &'a crate::zone::Name,
    zone: &'a Name,
}

impl Convert<'_> {
    /// The owner as the store takes it: the full name with its final dot.
    /// A name outside the zone is NOTZONE (§3.2.3, §3.4.1.3).
    fn owner(&self, rr: &Record) -> Result<String, ResponseCode> {
        if !self.zone.zone_of(&rr.name) {
            return Err(ResponseCode::NotZone);
        }
        Ok(rr.name.to_ascii())
    }

    fn type_text(record: &Record) -> String {
        RType(u16::from(record.record_type())).to_string()
    }

    /// A record with data in the store's row shape, checked as the API
    /// checks a value (any refusal is REFUSED). `ttl` is the TTL to check
    /// it with: the record's for an add; for a delete or a prerequisite,
    /// whose TTL is zero and not compared, any valid one.
    fn row(&self, rr: &Record, ttl: u32) -> Result<RecordWrite, ResponseCode> {
        let name = self.owner(rr)?;
        let rtype = RType(u16::from(rr.record_type()));
        let mut wire = Vec::new();
        let mut encoder = BinEncoder::new(&mut wire);
        encoder.set_name_encoding(NameEncoding::Uncompressed);
        rr.data
            .emit(&mut encoder)
            .map_err(|_| ResponseCode::FormErr)?;
        let (value, priority) = value_text(rtype, &wire, &mut Vec::new());
        let input = RecordInput {
            record_type: Some(rtype.to_string()),
            name: Some(name),
            value: Some(value),
            ttl: Some(i64::from(ttl)),
            priority: priority.map(i64::from),
        };
        record(self.apex, &input, ttl).map_err(|e| {
            tracing::info!("dns update refused: {}", e.detail);
            ResponseCode::Refused
        })
    }

    /// §3.2: the prerequisite section.
    fn prerequisites(&self, records: &[Record]) -> Result<Vec<Prerequisite>, ResponseCode> {
        let mut out: Vec<Prerequisite> = Vec::new();
        for r in records {
            let name = self.owner(r)?;
            let rtype = r.record_type();
            let empty = matches!(&r.data, RData::Update0(_));
            if r.ttl != 0 {
                return Err(ResponseCode::FormErr);
            }
            let prerequisite = match r.dns_class {
                DNSClass::ANY if !empty => return Err(ResponseCode::FormErr),
                DNSClass::ANY if rtype == RecordType::ANY => Prerequisite::NameInUse(name),
                DNSClass::ANY => Prerequisite::RRsetExists {
                    name,
                    record_type: Self::type_text(r),
                },
                DNSClass::NONE if !empty => return Err(ResponseCode::FormErr),
                DNSClass::NONE if rtype == RecordType::ANY => Prerequisite::NameNotInUse(name),
                DNSClass::NONE => Prerequisite::RRsetAbsent {
                    name,
                    record_type: Self::type_text(r),
                },
                DNSClass::IN if !empty && !is_meta(rtype) => {
                    // §3.2.3: value-dependent RRs of one RRset make one
                    // prerequisite.
                    let row = self.row(r, 1)?.row;
                    let record_type = Self::type_text(r);
                    let same = out.iter_mut().find_map(|p| match p {
                        Prerequisite::RRsetIs {
                            name: n,
                            record_type: t,
                            records,
                        } if n.eq_ignore_ascii_case(&name) && *t == record_type => Some(records),
                        _ => None,
                    });
                    match same {
                        Some(records) => records.push(row),
                        None => out.push(Prerequisite::RRsetIs {
                            name,
                            record_type,
                            records: vec![row],
                        }),
                    }
                    continue;
                }
                _ => return Err(ResponseCode::FormErr),
            };
            out.push(prerequisite);
        }
        Ok(out)
    }

    /// §3.4.1: the update section, checked whole before anything is done.
    fn updates(&self, records: &[Record]) -> Result<Vec<UpdateOp>, ResponseCode> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let name = self.owner(r)?;
            let rtype = r.record_type();
            let empty = matches!(&r.data, RData::Update0(_));
            let op = match r.dns_class {
                DNSClass::IN if !empty && !is_meta(rtype) => UpdateOp::Add(self.row(r, r.ttl)?),
                DNSClass::ANY if !empty || r.ttl != 0 => return Err(ResponseCode::FormErr),
                DNSClass::ANY if rtype == RecordType::ANY => UpdateOp::DeleteName(name),
                DNSClass::ANY if !is_meta(rtype) => UpdateOp::DeleteRRset {
                    name,
                    record_type: Self::type_text(r),
                },
                DNSClass::NONE if !empty && r.ttl == 0 && !is_meta(rtype) => {
                    let row: RecordRow = self.row(r, 1)?.row;
                    UpdateOp::DeleteRecord(row)
                }
                _ => return Err(ResponseCode::FormErr),
            };
            out.push(op);
        }
        Ok(out)
    }
}
