//! Zone transfers of the key's zones: AXFR (RFC 5936), and IXFR (RFC 1995)
//! answered with the whole zone, which RFC 1995 §4 allows. External-dns,
//! octodns and dnscontrol list a zone's records this way before they
//! change them.
//!
//! The zone comes from the store, as export sends it (the records with the
//! serial of the last deploy), so a client reads its own UPDATE back at
//! once, before named has it. The messages are built here in wire form:
//! the store's records already are wire RDATA, sent uncompressed.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use super::answer::{response, zone_of};
use crate::store::{Store, TsigKey};
use crate::zone::serial::serial_gt;
use crate::zone::{RType, Record, Zone};

/// Octets of records per message at most; the TSIG RR comes on top, and
/// a record larger than this goes alone in its message (64 KiB at most).
const MESSAGE_BUDGET: usize = 16 * 1024;

/// The transport a request came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: one reply, within the datagram.
    Udp,
    /// TCP: as many replies as the answer needs.
    Tcp,
}

/// The unsigned messages answering an AXFR or IXFR `request` of `key`,
/// or the one error reply: FORMERR for AXFR over UDP (as BIND), REFUSED
/// for a zone that is not the key's (as unknown as one that does not
/// exist), NOTAUTH for a name inside a zone that is not its apex.
pub(super) async fn transfer(
    store: &Store,
    key: &TsigKey,
    request: &Message,
    transport: Transport,
) -> Result<Vec<Vec<u8>>, Message> {
    let refuse = |rcode| response(request, OpCode::Query, rcode);
    let [question] = request.queries.as_slice() else {
        return Err(refuse(ResponseCode::FormErr));
    };
    let ixfr = question.query_type() == RecordType::IXFR;
    if transport == Transport::Udp && !ixfr {
        return Err(refuse(ResponseCode::FormErr));
    }
    let info = match zone_of(store, key, question.name()).await {
        Ok(Some(info)) => info,
        Ok(None) => return Err(refuse(ResponseCode::Refused)),
        Err(rcode) => return Err(refuse(rcode)),
    };
    let asked = question.name().to_ascii().to_ascii_lowercase();
    if asked.trim_end_matches('.') != info.fields.domain {
        return Err(refuse(ResponseCode::NotAuth));
    }
    let zone = match store.served_zone(&info.uuid).await {
        Ok((_, zone)) => zone,
        Err(e) => {
            tracing::error!(zone = %info.fields.domain, "dns: reading a zone to transfer: {e}");
            return Err(refuse(ResponseCode::ServFail));
        }
    };
    let Some(soa) = zone.records.iter().find(|r| r.rtype == RType::SOA) else {
        return Err(refuse(ResponseCode::ServFail));
    };
    let question = match question.to_bytes() {
        Ok(bytes) => bytes,
        Err(_) => return Err(refuse(ResponseCode::FormErr)),
    };
    let mut messages = Messages::new(request, question);
    // IXFR from the serial we have, or over UDP: the SOA alone says "up
    // to date", or "ask again over TCP" (RFC 1995 §2, §4).
    let up_to_date = ixfr
        && client_serial(request).is_some_and(|theirs| {
            zone.soa_serial()
                .is_some_and(|ours| !serial_gt(ours, theirs))
        });
    if up_to_date || transport == Transport::Udp {
        messages.push(&zone, soa);
        return Ok(messages.finish());
    }
    messages.push(&zone, soa);
    for record in zone.records.iter().filter(|r| r.rtype != RType::SOA) {
        messages.push(&zone, record);
    }
    messages.push(&zone, soa);
    Ok(messages.finish())
}

/// The serial of the SOA an IXFR request carries in its authority
/// section: the version the client has.
fn client_serial(request: &Message) -> Option<u32> {
    request.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

/// The messages of a transfer, filled record by record.
struct Messages {
    /// Header octets 0..4 of every message: the request's id, QR and AA,
    /// the request's RD, NOERROR.
    head: [u8; 4],
    /// The question, echoed in the first message only (RFC 5936 §2.2).
    question: Vec<u8>,
    done: Vec<Vec<u8>>,
    current: Vec<u8>,
    count: u16,
}

impl Messages {
    fn new(request: &Message, question: Vec<u8>) -> Messages {
        let id = request.metadata.id.to_be_bytes();
        let rd = u8::from(request.metadata.recursion_desired);
        let mut messages = Messages {
            head: [id[0], id[1], 0x80 | 0x04 | rd, 0],
            question,
            done: Vec::new(),
            current: Vec::new(),
            count: 0,
        };
        messages.start();
        messages
    }

    fn start(&mut self) {
        self.current.clear();
        self.current.extend_from_slice(&self.head);
        let qdcount = u16::from(self.done.is_empty());
        self.current.extend_from_slice(&qdcount.to_be_bytes());
        self.current.extend_from_slice(&[0; 6]);
        if self.done.is_empty() {
            self.current.extend_from_slice(&self.question);
        }
        self.count = 0;
    }

    fn push(&mut self, zone: &Zone, record: &Record) {
        let owner = zone.owner_of(record);
        let rdata = zone.rdata_of(record);
        let size = owner.len() + 10 + rdata.len();
        if self.count > 0 && (self.current.len() + size > MESSAGE_BUDGET || self.count == u16::MAX)
        {
            self.seal();
            self.start();
        }
        self.current.extend_from_slice(owner);
        self.current
            .extend_from_slice(&record.rtype.0.to_be_bytes());
        self.current.extend_from_slice(&zone.class.0.to_be_bytes());
        self.current.extend_from_slice(&record.ttl.to_be_bytes());
        self.current
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.current.extend_from_slice(rdata);
        self.count += 1;
    }

    /// Ends the current message: its answer count written in.
    fn seal(&mut self) {
        self.current[6..8].copy_from_slice(&self.count.to_be_bytes());
        self.done.push(std::mem::take(&mut self.current));
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        if self.count > 0 {
            self.seal();
        }
        self.done
    }
}
