//! TSIG (RFC 8945) on the wire: finding the TSIG RR of a request,
//! verifying its MAC and signing replies.
//!
//! Done here rather than with hickory-proto's `TSigner`: that needs the
//! `dnssec-ring` feature, whose backend has no HMAC-MD5, the algorithm
//! `nsupdate -y name:secret` uses by default. The MAC covers the message
//! bytes as received, so this works on the raw message.

use hmac::{Hmac, Mac};

/// TSIG's RR type.
const TSIG_TYPE: u16 = 250;
/// Class ANY, the TSIG RR's class.
const ANY: u16 = 255;

/// The fudge (seconds of clock skew) of our replies.
pub const FUDGE: u16 = 300;

/// TSIG error codes (RFC 8945 §4.3, the RR's Error field).
pub const BADSIG: u16 = 16;
/// The key is not known, or not with this algorithm.
pub const BADKEY: u16 = 17;
/// The signing time is outside the fudge.
pub const BADTIME: u16 = 18;

/// A MAC algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// hmac-md5.sig-alg.reg.int
    Md5,
    /// hmac-sha1
    Sha1,
    /// hmac-sha256
    Sha256,
    /// hmac-sha384
    Sha384,
    /// hmac-sha512
    Sha512,
}

impl Algorithm {
    /// From the algorithm name of a TSIG RR, or from BIND's key syntax.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-md5.sig-alg.reg.int" | "hmac-md5" => Some(Algorithm::Md5),
            "hmac-sha1" => Some(Algorithm::Sha1),
            "hmac-sha256" => Some(Algorithm::Sha256),
            "hmac-sha384" => Some(Algorithm::Sha384),
            "hmac-sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The algorithm's name in TSIG RRs (RFC 8945 §6).
    fn wire_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "hmac-md5.sig-alg.reg.int",
            Algorithm::Sha1 => "hmac-sha1",
            Algorithm::Sha256 => "hmac-sha256",
            Algorithm::Sha384 => "hmac-sha384",
            Algorithm::Sha512 => "hmac-sha512",
        }
    }

    /// The MAC of `parts`, concatenated, under `key`.
    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC takes keys of any length: this cannot fail.
            let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Algorithm::Md5 => run::<Hmac<md5::Md5>>(key, parts),
            Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
            Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
            Algorithm::Sha384 => run::<Hmac<sha2::Sha384>>(key, parts),
            Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
        }
    }
}

/// Why a message is not one we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its header, or a record runs past its end.
    #[error("message truncated or malformed")]
    Malformed,
    /// A TSIG RR that is not the last record, or with a bad class or TTL.
    #[error("misplaced or malformed TSIG record")]
    BadTsig,
}

/// The TSIG RR of a request, and the request as it was signed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The key's name, lowercase, labels joined with dots.
    pub key_name: String,
    /// The key's name in canonical wire form.
    key_wire: Vec<u8>,
    /// The algorithm's name as sent.
    pub algorithm_name: String,
    /// Signing time, seconds since the epoch.
    pub time: u64,
    /// The client's fudge.
    pub fudge: u16,
    /// The request's MAC.
    pub mac: Vec<u8>,
    /// The request without its TSIG RR (and with the original id), which
    /// is what was signed and what the server reads.
    pub message: Vec<u8>,
    error: u16,
    other: Vec<u8>,
}

/// Reads a (possibly compressed) name at `pos`; returns its labels and
/// the position after it.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(Vec<Vec<u8>>, usize), WireError> {
    let mut labels = Vec::new();
    let mut end = None;
    let mut hops = 0;
    let mut total = 0;
    loop {
        let len = *msg.get(pos).ok_or(WireError::Malformed)? as usize;
        match len & 0xC0 {
            0 if len == 0 => {
                return Ok((labels, end.unwrap_or(pos + 1)));
            }
            0 => {
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(WireError::Malformed)?;
                total += len + 1;
                if total > 255 {
                    return Err(WireError::Malformed);
                }
                labels.push(label.to_vec());
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg.get(pos + 1).ok_or(WireError::Malformed)? as usize;
                end.get_or_insert(pos + 2);
                hops += 1;
                // A pointer loop would never end.
                if hops > 64 {
                    return Err(WireError::Malformed);
                }
                pos = ((len & 0x3F) << 8) | low;
            }
            _ => return Err(WireError::Malformed),
        }
    }
}

