//! The SQLite store: one file in WAL mode, through rusqlite; a lone save on the calling
//! task, concurrent saves committed together (`crate::commit`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};
use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, Checkpointer, Part, StoreError, sort_runs};

use crate::Migration;
use crate::commit::Shared;
use crate::row::{Columns, Row, columns, to_sql};

/// The SQLite schema's migrations, oldest first; the file's `user_version` is the last
/// one applied.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/sqlite/0001_checkpoints.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/sqlite/0002_parts.sql"),
    },
];

/// When SQLite waits for the disk: the trade between a save's cost and what it survives.
///
/// Both run in WAL mode. Measured on the project's 2-core machine, one save of a
/// 100-byte checkpoint costs about 12 µs with `Normal` and about 190 µs with `Full`
/// (one `fdatasync`); see the durability guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous=NORMAL`: a saved checkpoint survives the process crashing or being
    /// killed; after a power loss or an OS crash the last saves before it may be lost (the
    /// file stays consistent: a run resumes from an earlier step).
    #[default]
    Normal,
    /// `synchronous=FULL`: every save is on the disk before it returns, so it also
    /// survives a power loss or an OS crash.
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// How a [`SqliteStore`] opens its file.
///
/// # Default
///
/// - `synchronous`: [`Synchronous::Normal`]
/// - `busy_timeout`: 5 seconds (how long a statement waits for another process's write
///   lock before failing as [`StoreError::Unavailable`])
/// - `max_bytes`: `None`, no limit beyond the disk's
///
/// ```
/// use std::time::Duration;
/// use typedflow_store::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions::default()
///     .with_synchronous(Synchronous::Full)
///     .with_busy_timeout(Duration::from_secs(1))
///     .with_max_bytes(64 << 20);
/// assert_eq!(options.synchronous, Synchronous::Full);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// When SQLite waits for the disk.
    pub synchronous: Synchronous,
    /// How long to wait for another connection's lock.
    pub busy_timeout: Duration,
    /// A limit on the file's size: a save past it fails as [`StoreError::Full`].
    pub max_bytes: Option<u64>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            max_bytes: None,
        }
    }
}

impl SqliteOptions {
    /// Sets when SQLite waits for the disk.
    #[must_use]
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets how long to wait for another connection's lock.
    #[must_use]
    pub fn with_busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// Limits the file's size (rounded down to whole pages, at least one page).
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = Some(max_bytes);
        self
    }
}

/// A checkpoint store in one SQLite file: the embedded default.
///
/// Opening creates the file and its schema if they do not exist and applies any newer
/// migration of this crate; the file is put in WAL mode. Each save is one row, atomic
/// by itself.
///
/// The store holds one connection. A save that nothing else is writing beside runs on
/// the task that awaits it, without a hop to another thread: with
/// [`Synchronous::Normal`] it takes microseconds, less than a hop would; with
/// [`Synchronous::Full`] it waits for the disk on that task. Saves that arrive while
/// another is being written (many runs at once) are committed together by the store's
/// writer thread: one transaction, and one sync under `Full`, per batch, each save
/// returning once its batch committed (group commit; see the durability guide). Several
/// stores (or processes) may open one file; SQLite's locks order their writes.
///
/// ```
/// use typedflow::RunId;
/// use typedflow::checkpoint::{Checkpoint, Checkpointer, RunStatus, StoreError};
/// use typedflow_store::{SqliteOptions, SqliteStore, Synchronous};
///
/// # let dir = tempfile::tempdir().unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let path = dir.path().join("runs.db");
/// let store = SqliteStore::open_with(&path, SqliteOptions::default().with_synchronous(Synchronous::Full))?;
/// let run = RunId::from_u64(7);
/// store.save(&Checkpoint::new("Essay", 1, run, 1, "outline", vec![1])).await?;
/// let done = Checkpoint::new("Essay", 1, run, 2, "review", vec![2]).with_status(RunStatus::Finished);
/// store.save(&done).await?;
/// drop(store);
///
/// // Another store (or process) opening the file sees the run.
/// let again = SqliteStore::open(&path)?;
/// assert_eq!(again.latest(run).await?, done);
/// assert_eq!(again.runs().await?.len(), 1);
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    shared: Arc<Shared>,
    path: PathBuf,
}

