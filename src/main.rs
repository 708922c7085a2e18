//! The `bindbridge` binary: parse the command line, run, map to exit codes
//! (0 ok, 1 the input has errors, 2 could not run).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use bindbridge::cli::{Cli, Command, CompileArgs, Format};
use bindbridge::compile::{self, Destination, Request};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap exits 0 for --help and --version, 2 for usage errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Compile(args) => run_compile(args),
    }
}

fn run_compile(args: CompileArgs) -> ExitCode {
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
        Err(e) => return could_not_run(&e),
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
        return ExitCode::from(1);
    }
    let destination = match &args.output {
        Some(path) => Destination::File(path),
        None => Destination::Stdout,
    };
    match compile::write_output(&compiled, destination, args.check) {
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
            ExitCode::from(1)
        }
        Ok(Some(_)) => {
            if args.format == Format::Text {
                let _ = writeln!(err, "named-checkzone: output accepted");
            }
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => could_not_run(&e),
    }
}

fn could_not_run(e: &dyn std::error::Error) -> ExitCode {
    let mut message = format!("bindbridge: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    eprintln!("{message}");
    ExitCode::from(2)
}
