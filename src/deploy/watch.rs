//! Watching files for the deploy worker: the database, so that a change
//! committed by another bindbridge process (a CLI import, say) is deployed
//! at once rather than at the next periodic reconcile.

use std::path::{Path, PathBuf};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::watch;

/// Bumps `wake` whenever the database at `db` or its write-ahead log is
/// written. The watcher works while the returned value is kept.
pub fn watch_database(db: &Path, wake: watch::Sender<u64>) -> Result<RecommendedWatcher, String> {
    let db = std::path::absolute(db).map_err(|e| format!("{}: {e}", db.display()))?;
    let dir = db
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The database and its log; not the shared-memory index, which readers
    // write too.
    let wal = format!("{name}-wal");
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event.paths.iter().any(|p| {
            p.file_name().is_some_and(|f| {
                f.to_str() == Some(name.as_str()) || f.to_str() == Some(wal.as_str())
            })
        });
        if ours && event.kind.is_modify() {
            wake.send_modify(|n| *n = n.wrapping_add(1));
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(watcher)
}
