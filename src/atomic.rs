//! Files replaced whole: written beside their destination, synced, then
//! renamed over it with the directory synced. A reader (named, above all)
//! sees the old file or the new one, never part of one, and a crash leaves
//! one of the two.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// A file written next to its destination, not yet in place.
pub struct Staged {
    file: tempfile::NamedTempFile,
}

impl Staged {
    /// An empty temporary file in `dir` (where its destination is, so
    /// that the final rename is atomic).
    pub fn create_in(dir: &Path) -> std::io::Result<Staged> {
        let file = tempfile::Builder::new()
            .prefix(".bindbridge-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok(Staged { file })
    }

    /// Writes `bytes` to a new file in `dir` and syncs it to disk.
    pub fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<Staged> {
        let mut staged = Staged::create_in(dir)?;
        staged.file.write_all(bytes)?;
        staged.sync()?;
        Ok(staged)
    }

    /// The open file, to write into.
    pub fn file(&self) -> &File {
        self.file.as_file()
    }

    /// Syncs what was written to disk.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.as_file().sync_all()
    }

    /// Where it is now (for named-checkzone).
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Renames it over `destination` and syncs the directory, so that the
    /// rename survives a crash. It is readable by all (mode 0644): zone
    /// files are read by named, which runs as another user.
    pub fn install(self, destination: &Path) -> std::io::Result<()> {
        self.rename(destination)?;
        sync_dir(destination)
    }

    /// [`Staged::install`] without the directory's sync, for many files
    /// of one directory: the caller syncs it once ([`sync_dir`]) before
    /// anything relies on the renames.
    pub fn rename(self, destination: &Path) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            self.file
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        self.file.persist(destination).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Syncs the directory holding `path`.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// The directory a file `path` goes into (`.` for a bare file name).
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `bytes` over `destination` atomically.
pub fn replace(destination: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Staged::write(dir_of(destination), bytes)?.install(destination)
}
