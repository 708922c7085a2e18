//! The source directory: hand-edited zone files (`*.zone`) imported into
//! the store when they change, and from there deployed like any change.
//!
//! The zone's name is its `$ORIGIN`, else the file name
//! (`example.com.zone`). A file with errors is not imported: the errors are
//! logged with file:line:col and named keeps serving the zone as it was.
//! Editors write in several steps (a temporary file renamed over the old
//! one, or several writes), so a file is read once the directory has been
//! quiet for a moment. Removing a file removes nothing from the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tracing::{debug, info, warn};

use crate::import::{Options, Outcome, Source, import_zone};
use crate::store::Store;

/// How long the directory must be quiet before changed files are read.
const SETTLE: Duration = Duration::from_millis(300);

/// True for a file the watcher imports: `*.zone`, not hidden (editors'
/// temporary files are).
fn is_source(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with(".zone") && !name.starts_with('.')
}

/// Imports every source file of `dir` now, then each one that changes;
/// runs until the task is dropped.
pub fn watch_sources(dir: &Path, store: Store) -> Result<tokio::task::JoinHandle<()>, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (sender, mut changed) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && (event.kind.is_create() || event.kind.is_modify())
        {
            for path in event.paths.into_iter().filter(|p| is_source(p)) {
                let _ = sender.send(path);
            }
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    let existing: BTreeSet<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| is_source(p))
        .collect();
    Ok(tokio::spawn(async move {
        let _watcher = watcher;
        let mut due = existing;
        loop {
            // Gather until the directory is quiet.
            loop {
                match tokio::time::timeout(SETTLE, changed.recv()).await {
                    Ok(Some(path)) => {
                        due.insert(path);
                    }
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            for path in std::mem::take(&mut due) {
                if path.is_file() {
                    import_source(&store, &dir, &path).await;
                }
            }
            match changed.recv().await {
                Some(path) => {
                    due.insert(path);
                }
                None => return,
            }
        }
    }))
}

/// Imports one source file (replacing the zone) and logs what happened.
async fn import_source(store: &Store, dir: &Path, path: &Path) {
    let source = Source {
        file: path.to_path_buf(),
        workdir: Some(dir.to_path_buf()),
        ..Source::default()
    };
    let options = Options {
        replace: true,
        actor: format!("source:{}", dir.display()),
        ..Options::default()
    };
    let shown = path.display();
    match import_zone(Some(store), &source, &options, &mut |_| {}).await {
        Ok(report) => match &report.outcome {
            Outcome::Unchanged => debug!(file = %shown, zone = %report.zone, "source unchanged"),
            Outcome::Failed(reason) => warn!(
                file = %shown,
                zone = %report.zone,
                "source not imported, the zone keeps serving as it was: {reason}: {}",
                report.errors.join("; ")
            ),
            outcome => info!(file = %shown, zone = %report.zone, ?outcome, "source imported"),
        },
        Err(e) => warn!(file = %shown, "source not imported: the store failed: {e}"),
    }
}
