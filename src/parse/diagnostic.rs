//! Diagnostics: positioned errors and warnings, shown like a compiler's.
//!
//! Text form is `file:line:col: error: message`; JSON form is one object
//! per line with the same fields, for CI tools. Line and column are
//! 1-based; columns count bytes, as most editors' "go to column" do for
//! ASCII zone files.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The zone cannot be used (BIND would refuse to load it).
    Error,
    /// Suspicious but loadable (BIND would warn).
    Warning,
}

/// One positioned message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File the problem is in.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What was expected and what was found.
    pub message: String,
}

impl Diagnostic {
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One JSON object, without a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, severity, self.message
        )
    }
}

/// 1-based column of byte `offset` in `src`.
pub fn column_of(src: &[u8], offset: usize) -> u32 {
    let offset = offset.min(src.len());
    let line_start = memchr::memrchr(b'\n', &src[..offset]).map_or(0, |p| p + 1);
    (offset - line_start + 1) as u32
}
