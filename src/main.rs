//! The `bindbridge` binary: parse the command line, run, map to exit codes
//! (0 ok, 1 the input has errors, 2 could not run).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use bindbridge::cli::{Cli, Command, CompileArgs, Format};
use bindbridge::compile::{self, Request};

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
    let Some(output) = compiled.output.as_deref() else {
        if args.format == Format::Text {
            let _ = writeln!(
                err,
                "{}: {errors} error(s), {warnings} warning(s); nothing written",
                args.file.display()
            );
        }
        return ExitCode::from(1);
    };
    if args.check {
        match compile::run_checkzone(&compiled.origin, output) {
            Ok(v) if v.accepted => {
                if args.format == Format::Text {
                    let _ = writeln!(err, "named-checkzone: output accepted");
                }
            }
            Ok(v) => {
                let message = format!("named-checkzone rejected the output: {}", v.output.trim());
                let _ = match args.format {
                    Format::Text => writeln!(err, "{}: error: {message}", args.file.display()),
                    Format::Json => writeln!(
                        err,
                        "{}",
                        serde_json::json!({"severity": "error", "file": args.file.display().to_string(), "line": 0, "column": 0, "message": message})
                    ),
                };
                return ExitCode::from(1);
            }
            Err(e) => return could_not_run(&e),
        }
    }
    let written = match &args.output {
        Some(path) => compile::write_atomically(path, output),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(output)
                .and_then(|()| out.flush())
                .map_err(|e| compile::Error::Write {
                    path: "standard output".into(),
                    reason: e.to_string(),
                })
        }
    };
    if let Err(e) = written {
        return could_not_run(&e);
    }
    ExitCode::SUCCESS
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
