//! Our wire encoding, checked by an independent implementation: every
//! record of every valid fixture whose type hickory-proto knows must decode
//! with hickory's RDATA reader, using exactly its RDATA length, and encode
//! back to the same octets (both in RFC 4034 §6.2 canonical form).

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, BinEncoder, Restrict};

use crate::support::{compile_fixture, fixtures};
use bindbridge::zone::rdata::name_fields;

#[test]
fn hickory_reads_our_rdata_and_writes_the_same_octets() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in fixtures("compile") {
        let compiled = compile_fixture("compile", &case);
        let zone = &compiled.zone;
        for r in &zone.records {
            let record_type = RecordType::from(r.rtype.0);
            if matches!(record_type, RecordType::Unknown(_)) {
                continue;
            }
            let ours = zone.rdata_of(r);
            let mut decoder = BinDecoder::new(ours);
            let rdata = match RData::read(&mut decoder, record_type, Restrict::new(r.rd_len)) {
                Ok(rdata) => rdata,
                Err(e) => {
                    failures.push(format!(
                        "{case}:{}: hickory cannot read our {} RDATA {ours:02x?}: {e}",
                        r.line, r.rtype
                    ));
                    continue;
                }
            };
            if decoder.index() != ours.len() {
                failures.push(format!(
                    "{case}:{}: hickory read {} of {} octets of {}",
                    r.line,
                    decoder.index(),
                    ours.len(),
                    r.rtype
                ));
                continue;
            }
            let mut theirs = Vec::new();
            let mut encoder = BinEncoder::new(&mut theirs);
            encoder.set_canonical_form(true);
            if let Err(e) = rdata.emit(&mut encoder) {
                failures.push(format!(
                    "{case}:{}: hickory cannot write {}: {e}",
                    r.line, r.rtype
                ));
                continue;
            }
            let mut canonical = ours.to_vec();
            for (off, len, lower) in name_fields(r.rtype, ours) {
                if lower {
                    canonical[off..off + len].make_ascii_lowercase();
                }
            }
            if theirs != canonical && theirs != ours {
                failures.push(format!(
                    "{case}:{}: {} differs\n ours:    {canonical:02x?}\n hickory: {theirs:02x?}",
                    r.line, r.rtype
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} records were checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
