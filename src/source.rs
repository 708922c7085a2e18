//! Reading zone files from disk: the top-level file and its `$INCLUDE`s.
//!
//! BIND resolves a relative `$INCLUDE` path against its working directory,
//! not against the including file; `named-checkzone -w DIR` changes that
//! directory. [`FsIncludes`] does the same with an explicit base directory
//! instead of changing the process's directory. Loops are caught by the
//! parser through each file's canonical path.

use std::path::{Path, PathBuf};

use crate::parse::{Included, Includes};

/// Opens `$INCLUDE` files relative to a base directory.
pub struct FsIncludes {
    base: PathBuf,
}

impl FsIncludes {
    /// Resolves relative include paths against `base`.
    pub fn new(base: impl Into<PathBuf>) -> Self {
        FsIncludes { base: base.into() }
    }

    /// `path` resolved as BIND would: absolute as is, else against the base.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }
}

impl Includes for FsIncludes {
    fn open(&mut self, path: &str) -> Result<Included, String> {
        let full = self.resolve(Path::new(path));
        let text = std::fs::read(&full).map_err(|e| io_reason(&e))?;
        Ok(Included {
            name: path.to_string(),
            key: canonical_key(&full),
            text,
        })
    }
}

/// The identity of a file for loop detection.
pub fn canonical_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// A short lowercase reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "file not found".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string().to_lowercase(),
    }
}
