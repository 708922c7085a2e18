//! One request in, its replies out: TSIG first, then the operation. Most
//! requests get one reply; a zone transfer over TCP gets as many as the
//! zone needs, each signed (RFC 8945 §5.3.1).

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::transfer::{Transport, transfer};
use super::tsig::{self, Algorithm, BADKEY, BADSIG, BADTIME, Signed};
use super::{Responder, update};
use crate::store::{Store, TsigKey, ZoneInfo};

/// The replies to `request` (a DNS message) that came over `transport`,
/// in order; none when it gets none (it is a reply itself, or too short
/// to answer). `now` is the time in seconds since the epoch.
pub async fn answer(
    responder: &Responder,
    request: &[u8],
    now: u64,
    transport: Transport,
) -> Vec<Vec<u8>> {
    let store = &responder.store;
    // A header we cannot read, or a reply: answering could start a loop.
    if request.len() < 12 || request[2] & 0x80 != 0 {
        return Vec::new();
    }
    let signed = match tsig::find(request) {
        Ok(Some(signed)) => signed,
        Ok(None) => {
            // Every operation needs a key: without one, nothing here
            // may be seen or changed.
            let rcode = match Message::from_vec(request) {
                Ok(_) => ResponseCode::Refused,
                Err(_) => ResponseCode::FormErr,
            };
            return vec![bare_reply(request, rcode)];
        }
        Err(_) => return vec![bare_reply(request, ResponseCode::FormErr)],
    };
    let key = match store.tsig_key(&signed.key_name).await {
        Ok(key) => key,
        Err(e) => {
            tracing::error!("dns: reading TSIG key: {e}");
            return vec![bare_reply(request, ResponseCode::ServFail)];
        }
    };
    let algorithm = Algorithm::from_name(&signed.algorithm_name);
    let Some((key, algorithm)) = key
        .zip(algorithm)
        .filter(|(k, a)| Algorithm::from_name(&k.algorithm) == Some(*a))
    else {
        tracing::info!(key = %signed.key_name, "dns: unknown TSIG key (BADKEY)");
        return vec![tsig_error(request, &signed, None, BADKEY, now)];
    };
    if !signed.verify(algorithm, &key.secret) {
        tracing::info!(key = %signed.key_name, "dns: bad TSIG MAC (BADSIG)");
        return vec![tsig_error(request, &signed, None, BADSIG, now)];
    }
    if !signed.in_time(now) {
        tracing::info!(key = %signed.key_name, "dns: TSIG time outside the fudge (BADTIME)");
        let secret = Some((algorithm, key.secret.as_slice()));
        return vec![tsig_error(request, &signed, secret, BADTIME, now)];
    }
    let mut replies = match Message::from_vec(&signed.message) {
        Ok(message) => match message.metadata.op_code {
            OpCode::Update => vec![encode(
                request,
                update::handle(responder, &key, &message).await,
            )],
            OpCode::Query if is_transfer(&message) => {
                match transfer(store, &key, &message, transport).await {
                    Ok(messages) => messages,
                    Err(reply) => vec![encode(request, reply)],
                }
            }
            OpCode::Query => vec![encode(request, query(store, &key, &message).await)],
            op => vec![encode(
                request,
                response(&message, op, ResponseCode::NotImp),
            )],
        },
        Err(e) => {
            tracing::debug!("dns: malformed message: {e}");
            vec![bare_reply(request, ResponseCode::FormErr)]
        }
    };
    let secret = (algorithm, key.secret.as_slice());
    let mut mac = Vec::new();
    for (i, reply) in replies.iter_mut().enumerate() {
        mac = match i {
            0 => signed.sign_reply(reply, Some(secret), 0, now),
            _ => signed.sign_next(reply, secret, &mac, now),
        };
    }
    replies
}

/// True for AXFR and IXFR questions.
fn is_transfer(request: &Message) -> bool {
    request
        .queries
        .iter()
        .any(|q| matches!(q.query_type(), RecordType::AXFR | RecordType::IXFR))
}

/// `reply` in wire form; SERVFAIL if it cannot be encoded.
fn encode(request: &[u8], reply: Message) -> Vec<u8> {
    reply.to_vec().unwrap_or_else(|e| {
        tracing::error!("dns: encoding a reply: {e}");
        bare_reply(request, ResponseCode::ServFail)
    })
}

/// A reply of just a header: the request's id and opcode, and `rcode`.
fn bare_reply(request: &[u8], rcode: ResponseCode) -> Vec<u8> {
    let mut reply = vec![0u8; 12];
    reply[0..2].copy_from_slice(&request[0..2]);
    // QR, the request's opcode; RD copied as RFC 1035 asks.
    reply[2] = 0x80 | (request[2] & 0x79);
    reply[3] = (u16::from(rcode) & 0x0F) as u8;
    reply
}

