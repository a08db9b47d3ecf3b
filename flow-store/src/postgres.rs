//! The Postgres store: a store many processes share, through tokio-postgres.

use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Statement};
use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, Checkpointer, Part, StoreError, sort_runs};

use crate::Migration;
use crate::row::{Columns, Row, Values, checked, columns, to_sql};

/// The Postgres schema's migrations, oldest first; `typedflow_schema_migrations` lists
/// those applied.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/postgres/0001_checkpoints.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/postgres/0002_parts.sql"),
    },
];

/// The advisory lock that orders processes migrating one database at once ("typedflo").
const MIGRATION_LOCK: i64 = 0x7479_7065_6466_6c6f;

/// How long connecting may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const INSERT: &str = concat!(
    "INSERT INTO typedflow_checkpoints (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
const LATEST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM typedflow_checkpoints WHERE run_id = $1 ORDER BY step DESC LIMIT 1"
);
const HISTORY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM typedflow_checkpoints WHERE run_id = $1 ORDER BY step"
);
const RUNS: &str = concat!(
    "SELECT DISTINCT ON (run_id) ",
    columns!(),
    " FROM typedflow_checkpoints ORDER BY run_id, step DESC"
);
// The run's parts go with its checkpoints, in one statement.
const DELETE: &str = "WITH parts AS (DELETE FROM typedflow_parts WHERE run_id = $1) \
     DELETE FROM typedflow_checkpoints WHERE run_id = $1";
// The run's parts and checkpoints, if its latest checkpoint is still at step $2 with
// status $3 (and question $4), in one statement.
const DELETE_IF_LATEST: &str = "WITH latest AS ( \
         SELECT step, status, question FROM typedflow_checkpoints WHERE run_id = $1 \
         ORDER BY step DESC LIMIT 1), \
     still AS (SELECT 1 FROM latest WHERE step = $2 AND status = $3 \
         AND question IS NOT DISTINCT FROM $4), \
     parts AS (DELETE FROM typedflow_parts WHERE run_id = $1 AND EXISTS (SELECT 1 FROM still)), \
     gone AS (DELETE FROM typedflow_checkpoints WHERE run_id = $1 AND EXISTS (SELECT 1 FROM still) \
         RETURNING 1) \
     SELECT (SELECT count(*) FROM latest), (SELECT count(*) FROM gone)";
const INSERT_PART: &str =
    "INSERT INTO typedflow_parts (run_id, step, key, value, value_sum) VALUES ($1, $2, $3, $4, $5)";
const PARTS: &str =
    "SELECT key, value, value_sum FROM typedflow_parts WHERE run_id = $1 AND step = $2";

/// A checkpoint store in a Postgres database, shared by every process that connects to
/// it, so any of them can resume a run.
///
/// Connecting creates the table and applies any newer migration of this crate (under an
/// advisory lock, so processes starting together migrate once). The store holds one
/// connection; concurrent calls are pipelined on it. Each save is one `INSERT`, atomic
/// by itself; a second save of a step fails on the primary key as
/// [`StoreError::Conflict`]. Durability is the server's: with its default
/// `synchronous_commit=on` a save has reached the server's disk when it returns.
///
/// A lost connection is not re-established: every call then fails as
/// [`StoreError::Unavailable`], and a new store must be connected.
///
/// ```no_run
/// use typedflow::RunId;
/// use typedflow::checkpoint::{Checkpoint, Checkpointer, StoreError};
/// use typedflow_store::PostgresStore;
///
/// # async fn demo() -> Result<(), StoreError> {
/// let store = PostgresStore::connect("postgres://flow@127.0.0.1:5432/flow").await?;
/// let run = RunId::from_u64(1);
/// store.save(&Checkpoint::new("Essay", 1, run, 1, "outline", vec![1])).await?;
/// assert_eq!(store.latest(run).await?.step, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PostgresStore {
    client: Client,
    insert: Statement,
    latest: Statement,
    history: Statement,
    runs: Statement,
    delete: Statement,
    insert_part: Statement,
    parts: Statement,
    delete_if_latest: Statement,
}

/// The error of a failed insert for `checkpoint`'s step: a conflict on the primary key,
/// a full disk, or unavailable.
fn save_error(
    checkpoint: &Checkpoint,
    context: &'static str,
    e: tokio_postgres::Error,
) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::conflict(checkpoint.run_id, checkpoint.step)
    } else if e.code() == Some(&SqlState::DISK_FULL) {
        StoreError::full(e)
    } else {
        StoreError::unavailable(context, e)
    }
}

fn unavailable(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::unavailable(context, e)
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a `key=value` string)
    /// without TLS, and brings its schema up to date. A URL without `connect_timeout`
    /// gets 10 seconds.
    ///
    /// Must be called within a tokio runtime: the connection runs as a task on it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the URL is malformed, the server cannot be reached,
    /// refuses the login, or the migration fails; [`StoreError::SchemaTooNew`] if a newer
    /// version of this crate wrote the schema.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(unavailable("reading the database URL"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            StoreError::unavailable("connecting to Postgres outside a tokio runtime", e)
        })?;
        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .map_err(unavailable("connecting to Postgres"))?;
        // The connection ends when the client is dropped or the server goes away; calls
        // on the client then fail with its error, so this task has nothing to report.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        migrate(&mut client).await?;
        let prepare = |sql: &'static str| {
            let client = &client;
            async move {
                client
                    .prepare(sql)
                    .await
                    .map_err(unavailable("preparing a statement"))
            }
        };
        Ok(PostgresStore {
            insert: prepare(INSERT).await?,
            latest: prepare(LATEST).await?,
            history: prepare(HISTORY).await?,
            runs: prepare(RUNS).await?,
            delete: prepare(DELETE).await?,
            insert_part: prepare(INSERT_PART).await?,
            parts: prepare(PARTS).await?,
            delete_if_latest: prepare(DELETE_IF_LATEST).await?,
            client,
        })
    }

    async fn query(
        &self,
        stmt: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let rows = self
            .client
            .query(stmt, params)
            .await
            .map_err(unavailable("reading checkpoints"))?;
        rows.iter().map(Row::read).collect()
    }
}

