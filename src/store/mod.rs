//! The store: zones, records, users, tokens and the change log in SQLite
//! (sqlx).
//!
//! One database is shared by the daemon and the command line, so every
//! connection runs in WAL mode (readers never block the writer) with a
//! busy timeout, and every write transaction starts with `BEGIN IMMEDIATE`:
//! it takes the write lock up front, waiting its turn, instead of failing
//! with "database is locked" when two writers meet halfway. Foreign keys
//! are on. The schema lives in `src/store/migrations`, embedded in the
//! binary and applied on open.
//!
//! Every change to a zone's content bumps its `version` in the same
//! transaction; the deploy worker deploys while `version > deployed_version`.

mod changes;
mod deploys;
mod records;
mod rules;
mod secondaries;
mod sessions;
pub mod shape;
mod tokens;
mod tsig;
mod update;
mod users;
mod zones;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};

pub use deploys::DeployTarget;
pub use records::{
    BatchChange, BatchDone, BatchFailure, ChangeDone, Commit, Page, Preview, RecordFilter,
    RecordPage, RecordStream, RecordView, RecordWrite, StoredRow, Written,
};
pub use secondaries::{SecondaryCheck, SecondaryGauge, SecondaryState, Seen};
pub use sessions::{LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW, SESSION_LIFETIME, Session};
pub use shape::{RecordRow, ShapeError, Soa, ZoneFields};
pub use tokens::{Caller, PERMISSIONS, TokenInfo, constant_time_eq};
pub use tsig::{TSIG_ALGORITHMS, TsigInfo, TsigKey, key_name};
pub use update::{Prerequisite, PrerequisiteFailed, UpdateOp, Updated};
pub use users::{MIN_PASSWORD_CHARS, User};
pub use zones::{AcceptZone, Change, SaveMode, SaveRequest, Saved, ZoneInfo, ZoneSummary};

/// Where the database is when neither `--db` nor a config file says.
pub const DEFAULT_PATH: &str = "bindbridge.db";

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Log pages (of 4 KiB) at which a committing writer checkpoints by
/// itself: 40 MiB. A daemon checkpoints sooner, in the background (see
/// [`Store::spawn_checkpointer`]); this is the ceiling when it cannot.
const AUTOCHECKPOINT_PAGES: &str = "10000";

/// How long the background checkpointer lets writes gather after the
/// first one before it copies them into the database.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(200);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database path.
        path: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database's directory does not exist.
    #[error("cannot open database {path}: directory {directory} does not exist")]
    NoDirectory {
        /// The database path.
        path: String,
        /// Its missing directory.
        directory: String,
    },
    /// The database does not exist, and the command only reads.
    #[error(
        "database {path} does not exist (give the right one with --db, or create it with bindbridge import or serve)"
    )]
    Missing {
        /// The database path.
        path: String,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        /// The database path.
        path: String,
        /// The migration error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// No user has this name.
    #[error("no user named '{0}' (add one with: bindbridge user add NAME)")]
    UnknownUser(String),
    /// A permission that does not exist.
    #[error(
        "unknown permission '{0}' (known: dns:list, dns:read, dns:create, dns:update, dns:delete, dns:*)"
    )]
    BadPermission(String),
    /// A password could not be hashed (argon2 refused its parameters or
    /// the stored hash is not a PHC string).
    #[error("password hashing failed: {0}")]
    Password(String),
    /// A user with this name exists already.
    #[error("a user named '{0}' exists already")]
    UserExists(String),
    /// No zone has this name or uuid.
    #[error("no zone '{0}' in the store")]
    UnknownZone(String),
    /// No record of the caller's has this uuid.
    #[error("no record '{0}'")]
    UnknownRecord(String),
    /// A record would break a zone rule (CNAME, duplicate) or a zone
    /// would overlap another user's.
    #[error("{detail}")]
    Conflict {
        /// The API field at fault.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The zone is stored already and replacing was not asked for.
    #[error("zone {0} exists already (use --replace to replace its contents)")]
    ZoneExists(String),
    /// Replacing would move the zone to another owner.
    #[error(
        "zone {domain} belongs to user '{owner}', not '{asked}' (without --owner, a replace keeps the owner)"
    )]
    OtherOwner {
        /// The zone.
        domain: String,
        /// Its current owner.
        owner: String,
        /// The owner asked for.
        asked: String,
    },
    /// The save's `accept` check refused the zone as stored; nothing was saved.
    #[error("zone {domain} not saved: {reason}")]
    Rejected {
        /// The zone.
        domain: String,
        /// Why it was refused.
        reason: String,
    },
    /// A TSIG algorithm that is not supported.
    #[error(
        "unknown TSIG algorithm '{0}' (known: hmac-md5, hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512)"
    )]
    BadAlgorithm(String),
    /// A DNS UPDATE's prerequisite (RFC 2136 §2.4) does not hold.
    #[error("prerequisite failed: {0}")]
    Prerequisite(PrerequisiteFailed),
    /// A DNS UPDATE asks for a change bindbridge does not make that way
    /// (the apex NS set is the zone's nameservers, managed by the API).
    #[error("{0}")]
    UpdateRefused(String),
    /// A stored value does not fit the model (a corrupt or hand-edited row).
    #[error("zone {domain}: {source}")]
    Shape {
        /// The zone.
        domain: String,
        /// What did not fit.
        #[source]
        source: ShapeError,
    },
}

