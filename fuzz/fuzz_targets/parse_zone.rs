//! Fuzz target for the zone-file parser and the pipeline behind it.
//!
//! Property checked, for arbitrary input bytes:
//!
//! 1. `parse::parse_zone` (with `$INCLUDE` refused) does not panic;
//! 2. `render::order::sort` and `check::check_zone` on the parsed zone do
//!    not panic;
//! 3. if neither the parser nor the checks reported an error, rendering
//!    with the built-in template does not panic and succeeds;
//! 4. and then the rendered text is a fixed point: re-parsing it reports no
//!    errors, and sorting and rendering the re-parsed zone gives exactly the
//!    same bytes (render ∘ parse is idempotent on canonical output).
#![no_main]

use std::sync::OnceLock;

use bindbridge::check::check_zone;
use bindbridge::parse::{self, NoIncludes, Options};
use bindbridge::render::{self, Template, order};
use bindbridge::zone::{Class, Name};
use libfuzzer_sys::fuzz_target;

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(Template::builtin)
}

fn options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(|| Options {
        origin: Name::from_ascii("example.com.").unwrap(),
        class: Class::IN,
        file_name: "fuzz".into(),
        source_key: None,
    })
}

fuzz_target!(|data: &[u8]| {
    let options = options();
    let parsed = parse::parse_zone(data, options, &mut NoIncludes);
    let parse_failed = parsed.has_errors();
    let mut zone = parsed.zone;
    order::sort(&mut zone);
    let checked = check_zone(&zone, parse_failed);
    if parse_failed || checked.iter().any(|d| d.is_error()) {
        return;
    }

    let first = render::render_to_vec(&zone, template()).expect("rendering a clean zone");

    let reparsed = parse::parse_zone(&first, options, &mut NoIncludes);
    if reparsed.has_errors() {
        panic!(
            "re-parsing rendered output gave errors: {:?}\n--- rendered ---\n{}",
            reparsed
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&first),
        );
    }
    let mut zone2 = reparsed.zone;
    order::sort(&mut zone2);
    let second = render::render_to_vec(&zone2, template()).expect("re-rendering");
    if first != second {
        panic!(
            "render is not idempotent\n--- first ---\n{}\n--- second ---\n{}",
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second),
        );
    }
});
