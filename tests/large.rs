//! Zones big enough to take the two-thread paths of the sort, the checks
//! and the renderer (from 100,000 records): same verdicts, same records,
//! same bytes as BIND and as themselves.

use std::fmt::Write as _;

use bindbridge::compile::{Request, compile};

use crate::support::compilezone_records;

/// A zone of `hosts` owners with an A and a TXT record each, written in
/// reverse order so that the sort has work to do.
fn big_zone(hosts: usize, extra: &str) -> String {
    let mut text = String::from(
        "$ORIGIN big.example.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n  IN NS ns1\nns1 IN A 192.0.2.1\n",
    );
    for i in (0..hosts).rev() {
        let _ = writeln!(
            text,
            "h{i} IN A 10.{}.{}.{}\n  IN TXT \"host {i}\"",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        );
    }
    text.push_str(extra);
    text
}

#[test]
fn a_large_zone_compiles_like_bind_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.zone");
    std::fs::write(&input, big_zone(60_000, "")).unwrap();
    let compiled = compile(&Request {
        file: input.clone(),
        ..Request::default()
    })
    .expect("runs");
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    assert_eq!(compiled.zone.records.len(), 120_003);
    let output = compiled.render_to_vec().expect("renders");
    let out_path = dir.path().join("out.zone");
    std::fs::write(&out_path, &output).unwrap();
    // Canonical order: h0 < h1 < h10 < h100 … as RFC 4034 compares labels.
    let text = String::from_utf8(output.clone()).unwrap();
    let owners: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('h'))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert!(
        owners.windows(2).all(|w| w[0] <= w[1]),
        "owners are not in canonical order"
    );
    let again = compile(&Request {
        file: out_path.clone(),
        ..Request::default()
    })
    .expect("runs");
    assert_eq!(
        again.render_to_vec().expect("renders"),
        output,
        "not idempotent"
    );
    let dir_path = dir.path();
    let theirs =
        compilezone_records("big.example.", "big.zone", dir_path).expect("BIND reads the input");
    let ours =
        compilezone_records("big.example.", "out.zone", dir_path).expect("BIND reads our output");
    assert_eq!(theirs.len(), 120_003);
    assert!(theirs == ours, "named-compilezone sees different records");
}

#[test]
fn errors_in_either_half_of_a_large_zone_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.zone");
    // h1 sorts into the first half, h59999 near the end: both must be caught.
    std::fs::write(
        &input,
        big_zone(60_000, "h1 IN CNAME ns1\nh59999 IN CNAME ns1\n"),
    )
    .unwrap();
    let compiled = compile(&Request {
        file: input,
        ..Request::default()
    })
    .expect("runs");
    let errors: Vec<String> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("h1.big.example.: CNAME and other data"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("h59999.big.example.: CNAME and other data"),
        "{errors:#?}"
    );
}