/// A stored uuid (16 bytes) as text; an empty string if the blob is not one.
fn uuid_text(bytes: &[u8]) -> String {
    uuid::Uuid::from_slice(bytes).map_or_else(|_| String::new(), |u| u.to_string())
}

/// An open database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    writer: SqlitePool,
    path: PathBuf,
    read_only: bool,
    names: std::sync::Arc<rules::NameIndex>,
    /// Wakes the background checkpointer: a write transaction began.
    wrote: std::sync::Arc<tokio::sync::Notify>,
    /// Counts committed changes to zones made through this store (the
    /// deploy worker watches it; other processes' changes it sees through
    /// the database file).
    changes: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

/// The schema, embedded from `src/store/migrations`.
pub static MIGRATOR: Migrator = sqlx::migrate!("src/store/migrations");

impl Store {
    /// Opens (creating it if needed) the database at `path` and applies
    /// any pending migrations.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let store = Store::connect(path, false, true).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database at `path` like [`Store::open`], but only if it
    /// exists: for commands that only read, where a new empty database
    /// would answer "nothing here" about a mistyped path.
    pub async fn open_existing(path: &Path) -> Result<Store, StoreError> {
        let store = Store::connect(path, false, false).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens an existing database for reading only: nothing is created,
    /// migrated or checkpointed (for dry runs).
    pub async fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        Store::connect(path, true, false).await
    }