impl Drop for SqliteStore {
    /// Stops the writer thread, if one was started, once it has written what is queued.
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` with the default options.
    ///
    /// # Errors
    ///
    /// As [`open_with`](Self::open_with).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the store at `path`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the file cannot be opened or created, is not a
    /// SQLite database, or cannot be put in WAL mode; [`StoreError::SchemaTooNew`] if a
    /// newer version of this crate wrote its schema.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let doing = |what: &str| format!("{what} `{}`", path.display());
        let mut conn =
            Connection::open(&path).map_err(|e| StoreError::unavailable(doing("opening"), e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| StoreError::unavailable(doing("setting the busy timeout of"), e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(|e| StoreError::unavailable(doing("enabling WAL in"), e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::unavailable(
                doing("enabling WAL in"),
                format!("the journal mode stayed `{mode}`"),
            ));
        }
        conn.pragma_update(None, "synchronous", options.synchronous.pragma())
            .map_err(|e| StoreError::unavailable(doing("setting `synchronous` in"), e))?;
        if let Some(max_bytes) = options.max_bytes {
            let page: i64 = conn
                .query_row("PRAGMA page_size", [], |row| row.get(0))
                .map_err(|e| StoreError::unavailable(doing("reading the page size of"), e))?;
            let pages = (max_bytes / page.max(1).unsigned_abs()).max(1);
            conn.pragma_update(None, "max_page_count", to_sql(pages))
                .map_err(|e| StoreError::unavailable(doing("limiting the size of"), e))?;
        }
        migrate(&mut conn).map_err(|e| match e {
            MigrateError::TooNew(found) => StoreError::schema_too_new(found, latest_version()),
            MigrateError::Sql(e) => StoreError::unavailable(doing("migrating the schema of"), e),
        })?;
        let shared = Shared::new(conn)
            .map_err(|e| StoreError::unavailable(doing("setting the WAL hook of"), e))?;
        Ok(SqliteStore { shared, path })
    }

    /// Opens the store at `path` to read it only, as a tool that lists or inspects runs
    /// should: the file must exist, nothing in it is changed (no schema is created or
    /// migrated, the journal mode is left as it is), and every save or delete fails as
    /// [`StoreError::Unavailable`]. A file of an older schema is read as it is.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::{Checkpoint, Checkpointer, StoreError};
    /// use typedflow_store::SqliteStore;
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let path = dir.path().join("runs.db");
    /// let run = RunId::from_u64(3);
    /// SqliteStore::open(&path)?.save(&Checkpoint::new("Essay", 1, run, 1, "write", vec![])).await?;
    ///
    /// let reader = SqliteStore::open_read_only(&path)?;
    /// assert_eq!(reader.latest(run).await?.step, 1);
    /// let refused = reader.save(&Checkpoint::new("Essay", 1, run, 2, "end", vec![])).await;
    /// assert!(matches!(refused, Err(StoreError::Unavailable { .. })));
    /// # Ok::<(), StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the file does not exist, cannot be opened, is not a
    /// SQLite database or holds no checkpoints schema; [`StoreError::SchemaTooNew`] if a
    /// newer version of this crate wrote its schema.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let path = path.as_ref().to_path_buf();
        let doing = |what: &str| format!("{what} `{}`", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| StoreError::unavailable(doing("opening"), e))?;
        conn.busy_timeout(SqliteOptions::default().busy_timeout)
            .map_err(|e| StoreError::unavailable(doing("setting the busy timeout of"), e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| StoreError::unavailable(doing("reading the schema of"), e))?;
        if version > latest_version() {
            return Err(StoreError::schema_too_new(version, latest_version()));
        }
        if version == 0 {
            return Err(StoreError::unavailable(
                doing("reading"),
                "the file holds no checkpoints: it is not a typedflow store",
            ));
        }
        let shared = Shared::new(conn)
            .map_err(|e| StoreError::unavailable(doing("setting the WAL hook of"), e))?;
        Ok(SqliteStore { shared, path })
    }

    /// The file the store is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.shared.conn()
    }

    /// The connection and queue, for the tests of group commit.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn query(&self, sql: &str, run_id: Option<RunId>) -> Result<Vec<Row>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| StoreError::unavailable("preparing a query", e))?;
        let mut rows = match run_id {
            Some(run) => stmt.query(params![to_sql(run.as_u64())]),
            None => stmt.query([]),
        }
        .map_err(|e| StoreError::unavailable("reading checkpoints", e))?;
        let mut out = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(|e| StoreError::unavailable("reading checkpoints", e))?
        {
            out.push(Row::read(row)?);
        }
        Ok(out)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, index: usize) -> Result<i64, String> {
        self.get(index).map_err(|e| e.to_string())
    }
    fn text(&self, index: usize) -> Result<String, String> {
        self.get(index).map_err(|e| e.to_string())
    }
    fn text_or_null(&self, index: usize) -> Result<Option<String>, String> {
        self.get(index).map_err(|e| e.to_string())
    }
    fn bytes(&self, index: usize) -> Result<Vec<u8>, String> {
        self.get(index).map_err(|e| e.to_string())
    }
}

impl Checkpointer for SqliteStore {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.shared.save(checkpoint).await
    }

    async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
        match self.query(LATEST, Some(run_id))?.pop() {
            Some(row) => row.into_checkpoint(),
            None => Err(StoreError::unknown_run(run_id)),
        }
    }

    async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = self.query(HISTORY, Some(run_id))?;
        if rows.is_empty() {
            return Err(StoreError::unknown_run(run_id));
        }
        rows.into_iter().map(Row::into_checkpoint).collect()
    }

    async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut runs = self
            .query(RUNS, None)?
            .into_iter()
            .map(Row::into_checkpoint)
            .collect::<Result<Vec<_>, _>>()?;
        sort_runs(&mut runs);
        Ok(runs)
    }

    async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let run = to_sql(run_id.as_u64());
        // The run's parts go with its checkpoints, in one transaction.
        let deleted = conn
            .transaction()
            .and_then(|tx| {
                tx.execute("DELETE FROM parts WHERE run_id = ?1", params![run])?;
                let n = tx.execute("DELETE FROM checkpoints WHERE run_id = ?1", params![run])?;
                tx.commit()?;
                Ok(n)
            })
            .map_err(|e| StoreError::unavailable("deleting a run", e))?;
        match deleted {
            0 => Err(StoreError::unknown_run(run_id)),
            n => Ok(n as u64),
        }
    }

    async fn delete_if_latest(&self, latest: &Checkpoint) -> Result<Option<u64>, StoreError> {
        let run_id = latest.run_id;
        let run = to_sql(run_id.as_u64());
        let mut conn = self.conn();
        let sql = |e| StoreError::unavailable("deleting a run", e);
        // Read and delete in one immediate transaction: no other writer can save a step
        // of the run in between.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let now = {
            let mut stmt = tx.prepare_cached(LATEST).map_err(sql)?;
            let mut rows = stmt.query(params![run]).map_err(sql)?;
            match rows.next().map_err(sql)? {
                Some(row) => Row::read(row)?.into_checkpoint()?,
                None => return Err(StoreError::unknown_run(run_id)),
            }
        };
        if now.step != latest.step || now.status != latest.status {
            return Ok(None);
        }
        tx.execute("DELETE FROM parts WHERE run_id = ?1", params![run])
            .map_err(sql)?;
        let deleted = tx
            .execute("DELETE FROM checkpoints WHERE run_id = ?1", params![run])
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Some(deleted as u64))
    }

    async fn save_part(&self, checkpoint: &Checkpoint, part: &Part) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO parts (run_id, step, key, value, value_sum) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                to_sql(checkpoint.run_id.as_u64()),
                checkpoint.step,
                part.key,
                part.value,
                to_sql(part.checksum()),
            ])
        })
        .map(drop)
        .map_err(|e| crate::commit::save_error(checkpoint, e))
    }

    async fn parts(&self, run_id: RunId, step: u32) -> Result<Vec<Part>, StoreError> {
        let conn = self.conn();
        let read = |e| StoreError::unavailable("reading parts", e);
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, value, value_sum FROM parts WHERE run_id = ?1 AND step = ?2",
            )
            .map_err(read)?;
        let mut rows = stmt
            .query(params![to_sql(run_id.as_u64()), step])
            .map_err(read)?;
        let mut parts = Vec::new();
        while let Some(row) = rows.next().map_err(read)? {
            let part = Part::new(
                row.get::<_, String>(0).map_err(read)?,
                row.get::<_, Vec<u8>>(1).map_err(read)?,
            );
            let sum: i64 = row.get(2).map_err(read)?;
            parts.push(crate::row::checked(part, sum, run_id, step)?);
        }
        Ok(parts)
    }
}

const LATEST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM checkpoints WHERE run_id = ?1 ORDER BY step DESC LIMIT 1"
);
const HISTORY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM checkpoints WHERE run_id = ?1 ORDER BY step"
);
// The latest step of each run: the primary key (run_id, step) answers the inner MAX.
const RUNS: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM checkpoints AS c WHERE step = (SELECT MAX(step) FROM checkpoints WHERE run_id = c.run_id)"
);

enum MigrateError {
    TooNew(i64),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the schema to the newest version, in one immediate transaction so two
/// processes opening a new file at once apply each migration once.
fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > latest_version() {
        return Err(MigrateError::TooNew(current));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
    }
    tx.commit()?;
    Ok(())
}
