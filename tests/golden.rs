//! Golden files: `fixtures/compile/<case>.expected.zone` is the canonical
//! output of `<case>.zone`, `fixtures/errors/<case>.expected.txt` its
//! diagnostics. `BINDBRIDGE_BLESS=1 cargo test` rewrites them.

use crate::support::{check_golden, compile_fixture, fixture_dir, fixtures};

#[test]
fn valid_fixtures_compile_to_their_goldens() {
    let cases = fixtures("compile");
    assert!(
        cases.len() >= 60,
        "expected at least 60 valid fixtures, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let compiled = compile_fixture("compile", case);
        if compiled.has_errors() {
            let shown: Vec<String> = compiled
                .diagnostics
                .iter()
                .map(ToString::to_string)
                .collect();
            failures.push(format!("{case} has errors:\n{}", shown.join("\n")));
            continue;
        }
        let output = compiled.render_to_vec().expect("renders");
        let golden = fixture_dir("compile").join(case.replace(".zone", ".expected.zone"));
        failures.extend(check_golden(&golden, &output));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_fixtures_give_their_golden_diagnostics() {
    let cases = fixtures("errors");
    assert!(
        cases.len() >= 30,
        "expected at least 30 invalid fixtures, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let compiled = compile_fixture("errors", case);
        if !compiled.has_errors() {
            failures.push(format!("{case}: expected errors, got none"));
            continue;
        }
        let text: String = compiled
            .diagnostics
            .iter()
            .map(|d| format!("{d}\n"))
            .collect();
        let golden = fixture_dir("errors").join(case.replace(".zone", ".expected.txt"));
        failures.extend(check_golden(&golden, text.as_bytes()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `compile(compile(x)) == compile(x)`, byte for byte, for every valid fixture.
#[test]
fn compiling_the_output_again_changes_nothing() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for case in fixtures("compile") {
        let first = compile_fixture("compile", &case);
        let once = first.render_to_vec().expect("renders");
        let path = scratch.path().join(&case);
        std::fs::write(&path, &once).expect("write");
        let second = bindbridge::compile::compile(&bindbridge::compile::Request {
            file: path.clone(),
            origin: Some(first.origin.to_string()),
            ..Default::default()
        })
        .expect("compile runs");
        if second.has_errors() {
            failures.push(format!(
                "{case}: the output does not compile: {:?}",
                second.diagnostics
            ));
            continue;
        }
        let twice = second.render_to_vec().expect("renders");
        if once != twice {
            failures.push(format!(
                "{case}: not idempotent\n--- once\n{}\n--- twice\n{}",
                String::from_utf8_lossy(&once),
                String::from_utf8_lossy(&twice)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
