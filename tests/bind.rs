//! BIND is the referee. For every valid fixture: named-checkzone accepts
//! the input and our output, and named-compilezone lists the same records
//! for both. For every invalid fixture: BIND rejects it, we reject it, and
//! we name the lines BIND names.

use std::collections::BTreeSet;

use crate::support::{checkzone, compile_fixture, compilezone_records, fixture_dir, fixtures};

#[test]
fn bind_accepts_our_output_and_sees_the_same_records() {
    let dir = fixture_dir("compile");
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for case in fixtures("compile") {
        let compiled = compile_fixture("compile", &case);
        let origin = compiled.origin.to_string();
        let (accepted, text) = checkzone(&origin, &case, &dir);
        if !accepted {
            failures.push(format!("{case}: fixture is not valid for BIND:\n{text}"));
            continue;
        }
        if compiled.has_errors() {
            failures.push(format!(
                "{case}: BIND accepts it but we report errors: {:?}",
                compiled.diagnostics
            ));
            continue;
        }
        let out = scratch.path().join(&case);
        std::fs::write(&out, compiled.render_to_vec().expect("renders")).expect("write");
        let out_name = out.display().to_string();
        let (accepted, text) = checkzone(&origin, &out_name, &dir);
        if !accepted {
            failures.push(format!(
                "{case}: named-checkzone -k fail rejects our output:\n{text}"
            ));
            continue;
        }
        let theirs = compilezone_records(&origin, &case, &dir);
        let ours = compilezone_records(&origin, &out_name, &dir);
        match (theirs, ours) {
            (Ok(theirs), Ok(ours)) if theirs == ours && !theirs.is_empty() => {}
            (Ok(theirs), Ok(ours)) => {
                let only_theirs: Vec<_> = theirs.iter().filter(|l| !ours.contains(l)).collect();
                let only_ours: Vec<_> = ours.iter().filter(|l| !theirs.contains(l)).collect();
                failures.push(format!("{case}: record sets differ\n only in the input: {only_theirs:#?}\n only in our output: {only_ours:#?}"));
            }
            (theirs, ours) => failures.push(format!(
                "{case}: named-compilezone failed: {theirs:?} / {ours:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// BIND messages that are warnings, not the reason a zone is refused.
const BIND_WARNINGS: &[&str] = &[
    "using SOA MINTTL",
    "RFC1035 TTL semantics",
    "TTL set to prior TTL",
    "out-of-zone data",
    "> MAXTTL",
    "does not end with newline",
    "old style DNSSEC",
];

#[test]
fn bind_rejects_what_we_reject_at_the_same_lines() {
    let dir = fixture_dir("errors");
    let mut failures = Vec::new();
    for case in fixtures("errors") {
        let compiled = compile_fixture("errors", &case);
        let origin = compiled.origin.to_string();
        let (accepted, text) = checkzone(&origin, &case, &dir);
        if accepted {
            failures.push(format!("{case}: BIND accepts this 'invalid' fixture"));
            continue;
        }
        let ours: BTreeSet<u32> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.line)
            .collect();
        if ours.is_empty() {
            failures.push(format!("{case}: BIND rejects it, we report no error"));
            continue;
        }
        let prefix = format!("{case}:");
        let theirs: BTreeSet<u32> = text
            .lines()
            .filter(|l| !BIND_WARNINGS.iter().any(|w| l.contains(w)))
            .filter_map(|l| l.split(&prefix).nth(1))
            .filter_map(|rest| rest.split(':').next()?.trim().parse().ok())
            .collect();
        // BIND names no line for zone-wide problems (no SOA, no NS, NS without
        // address); then rejecting is all we can compare.
        if !theirs.is_empty() && theirs != ours {
            failures.push(format!("{case}: BIND reports errors on lines {theirs:?}, we on {ours:?}\nBIND said:\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