impl Columns for tokio_postgres::Row {
    fn int(&self, index: usize) -> Result<i64, String> {
        self.try_get(index).map_err(|e| e.to_string())
    }
    fn text(&self, index: usize) -> Result<String, String> {
        self.try_get(index).map_err(|e| e.to_string())
    }
    fn text_or_null(&self, index: usize) -> Result<Option<String>, String> {
        self.try_get(index).map_err(|e| e.to_string())
    }
    fn bytes(&self, index: usize) -> Result<Vec<u8>, String> {
        self.try_get(index).map_err(|e| e.to_string())
    }
}

impl Checkpointer for PostgresStore {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let r = Values::of(checkpoint);
        let result = self
            .client
            .execute(
                &self.insert,
                &[
                    &r.run_id,
                    &r.step,
                    &r.format,
                    &r.flow,
                    &r.fingerprint,
                    &r.node,
                    &r.attempt,
                    &r.time_us,
                    &r.status,
                    &r.question,
                    &r.state,
                    &r.state_sum,
                ],
            )
            .await;
        result
            .map(drop)
            .map_err(|e| save_error(checkpoint, "saving a checkpoint", e))
    }

    async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
        let run = to_sql(run_id.as_u64());
        match self.query(&self.latest, &[&run]).await?.pop() {
            Some(row) => row.into_checkpoint(),
            None => Err(StoreError::unknown_run(run_id)),
        }
    }

    async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
        let run = to_sql(run_id.as_u64());
        let rows = self.query(&self.history, &[&run]).await?;
        if rows.is_empty() {
            return Err(StoreError::unknown_run(run_id));
        }
        rows.into_iter().map(Row::into_checkpoint).collect()
    }

    async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut runs = self
            .query(&self.runs, &[])
            .await?
            .into_iter()
            .map(Row::into_checkpoint)
            .collect::<Result<Vec<_>, _>>()?;
        sort_runs(&mut runs);
        Ok(runs)
    }

    async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
        let run = to_sql(run_id.as_u64());
        let deleted = self
            .client
            .execute(&self.delete, &[&run])
            .await
            .map_err(unavailable("deleting a run"))?;
        match deleted {
            0 => Err(StoreError::unknown_run(run_id)),
            n => Ok(n),
        }
    }

    async fn delete_if_latest(&self, latest: &Checkpoint) -> Result<Option<u64>, StoreError> {
        let r = Values::of(latest);
        let row = self
            .client
            .query_one(
                &self.delete_if_latest,
                &[&r.run_id, &r.step, &r.status, &r.question],
            )
            .await
            .map_err(unavailable("deleting a run"))?;
        let counts = (row.try_get::<_, i64>(0), row.try_get::<_, i64>(1));
        match counts {
            (Ok(0), _) => Err(StoreError::unknown_run(latest.run_id)),
            (Ok(_), Ok(0)) => Ok(None),
            (Ok(_), Ok(n)) => Ok(Some(n.unsigned_abs())),
            (Err(e), _) | (_, Err(e)) => Err(StoreError::unavailable("deleting a run", e)),
        }
    }

    async fn save_part(&self, checkpoint: &Checkpoint, part: &Part) -> Result<(), StoreError> {
        let (run, step) = (
            to_sql(checkpoint.run_id.as_u64()),
            i64::from(checkpoint.step),
        );
        let sum = to_sql(part.checksum());
        let result = self
            .client
            .execute(
                &self.insert_part,
                &[&run, &step, &part.key, &part.value, &sum],
            )
            .await;
        result
            .map(drop)
            .map_err(|e| save_error(checkpoint, "saving a part", e))
    }

    async fn parts(&self, run_id: RunId, step: u32) -> Result<Vec<Part>, StoreError> {
        let (run, at) = (to_sql(run_id.as_u64()), i64::from(step));
        let rows = self
            .client
            .query(&self.parts, &[&run, &at])
            .await
            .map_err(unavailable("reading parts"))?;
        rows.iter()
            .map(|row| {
                let read = |e: tokio_postgres::Error| StoreError::unavailable("reading parts", e);
                let part = Part::new(
                    row.try_get::<_, String>(0).map_err(read)?,
                    row.try_get::<_, Vec<u8>>(1).map_err(read)?,
                );
                let sum: i64 = row.try_get(2).map_err(read)?;
                checked(part, sum, run_id, step)
            })
            .collect()
    }
}

/// Brings the schema to the newest version in one transaction, under an advisory lock so
/// that processes connecting together apply each migration once.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    let sql = unavailable("migrating the schema");
    let tx = client.transaction().await.map_err(sql)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unavailable("migrating the schema"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS typedflow_schema_migrations (
            version    BIGINT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(unavailable("migrating the schema"))?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM typedflow_schema_migrations",
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(unavailable("migrating the schema"))?;
    if current > known {
        return Err(StoreError::schema_too_new(current, known));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(migration.sql)
            .await
            .map_err(unavailable("migrating the schema"))?;
        tx.execute(
            "INSERT INTO typedflow_schema_migrations (version) VALUES ($1)",
            &[&migration.version],
        )
        .await
        .map_err(unavailable("migrating the schema"))?;
    }
    tx.commit()
        .await
        .map_err(unavailable("migrating the schema"))
}
