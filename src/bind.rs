//! BIND's own tools as referees: `named-checkzone` for verdicts and
//! `named-compilezone -s full` for record sets.
//!
//! Both always run with `-i none` or `-i local`: the default integrity
//! checks look names up through the system resolver, and bindbridge sends
//! nothing anywhere but loopback.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Why a BIND tool could not be run (not its verdict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot run {tool}: {reason}")]
pub struct ToolError {
    /// The program.
    pub tool: String,
    /// Why, with the package to install when it is missing.
    pub reason: String,
}

/// The verdict of `named-checkzone -k fail -i local` on rendered text.
pub struct CheckzoneVerdict {
    /// True if named-checkzone accepted the zone.
    pub accepted: bool,
    /// What it printed.
    pub output: String,
}

/// How long `compile --check` and `import --verify` let a BIND tool run:
/// named-checkzone takes about 10 s on a zone of a million records, so
/// only a hung tool reaches it.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(300);

/// The one way bindbridge runs a BIND tool (named-checkzone,
/// named-compilezone, rndc): `program args`, in `dir` if given, killed
/// when it runs longer than `timeout` (a hung tool must not hold up a
/// deploy, a check or the commands after it).
pub async fn run_tool(
    program: &str,
    args: &[&OsStr],
    dir: Option<&Path>,
    timeout: Duration,
) -> Result<Output, ToolError> {
    let error = |reason: String| ToolError {
        tool: program.to_string(),
        reason,
    };
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    match tokio::time::timeout(timeout, command.output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(error(
            "not found; install it (Debian: apt-get install bind9-utils)".to_string(),
        )),
        Ok(Err(e)) => Err(error(e.to_string())),
        Err(_) => Err(error(format!(
            "it ran longer than {timeout:?} and was stopped"
        ))),
    }
}

/// [`run_tool`] for callers that do not run async (`compile`, `import`):
/// on a thread of its own with a runtime of its own, so that it works
/// whether or not the caller is inside a runtime.
fn run_tool_blocking(
    program: &str,
    args: &[&OsStr],
    dir: Option<&Path>,
    timeout: Duration,
) -> Result<Output, ToolError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| ToolError {
                        tool: program.to_string(),
                        reason: format!("no runtime to run it: {e}"),
                    })?;
                runtime.block_on(run_tool(program, args, dir, timeout))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(ToolError {
                    tool: program.to_string(),
                    reason: "the thread running it panicked".to_string(),
                })
            })
    })
}

/// Runs `tool ARGS -- ORIGIN FILE` with [`CHECK_TIMEOUT`]: after `--`, a
/// zone name that starts with `-` is not taken for an option.
fn run(
    tool: &'static str,
    args: &[&str],
    origin: &str,
    file: &Path,
    dir: Option<&Path>,
) -> Result<Output, ToolError> {
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.extend([OsStr::new("--"), OsStr::new(origin), file.as_os_str()]);
    run_tool_blocking(tool, &all, dir, CHECK_TIMEOUT)
}

/// True if `tool` can be started (it answers `-v`).
pub fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `named-checkzone -k fail -i local ORIGIN FILE`.
pub fn checkzone(origin: &str, file: &Path) -> Result<CheckzoneVerdict, ToolError> {
    let output = run(
        "named-checkzone",
        &["-k", "fail", "-i", "local"],
        origin,
        file,
        None,
    )?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let temp_name = file.display().to_string();
    Ok(CheckzoneVerdict {
        accepted: output.status.success(),
        output: text.replace(&temp_name, "<output>"),
    })
}

/// The records `named-compilezone -s full` loads from `file` (relative
/// paths, `$INCLUDE`s too, resolved in `dir`), one per line: owner, TTL,
/// class and type separated by single spaces, the RDATA as BIND prints it;
/// sorted. Every optional check is off (`-i none`, and `ignore` for
/// check-names, NS or MX targets that look like addresses, and the rest):
/// this asks BIND what the records are, not whether it likes them, and
/// named-compilezone is stricter than named about some of them. `Err`
/// holds BIND's complaint when the zone does not load.
pub fn compilezone_records(
    origin: &str,
    file: &Path,
    dir: &Path,
) -> Result<Result<Vec<String>, String>, ToolError> {
    let output = run(
        "named-compilezone",
        &[
            "-i", "none", "-k", "ignore", "-n", "ignore", "-m", "ignore", "-M", "ignore", "-S",
            "ignore", "-r", "ignore", "-W", "ignore", "-s", "full", "-o", "-",
        ],
        origin,
        file,
        Some(dir),
    )?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        return Ok(Err(text.trim().to_string()));
    }
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(normal_record_line)
        .collect();
    lines.sort_unstable();
    Ok(Ok(lines))
}

