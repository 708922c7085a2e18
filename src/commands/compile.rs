//! `bindbridge compile`: diagnostics to standard error, the canonical zone
//! to standard output or a file.

use std::io::Write;
use std::process::ExitCode;

use super::{could_not_run, write_failure};
use crate::cli::{CompileArgs, Format};
use crate::compile::{self, Destination, Request};

/// `bindbridge compile`; the error is standard output closed early.
pub fn run(args: CompileArgs) -> std::io::Result<ExitCode> {
    let shown_file = if args.file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        args.file.display().to_string()
    };
    let request = Request {
        file: args.file.clone(),
        origin: args.origin.clone(),
        workdir: args.workdir.clone(),
        serial: args.serial,
        template: args.template.clone(),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let compiled = match compile::compile(&request) {
        Ok(c) => c,
        Err(e) => return Ok(could_not_run(&e)),
    };
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in &compiled.diagnostics {
        let _ = match args.format {
            Format::Text => writeln!(err, "{d}"),
            Format::Json => writeln!(err, "{}", d.to_json()),
        };
    }
    let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = compiled.diagnostics.len() - errors;
    if compiled.has_errors() {
        if args.format == Format::Text {
            let _ = writeln!(
                err,
                "{}: {errors} error(s), {warnings} warning(s); nothing written",
                shown_file
            );
        }
        return Ok(ExitCode::from(1));
    }
    let destination = match &args.output {
        Some(path) => Destination::File(path),
        None => Destination::Stdout,
    };
    match compile::write_output(&compiled.zone, &compiled.template, destination, args.check) {
        Ok(Some(verdict)) if !verdict.accepted => {
            let message = format!(
                "named-checkzone rejected the output: {}",
                verdict.output.trim()
            );
            let _ = match args.format {
                Format::Text => writeln!(err, "{}: error: {message}", shown_file),
                Format::Json => writeln!(
                    err,
                    "{}",
                    serde_json::json!({"severity": "error", "file": shown_file.clone(), "line": 0, "column": 0, "message": message})
                ),
            };
            Ok(ExitCode::from(1))
        }
        Ok(Some(_)) => {
            if args.format == Format::Text {
                let _ = writeln!(err, "named-checkzone: output accepted");
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => Ok(ExitCode::SUCCESS),
        Err(e) => write_failure(&e),
    }
}
