//! Parse-only throughput: `cargo bench --bench parse -- FILE [ORIGIN]`.
//!
//! Reads the zone once, then times `parse_zone` alone (no sort, checks or
//! rendering) over a few runs and prints records per second. The
//! end-to-end comparison with named-compilezone is `bench/compile.sh`.

use std::time::Instant;

use bindbridge::parse::{NoIncludes, Options, parse_zone};
use bindbridge::zone::{Class, Name};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(path) = args.first() else {
        eprintln!("usage: cargo bench --bench parse -- FILE [ORIGIN]");
        std::process::exit(2);
    };
    let origin = args.get(1).map_or("example.com.", String::as_str);
    let text = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}");
        std::process::exit(2);
    });
    let options = Options {
        origin: Name::from_ascii(origin).expect("origin is a valid name"),
        class: Class::IN,
        file_name: path.clone(),
        source_key: None,
    };
    let mut best = f64::MAX;
    let mut records = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let parsed = parse_zone(&text, &options, &mut NoIncludes);
        let secs = start.elapsed().as_secs_f64();
        records = parsed.zone.records.len();
        assert!(!parsed.has_errors(), "benchmark input has errors");
        best = best.min(secs);
    }
    println!(
        "parse-only: {records} records, {:.1} MB, best of 5: {best:.3} s = {:.2} M records/s, {:.0} MB/s",
        text.len() as f64 / 1e6,
        records as f64 / best / 1e6,
        text.len() as f64 / best / 1e6
    );
}