    async fn connect(path: &Path, read_only: bool, create: bool) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            return Err(StoreError::NoDirectory {
                path: shown,
                directory: dir.display().to_string(),
            });
        }
        if !create && !path.exists() {
            return Err(StoreError::Missing { path: shown });
        }
        if !read_only {
            private_files(path, create).map_err(|source| StoreError::Open {
                path: shown.clone(),
                source: source.into(),
            })?;
        }
        let open_error = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let mut options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_error)?
            .filename(path)
            .read_only(read_only)
            .create_if_missing(create && !read_only)
            // NORMAL in WAL mode: a commit survives the process being
            // killed at any moment (the log is written before the commit
            // returns; only a power cut can lose the last commits), without
            // an fsync per API write. Checkpoints still fsync.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Up to 64 MiB of pages per connection (4 at most): what a
            // million-record import touches stays in memory until commit.
            .pragma("cache_size", "-65536")
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
        if !read_only {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        // A connection to a local file has nothing to test before use:
        // without the test, a query is one round trip to its connection's
        // thread instead of two.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        // Writers of this process queue for one connection, in order;
        // SQLite's own busy wait, which polls with growing sleeps, is then
        // left to writers in other processes.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(Store {
            pool,
            writer,
            path: path.to_path_buf(),
            read_only,
            names: Default::default(),
            wrote: Default::default(),
            changes: Default::default(),
        })
    }

    /// Applies pending migrations. Two processes may open a new database
    /// at once, and sqlx does not lock SQLite while it migrates: the check
    /// is made again under `BEGIN IMMEDIATE`, so one migrates and the other
    /// finds the work done.
    async fn migrate(&self) -> Result<(), StoreError> {
        let migrate_error = |source| StoreError::Migrate {
            path: self.path.display().to_string(),
            source,
        };
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .unwrap_or(None);
        if applied.is_some_and(|v| v >= latest) {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        MIGRATOR.run(&mut *tx).await.map_err(migrate_error)?;
        zones::fill_reversed_domains(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A store on a pool that is already migrated (for `#[sqlx::test]`).
    #[cfg(test)]
    pub(crate) fn from_pool(pool: SqlitePool) -> Store {
        Store {
            writer: pool.clone(),
            pool,
            path: PathBuf::from(":test:"),
            read_only: false,
            names: Default::default(),
            wrote: Default::default(),
            changes: Default::default(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the write-ahead log into the database file and closes every
    /// connection. SQLite does this by itself only when the last connection
    /// closes cleanly, which a pool does not guarantee; without it a large
    /// import could leave a log as big as the database beside it.
    pub async fn close(self) {
        // Best effort: another process may hold the database; then its
        // own close folds the log in.
        if !self.read_only {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await;
        }
        self.writer.close().await;
        self.pool.close().await;
    }

    /// A write transaction that holds the write lock from its start.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.wrote.notify_one();
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Notes that a change to a zone was committed.
    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every committed zone change of this store.
    pub fn watch_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Copies committed writes from the log into the database in the
    /// background, a moment after they happen, until the store closes.
    /// Without it, the commit that fills the log checkpoints inline, and
    /// the two fsyncs of that checkpoint (10-20 ms each on a busy disk) land
    /// on whichever API request made it. A passive checkpoint never blocks
    /// a writer or a reader.
    pub fn spawn_checkpointer(&self) -> tokio::task::JoinHandle<()> {
        let (pool, wrote) = (self.pool.clone(), self.wrote.clone());
        tokio::spawn(async move {
            while !pool.is_closed() {
                wrote.notified().await;
                tokio::time::sleep(CHECKPOINT_DELAY).await;
                match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    Ok(_) | Err(sqlx::Error::PoolClosed) => {}
                    Err(e) => tracing::warn!("background checkpoint failed: {e}"),
                }
            }
        })
    }
}

/// Makes the database at `path` and its `-wal` and `-shm` files readable
/// by their owner only: they hold token hashes and every zone. A new
/// database is created here, 0600 whatever the umask; SQLite gives the log
/// files it creates the database's mode. Existing files of an older
/// version (0644) are put right where we may (best effort: a database
/// shared through its group is not ours to chmod).
fn private_files(path: &Path, create: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let private = std::fs::Permissions::from_mode(0o600);
    if create {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            // mode() is filtered by the umask, which may take the owner's
            // bits away too.
            Ok(file) => return file.set_permissions(private),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = Path::new(&file);
        if let Ok(m) = std::fs::metadata(file)
            && m.is_file()
            && m.permissions().mode() & 0o077 != 0
            && let Err(e) = std::fs::set_permissions(file, private.clone())
        {
            tracing::warn!("cannot make {} private (0600): {e}", file.display());
        }
    }
    Ok(())
}

/// The current time in seconds since the epoch, as the store keeps times.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Seconds since the epoch as ISO 8601 UTC (`2026-11-27T12:00:00Z`), as
/// the API and the command line show times.
pub fn iso8601(unix: i64) -> String {
    Iso8601(unix).to_string()
}

/// Unix seconds shown as ISO 8601 UTC, written without an allocation
/// (serialised as a JSON string through `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iso8601(pub i64);

impl std::fmt::Display for Iso8601 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month, day) = crate::zone::serial::civil_from_days(self.0.div_euclid(86_400));
        let secs = self.0.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl serde::Serialize for Iso8601 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_705_314_600), "2024-01-15T10:30:00Z");
        assert_eq!(iso8601(951_825_599), "2000-02-29T11:59:59Z");
    }
}