/// NOTAUTH with a TSIG RR carrying `error` (RFC 8945 §5.2): unsigned for
/// BADKEY and BADSIG, signed for BADTIME.
fn tsig_error(
    request: &[u8],
    signed: &Signed,
    key: Option<(Algorithm, &[u8])>,
    error: u16,
    now: u64,
) -> Vec<u8> {
    let mut reply = bare_reply(request, ResponseCode::NotAuth);
    signed.sign_reply(&mut reply, key, error, now);
    reply
}

/// A reply to `request` with its question echoed.
pub(super) fn response(request: &Message, op: OpCode, rcode: ResponseCode) -> Message {
    let mut reply = Message::new(request.metadata.id, MessageType::Response, op);
    reply.metadata.response_code = rcode;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.add_queries(request.queries.iter().cloned());
    reply
}

/// The zone of the key's user that holds `name`, if the key may act on it.
pub(super) async fn zone_of(
    store: &Store,
    key: &TsigKey,
    name: &Name,
) -> Result<Option<ZoneInfo>, ResponseCode> {
    let found = store
        .owned_zone_holding(key.user_id, &name.to_ascii())
        .await
        .map_err(|e| {
            tracing::error!("dns: finding a zone: {e}");
            ResponseCode::ServFail
        })?;
    Ok(found.filter(|zone| key.allows(&zone.fields.domain)))
}

/// The zone's SOA record as named serves it, owned by the apex or, when
/// given, by the apex as the client spelt it.
fn soa_record(zone: &ZoneInfo, spelling: Option<&Name>) -> Option<Record> {
    let soa = &zone.fields.soa;
    let name = match spelling {
        Some(name) => name.clone(),
        None => Name::from_ascii(format!("{}.", zone.fields.domain)).ok()?,
    };
    let mname = Name::from_ascii(&soa.mname).ok()?;
    let rname = Name::from_ascii(&soa.rname).ok()?;
    let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let rdata = SOA::new(
        mname,
        rname,
        soa.serial,
        clamp(soa.refresh),
        clamp(soa.retry),
        clamp(soa.expire),
        soa.minimum,
    );
    Some(Record::from_rdata(name, soa.ttl, RData::SOA(rdata)))
}

/// A query: SOA of a name in one of the key's zones is answered with
/// authority (at the apex in the answer, below it in the authority
/// section, as NODATA); anything else is REFUSED, and a zone the key
/// may not act on is as unknown as one that does not exist.
async fn query(store: &Store, key: &TsigKey, request: &Message) -> Message {
    let refused = || response(request, OpCode::Query, ResponseCode::Refused);
    let [question] = request.queries.as_slice() else {
        return response(request, OpCode::Query, ResponseCode::FormErr);
    };
    if question.query_type() != RecordType::SOA || question.query_class() != DNSClass::IN {
        return refused();
    }
    let zone = match zone_of(store, key, question.name()).await {
        Ok(Some(zone)) => zone,
        Ok(None) => return refused(),
        Err(rcode) => return response(request, OpCode::Query, rcode),
    };
    let at_apex = question
        .name()
        .to_ascii()
        .to_ascii_lowercase()
        .trim_end_matches('.')
        == zone.fields.domain;
    let Some(soa) = soa_record(&zone, at_apex.then(|| question.name())) else {
        return response(request, OpCode::Query, ResponseCode::ServFail);
    };
    let mut reply = response(request, OpCode::Query, ResponseCode::NoError);
    reply.metadata.authoritative = true;
    match at_apex {
        true => reply.add_answer(soa),
        false => reply.add_authority(soa),
    };
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::SqlitePool;

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn no_input_panics_and_unsigned_requests_are_refused(pool: SqlitePool) {
        let store = Responder {
            store: Store::from_pool(pool),
            wait_served: None,
        };
        // Too short, or a reply: no answer.
        assert!(
            answer(&store, &[1, 2, 3], 0, Transport::Tcp)
                .await
                .is_empty()
        );
        let mut reply = vec![0u8; 12];
        reply[2] = 0x80;
        assert!(answer(&store, &reply, 0, Transport::Udp).await.is_empty());
        // An unsigned SOA query for example.com: REFUSED.
        let mut query = Message::query();
        query.add_query(hickory_proto::op::Query::query(
            Name::from_ascii("example.com.").unwrap(),
            RecordType::SOA,
        ));
        let bytes = query.to_vec().unwrap();
        let got = answer(&store, &bytes, 0, Transport::Udp).await.remove(0);
        assert_eq!(got[3] & 0x0F, u16::from(ResponseCode::Refused) as u8);
        // Garbage: FORMERR or nothing, never a panic. A simple LCG
        // keeps it deterministic.
        let mut seed: u32 = 12345;
        for len in 0..400 {
            let mut bytes = bytes.clone();
            bytes.resize(12 + len % 60, 0);
            for b in bytes.iter_mut().skip(2) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            bytes[2] &= 0x7F;
            for reply in answer(&store, &bytes, 0, Transport::Tcp).await {
                assert!(reply.len() >= 12);
            }
        }
    }
}
