//! Test support: fixture lists, golden files and the real BIND tools.
//!
//! BIND tools are required: a missing tool fails the test with the package
//! to install, never skips it. Every BIND call uses `-i local`/`-i none`,
//! so nothing is looked up outside this machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bindbridge::compile::{Compiled, Request, compile};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Input zone files of a fixture directory (`fixtures/<dir>/*.zone`,
/// goldens excluded), sorted by name.
pub fn fixtures(dir: &str) -> Vec<String> {
    let path = root().join("fixtures").join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zone") && !n.ends_with(".expected.zone"))
        .collect();
    names.sort();
    names
}

/// The directory of a fixture set.
pub fn fixture_dir(dir: &str) -> PathBuf {
    root().join("fixtures").join(dir)
}

/// Compiles a fixture the way `bindbridge compile -w fixtures/<dir> <case>` does.
pub fn compile_fixture(dir: &str, case: &str) -> Compiled {
    compile(&Request {
        file: PathBuf::from(case),
        workdir: Some(fixture_dir(dir)),
        ..Request::default()
    })
    .unwrap_or_else(|e| panic!("{dir}/{case}: compile could not run: {e}"))
}

/// True when goldens should be rewritten (`BINDBRIDGE_BLESS=1`).
pub fn blessing() -> bool {
    std::env::var_os("BINDBRIDGE_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file at `path`, or writes it when
/// blessing. Returns a description of the mismatch.
pub fn check_golden(path: &Path, actual: &[u8]) -> Option<String> {
    if blessing() {
        std::fs::write(path, actual)
            .unwrap_or_else(|e| panic!("cannot bless {}: {e}", path.display()));
        return None;
    }
    match std::fs::read(path) {
        Ok(expected) if expected == actual => None,
        Ok(expected) => Some(format!(
            "{} differs from the output; rerun with BINDBRIDGE_BLESS=1 to accept\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        )),
        Err(e) => Some(format!(
            "{}: {e}; run with BINDBRIDGE_BLESS=1 to create it",
            path.display()
        )),
    }
}

/// Runs a BIND tool, failing the test clearly if it is not installed.
pub fn bind_tool(tool: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}): install BIND's tools (Debian: apt-get install bind9-utils)")
        })
}

/// `named-checkzone -k fail -i local ORIGIN FILE` in `dir`: (accepted, output).
pub fn checkzone(origin: &str, file: &str, dir: &Path) -> (bool, String) {
    let out = bind_tool(
        "named-checkzone",
        &["-k", "fail", "-i", "local", origin, file],
        dir,
    );
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The record set `named-compilezone -s full` prints for a file: one
/// record per line, whitespace collapsed, sorted bytewise (LC_ALL=C).
pub fn compilezone_records(origin: &str, file: &str, dir: &Path) -> Result<Vec<String>, String> {
    let out = bind_tool(
        "named-compilezone",
        &["-i", "none", "-s", "full", "-o", "-", origin, file],
        dir,
    );
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    Ok(lines)
}

/// The bindbridge binary built for these tests.
pub fn bindbridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bindbridge"))
}

/// Runs `work` on a pool of the SQLite file `db` (its URL options in
/// `options`, e.g. `?mode=ro`), straight on the file as the server left it.
pub fn with_db<T>(db: &Path, options: &str, work: impl AsyncFnOnce(&sqlx::SqlitePool) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let url = format!("sqlite:{}{options}", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open db");
        let done = work(&pool).await;
        pool.close().await;
        done
    })
}