fn lower_wire(labels: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in labels {
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}

fn labels_text(labels: &[Vec<u8>]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .collect();
    parts.join(".")
}

fn u16_at(msg: &[u8], pos: usize) -> Result<u16, WireError> {
    let b = msg.get(pos..pos + 2).ok_or(WireError::Malformed)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

/// Finds the TSIG RR of `msg`, which must be the last record. `Ok(None)`:
/// the message is not signed.
pub fn find(msg: &[u8]) -> Result<Option<Signed>, WireError> {
    if msg.len() < 12 {
        return Err(WireError::Malformed);
    }
    let counts: Vec<usize> = (0..4)
        .map(|k| u16_at(msg, 4 + 2 * k).map(usize::from))
        .collect::<Result<_, _>>()?;
    let mut pos = 12;
    for _ in 0..counts[0] {
        pos = read_name(msg, pos)?.1 + 4;
    }
    let records = counts[1] + counts[2] + counts[3];
    let mut last = None;
    for k in 0..records {
        let start = pos;
        let after_name = read_name(msg, pos)?.1;
        let rtype = u16_at(msg, after_name)?;
        let rdlen = usize::from(u16_at(msg, after_name + 8)?);
        pos = after_name + 10 + rdlen;
        if pos > msg.len() {
            return Err(WireError::Malformed);
        }
        if rtype == TSIG_TYPE {
            if k + 1 != records || counts[3] == 0 {
                return Err(WireError::BadTsig);
            }
            last = Some((start, after_name));
        }
    }
    let Some((start, after_name)) = last else {
        return Ok(None);
    };
    let (key_labels, _) = read_name(msg, start)?;
    let class = u16_at(msg, after_name + 2)?;
    let ttl = msg
        .get(after_name + 4..after_name + 8)
        .ok_or(WireError::Malformed)?;
    if class != ANY || ttl != [0, 0, 0, 0] {
        return Err(WireError::BadTsig);
    }
    let rdata_start = after_name + 10;
    let (alg_labels, mut p) = read_name(msg, rdata_start)?;
    let time_bytes = msg.get(p..p + 6).ok_or(WireError::Malformed)?;
    let time = time_bytes
        .iter()
        .fold(0u64, |t, &b| (t << 8) | u64::from(b));
    let fudge = u16_at(msg, p + 6)?;
    let mac_len = usize::from(u16_at(msg, p + 8)?);
    p += 10;
    let mac = msg
        .get(p..p + mac_len)
        .ok_or(WireError::Malformed)?
        .to_vec();
    p += mac_len;
    let original_id = u16_at(msg, p)?;
    let error = u16_at(msg, p + 2)?;
    let other_len = usize::from(u16_at(msg, p + 4)?);
    let other = msg
        .get(p + 6..p + 6 + other_len)
        .ok_or(WireError::Malformed)?
        .to_vec();
    let mut message = msg[..start].to_vec();
    message[0..2].copy_from_slice(&original_id.to_be_bytes());
    let arcount = (counts[3] - 1) as u16;
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
    Ok(Some(Signed {
        key_name: labels_text(&key_labels),
        key_wire: lower_wire(&key_labels),
        algorithm_name: labels_text(&alg_labels),
        time,
        fudge,
        mac,
        message,
        error,
        other,
    }))
}

/// The TSIG variables (RFC 8945 §4.3.3) appended to a MAC's input.
fn variables(
    key_wire: &[u8],
    algorithm: Algorithm,
    time: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
) -> Vec<u8> {
    let mut v = key_wire.to_vec();
    v.extend_from_slice(&ANY.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend(algorithm_wire(algorithm));
    v.extend_from_slice(&time.to_be_bytes()[2..]);
    v.extend_from_slice(&fudge.to_be_bytes());
    v.extend_from_slice(&error.to_be_bytes());
    v.extend_from_slice(&(other.len() as u16).to_be_bytes());
    v.extend_from_slice(other);
    v
}

fn algorithm_wire(algorithm: Algorithm) -> Vec<u8> {
    let labels: Vec<Vec<u8>> = (algorithm.wire_name().split('.'))
        .map(|l| l.as_bytes().to_vec())
        .collect();
    lower_wire(&labels)
}

/// The fields of a TSIG RR after the algorithm name.
struct TsigFields<'a> {
    time: u64,
    fudge: u16,
    mac: &'a [u8],
    id: u16,
    error: u16,
    other: &'a [u8],
}

/// A whole TSIG RR in wire form.
fn tsig_rr(key_wire: &[u8], alg_wire: &[u8], f: &TsigFields<'_>) -> Vec<u8> {
    let mut rdata = alg_wire.to_vec();
    rdata.extend_from_slice(&f.time.to_be_bytes()[2..]);
    rdata.extend_from_slice(&f.fudge.to_be_bytes());
    rdata.extend_from_slice(&(f.mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(f.mac);
    rdata.extend_from_slice(&f.id.to_be_bytes());
    rdata.extend_from_slice(&f.error.to_be_bytes());
    rdata.extend_from_slice(&(f.other.len() as u16).to_be_bytes());
    rdata.extend_from_slice(f.other);
    let mut rr = key_wire.to_vec();
    rr.extend_from_slice(&TSIG_TYPE.to_be_bytes());
    rr.extend_from_slice(&ANY.to_be_bytes());
    rr.extend_from_slice(&[0, 0, 0, 0]);
    rr.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    rr.extend_from_slice(&rdata);
    rr
}

/// Equal contents, in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Signed {
    /// True if the request's MAC is the one `secret` gives. Truncated MACs
    /// (RFC 8945 §5.2.2.1) are not accepted.
    pub fn verify(&self, algorithm: Algorithm, secret: &[u8]) -> bool {
        let vars = variables(
            &self.key_wire,
            algorithm,
            self.time,
            self.fudge,
            self.error,
            &self.other,
        );
        let mac = algorithm.mac(secret, &[&self.message, &vars]);
        constant_time_eq(&mac, &self.mac)
    }

    /// True if the signing time is within the request's fudge of `now`.
    pub fn in_time(&self, now: u64) -> bool {
        now.abs_diff(self.time) <= u64::from(self.fudge)
    }

    /// Appends a TSIG RR to `reply` (a message without one). With a key,
    /// the reply is signed (RFC 8945 §5.3: over the request's MAC, the
    /// reply and the variables); without, the MAC is empty, as for BADKEY
    /// and BADSIG. A BADTIME reply carries our time in Other Data and the
    /// request's time as its signing time (§5.2.3). Returns the reply's
    /// MAC, which signs the next message of a multi-message answer
    /// ([`Signed::sign_next`]).
    pub fn sign_reply(
        &self,
        reply: &mut Vec<u8>,
        key: Option<(Algorithm, &[u8])>,
        error: u16,
        now: u64,
    ) -> Vec<u8> {
        let algorithm = key.map(|(a, _)| a);
        let (time, other) = if error == BADTIME {
            (self.time, now.to_be_bytes()[2..].to_vec())
        } else {
            (now, Vec::new())
        };
        let mac = match key {
            Some((algorithm, secret)) => {
                let vars = variables(&self.key_wire, algorithm, time, FUDGE, error, &other);
                let request_mac_len = (self.mac.len() as u16).to_be_bytes();
                algorithm.mac(secret, &[&request_mac_len, &self.mac, reply, &vars])
            }
            None => Vec::new(),
        };
        let id = u16::from_be_bytes([reply[0], reply[1]]);
        let alg_wire = match algorithm {
            Some(a) => algorithm_wire(a),
            // Unknown key or algorithm: echo the algorithm name as sent.
            None => {
                let labels: Vec<Vec<u8>> = (self.algorithm_name.split('.'))
                    .filter(|l| !l.is_empty())
                    .map(|l| l.as_bytes().to_vec())
                    .collect();
                lower_wire(&labels)
            }
        };
        let fields = TsigFields {
            time,
            fudge: FUDGE,
            mac: &mac,
            id,
            error,
            other: &other,
        };
        append_tsig(reply, &self.key_wire, &alg_wire, &fields);
        mac
    }

    /// Signs a later message of a multi-message answer (a zone transfer,
    /// RFC 8945 §5.3.1): over the MAC of the message before it, this
    /// message and the timers only. Returns its MAC, for the next one.
    pub fn sign_next(
        &self,
        reply: &mut Vec<u8>,
        (algorithm, secret): (Algorithm, &[u8]),
        prior_mac: &[u8],
        now: u64,
    ) -> Vec<u8> {
        let mut timers = now.to_be_bytes()[2..].to_vec();
        timers.extend_from_slice(&FUDGE.to_be_bytes());
        let prior_len = (prior_mac.len() as u16).to_be_bytes();
        let mac = algorithm.mac(secret, &[&prior_len, prior_mac, reply, &timers]);
        let fields = TsigFields {
            time: now,
            fudge: FUDGE,
            mac: &mac,
            id: u16::from_be_bytes([reply[0], reply[1]]),
            error: 0,
            other: &[],
        };
        append_tsig(reply, &self.key_wire, &algorithm_wire(algorithm), &fields);
        mac
    }
}

/// Appends a TSIG RR to `message` and counts it in ARCOUNT.
fn append_tsig(message: &mut Vec<u8>, key_wire: &[u8], alg_wire: &[u8], fields: &TsigFields) {
    message.extend(tsig_rr(key_wire, alg_wire, fields));
    let arcount = u16::from_be_bytes([message[10], message[11]]).wrapping_add(1);
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs `message` as a client would: the TSIG RR appended.
    fn client_sign(
        message: &[u8],
        key_wire: &[u8],
        algorithm: Algorithm,
        secret: &[u8],
        time: u64,
    ) -> Vec<u8> {
        let vars = variables(key_wire, algorithm, time, 300, 0, &[]);
        let mac = algorithm.mac(secret, &[message, &vars]);
        let id = u16::from_be_bytes([message[0], message[1]]);
        let fields = TsigFields {
            time,
            fudge: 300,
            mac: &mac,
            id,
            error: 0,
            other: &[],
        };
        let mut out = message.to_vec();
        out.extend(tsig_rr(key_wire, &algorithm_wire(algorithm), &fields));
        out[11] += 1;
        out
    }

    #[test]
    fn a_signed_message_verifies_with_its_key_only() {
        let header = [0x12, 0x34, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let key = lower_wire(&[b"Key".to_vec()]);
        for algorithm in [
            Algorithm::Md5,
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ] {
            let wire = client_sign(&header, &key, algorithm, b"secret", 1000);
            let signed = find(&wire).unwrap().unwrap();
            assert_eq!(signed.key_name, "key");
            assert_eq!(signed.message, header);
            assert_eq!(
                Algorithm::from_name(&signed.algorithm_name),
                Some(algorithm)
            );
            assert!(signed.verify(algorithm, b"secret"));
            assert!(!signed.verify(algorithm, b"other"));
            assert!(signed.in_time(1300) && !signed.in_time(1301));
        }
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        assert_eq!(find(&[0; 5]).unwrap_err(), WireError::Malformed);
        let mut header = vec![0u8; 12];
        header[7] = 1; // one answer that is not there
        assert!(find(&header).is_err());
        header.extend_from_slice(&[0xC0, 12]); // a pointer to itself
        assert!(find(&header).is_err());
        assert_eq!(find(&[0u8; 12]).unwrap().map(|s| s.key_name), None);
    }
}