/// `owner TTL class type rdata` with the separators of the first four
/// fields collapsed; the RDATA is kept byte for byte.
fn normal_record_line(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    if rest.is_empty() || rest.starts_with(';') {
        return None;
    }
    let mut fields = Vec::with_capacity(5);
    for _ in 0..4 {
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start_matches([' ', '\t']);
    }
    fields.push(rest);
    Some(fields.join(" "))
}

/// The SOA serial of a normalised SOA line replaced by `<serial>`, so that
/// two record sets can be compared serial aside.
pub fn without_serial(line: &str) -> String {
    let fields: Vec<&str> = line.split(' ').collect();
    if fields.len() >= 7 && fields[3].eq_ignore_ascii_case("SOA") {
        let mut fields = fields;
        fields[6] = "<serial>";
        return fields.join(" ");
    }
    line.to_string()
}

/// How two record sets differ: the lines only in each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Difference {
    /// Records only in the first set.
    pub only_first: Vec<String>,
    /// Records only in the second set.
    pub only_second: Vec<String>,
}

impl Difference {
    /// True if the sets are the same.
    pub fn is_empty(&self) -> bool {
        self.only_first.is_empty() && self.only_second.is_empty()
    }
}

/// Compares two sorted record sets from [`compilezone_records`], serial aside.
pub fn compare_records(first: &[String], second: &[String]) -> Difference {
    let mut a: Vec<String> = first.iter().map(|l| without_serial(l)).collect();
    let mut b: Vec<String> = second.iter().map(|l| without_serial(l)).collect();
    a.sort_unstable();
    b.sort_unstable();
    let (mut i, mut j) = (0, 0);
    let mut diff = Difference::default();
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                diff.only_first.push(x.clone());
                i += 1;
            }
            (Some(_), Some(y)) => {
                diff.only_second.push(y.clone());
                j += 1;
            }
            (Some(x), None) => {
                diff.only_first.push(x.clone());
                i += 1;
            }
            (None, Some(y)) => {
                diff.only_second.push(y.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_keep_rdata_verbatim() {
        assert_eq!(
            normal_record_line("a.example.\t\t      3600 IN TXT\t\"x  y\"  \"z\"").as_deref(),
            Some("a.example. 3600 IN TXT \"x  y\"  \"z\"")
        );
        assert_eq!(normal_record_line("; comment"), None);
        assert_eq!(normal_record_line("   "), None);
    }

    #[test]
    fn comparison_is_serial_aside_and_names_the_differences() {
        let a = vec![
            "e. 60 IN SOA ns. h. 1 2 3 4 5".to_string(),
            "e. 60 IN TXT \"a\"".to_string(),
        ];
        let b = vec![
            "e. 60 IN SOA ns. h. 9 2 3 4 5".to_string(),
            "e. 60 IN TXT \"b\"".to_string(),
        ];
        let diff = compare_records(&a, &b);
        assert_eq!(diff.only_first, ["e. 60 IN TXT \"a\""]);
        assert_eq!(diff.only_second, ["e. 60 IN TXT \"b\""]);
        assert!(compare_records(&a[..1], &b[..1]).is_empty());
        // Other SOA fields still count.
        assert!(
            !compare_records(&a[..1], &["e. 60 IN SOA ns. h. 1 2 3 4 6".to_string()]).is_empty()
        );
    }
}

#[cfg(test)]
mod runner_tests {
    use super::*;

    #[test]
    fn a_tool_that_hangs_is_stopped_at_its_timeout() {
        let started = std::time::Instant::now();
        let args = [OsStr::new("30")];
        let err = run_tool_blocking("sleep", &args, None, Duration::from_millis(200)).unwrap_err();
        assert!(err.reason.contains("longer than"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "stopped early");
        let missing = run_tool_blocking("no-such-bind-tool", &[], None, CHECK_TIMEOUT);
        assert!(missing.unwrap_err().reason.contains("install"));
        let ok = run_tool_blocking("true", &[], None, CHECK_TIMEOUT).unwrap();
        assert!(ok.status.success());
    }
}
