//! Checkpoints of a run and the stores that keep them.
//!
//! A [`Checkpoint`] is the versioned envelope written after a step: which flow and graph
//! it belongs to, which run and step, the node that ran, and the run's state as opaque
//! bytes (the runtime does not serialize; a durable flow hands its encoded state in). A
//! [`Checkpointer`] is a store of checkpoints. This module has the trait, its
//! [`StoreError`] and an in-memory store, [`MemoryStore`]; the SQLite and Postgres stores
//! live in the `typedflow-store` crate.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{BoxError, RunId};

/// The version of the [`Checkpoint`] envelope this library writes.
///
/// A store keeps it in every row; a row written by a newer library (a higher version)
/// is refused as [`StoreError::Corrupt`] rather than misread.
pub const FORMAT_VERSION: u16 = 1;

/// Where a run stood when its checkpoint was written.
///
/// ```
/// use typedflow::checkpoint::RunStatus;
///
/// let waiting = RunStatus::Waiting { question: "Approval".to_string() };
/// assert!(!waiting.is_terminal());
/// assert!(RunStatus::Finished.is_terminal());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunStatus {
    /// The run goes on: the state holds the next step's input.
    Running,
    /// The run stopped to ask a person a question and waits for the answer.
    Waiting {
        /// The type name of the question asked.
        question: String,
    },
    /// The run reached its end; the state holds its output.
    Finished,
    /// The run failed; the state holds what the failed step was given. (Not `Failed`:
    /// that name is the runtime's error-edge input, and a second public `Failed` would
    /// make rustc spell that type's full path in every diagnostic.)
    Errored,
}

impl RunStatus {
    /// Whether the run can go no further by itself (finished or failed).
    pub fn is_terminal(&self) -> bool {
        matches!(self, RunStatus::Finished | RunStatus::Errored)
    }

    /// A short lowercase name for the status, as stores and command-line tools show it:
    /// `running`, `waiting`, `finished` or `failed`.
    ///
    /// ```
    /// use typedflow::checkpoint::RunStatus;
    ///
    /// assert_eq!(RunStatus::Errored.name(), "failed");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Waiting { .. } => "waiting",
            RunStatus::Finished => "finished",
            RunStatus::Errored => "failed",
        }
    }

    /// The inverse of [`name`](Self::name): a status from its name and, for `waiting`,
    /// the question's type name. `None` for an unknown name or a `waiting` without a
    /// question.
    ///
    /// ```
    /// use typedflow::checkpoint::RunStatus;
    ///
    /// assert_eq!(RunStatus::from_name("running", None), Some(RunStatus::Running));
    /// assert_eq!(
    ///     RunStatus::from_name("waiting", Some("Approval")),
    ///     Some(RunStatus::Waiting { question: "Approval".into() }),
    /// );
    /// assert_eq!(RunStatus::from_name("waiting", None), None);
    /// assert_eq!(RunStatus::from_name("paused", None), None);
    /// ```
    pub fn from_name(name: &str, question: Option<&str>) -> Option<Self> {
        match (name, question) {
            ("running", None) => Some(RunStatus::Running),
            ("waiting", Some(q)) => Some(RunStatus::Waiting {
                question: q.to_owned(),
            }),
            ("finished", None) => Some(RunStatus::Finished),
            ("failed", None) => Some(RunStatus::Errored),
            _ => None,
        }
    }

    /// The question's type name when the run waits for an answer.
    pub fn question(&self) -> Option<&str> {
        match self {
            RunStatus::Waiting { question } => Some(question),
            _ => None,
        }
    }
}

/// One saved step of a run: the versioned envelope around the run's encoded state.
///
/// A store keys checkpoints by run id and step; saving a step that is already saved is a
/// [`StoreError::Conflict`]. The state is opaque bytes: a durable flow encodes its state
/// enum (e.g. with serde) and decodes what it loads.
///
/// Times are kept to the microsecond, as the stores keep them.
///
/// ```
/// use typedflow::RunId;
/// use typedflow::checkpoint::{Checkpoint, FORMAT_VERSION, RunStatus};
///
/// let cp = Checkpoint::new("Essay", 0x5eed, RunId::from_u64(7), 3, "review", b"{}".to_vec())
///     .with_attempt(2)
///     .with_status(RunStatus::Waiting { question: "Approval".into() });
/// assert_eq!(cp.format, FORMAT_VERSION);
/// assert_eq!((cp.step, cp.attempt), (3, 2));
/// assert_eq!(cp.status.question(), Some("Approval"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The envelope's format version, [`FORMAT_VERSION`] for a checkpoint made here.
    pub format: u16,
    /// The flow's name.
    pub flow: String,
    /// The fingerprint of the flow's graph (nodes, edges, types): a checkpoint of another
    /// graph must not be resumed into this one.
    pub fingerprint: u64,
    /// The run this checkpoint belongs to.
    pub run_id: RunId,
    /// The step just completed, counting from 1.
    pub step: u32,
    /// The step the state runs next: what a resumed run starts with (for a failed run,
    /// the step that failed; `END` for a finished one).
    pub node: String,
    /// How many attempts the node took, counting from 1.
    pub attempt: u32,
    /// When the checkpoint was made (to the microsecond).
    pub time: SystemTime,
    /// Where the run stands.
    pub status: RunStatus,
    /// The run's state after the step, encoded by the flow.
    pub state: Vec<u8>,
}

impl Checkpoint {
    /// A checkpoint of a running run, made now, after the node's first attempt.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::{Checkpoint, RunStatus};
    ///
    /// let cp = Checkpoint::new("Essay", 1, RunId::from_u64(9), 1, "outline", vec![1, 2, 3]);
    /// assert_eq!(cp.status, RunStatus::Running);
    /// assert_eq!(cp.attempt, 1);
    /// ```
    pub fn new(
        flow: impl Into<String>,
        fingerprint: u64,
        run_id: RunId,
        step: u32,
        node: impl Into<String>,
        state: Vec<u8>,
    ) -> Self {
        Checkpoint {
            format: FORMAT_VERSION,
            flow: flow.into(),
            fingerprint,
            run_id,
            step,
            node: node.into(),
            attempt: 1,
            time: truncate_to_micros(SystemTime::now()),
            status: RunStatus::Running,
            state,
        }
    }

    /// Sets how many attempts the node took.
    #[must_use]
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// Sets the run's status.
    #[must_use]
    pub fn with_status(mut self, status: RunStatus) -> Self {
        self.status = status;
        self
    }

    /// Sets the time to now, cut to the microsecond.
    pub(crate) fn touch(&mut self) {
        self.time = truncate_to_micros(SystemTime::now());
    }

    /// Sets the time, cut to the microsecond.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::Checkpoint;
    ///
    /// let at = UNIX_EPOCH + Duration::from_nanos(1_500);
    /// let cp = Checkpoint::new("F", 0, RunId::from_u64(1), 1, "a", vec![]).with_time(at);
    /// assert_eq!(cp.time_unix_micros(), 1);
    /// ```
    #[must_use]
    pub fn with_time(mut self, time: SystemTime) -> Self {
        self.time = truncate_to_micros(time);
        self
    }

    /// Sets the time from microseconds since the Unix epoch (negative: before it), the
    /// form stores keep.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::Checkpoint;
    ///
    /// let cp = Checkpoint::new("F", 0, RunId::from_u64(1), 1, "a", vec![])
    ///     .with_time_unix_micros(-5);
    /// assert_eq!(cp.time_unix_micros(), -5);
    /// ```
    #[must_use]
    pub fn with_time_unix_micros(mut self, micros: i64) -> Self {
        let magnitude = Duration::from_micros(micros.unsigned_abs());
        self.time = if micros >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        };
        self
    }

    /// The time as microseconds since the Unix epoch (negative: before it), saturating
    /// at the ends of `i64`.
    pub fn time_unix_micros(&self) -> i64 {
        match self.time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_micros())
                .map(|m| -m)
                .unwrap_or(i64::MIN),
        }
    }

    /// A checksum of the state bytes (64-bit FNV-1a), which stores keep beside the state
    /// to tell a truncated or overwritten state from the one saved.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::Checkpoint;
    ///
    /// let a = Checkpoint::new("F", 0, RunId::from_u64(1), 1, "a", b"state".to_vec());
    /// let mut b = a.clone();
    /// b.state.truncate(3);
    /// assert_ne!(a.state_checksum(), b.state_checksum());
    /// ```
    pub fn state_checksum(&self) -> u64 {
        checksum(&self.state)
    }
}

/// 64-bit FNV-1a: tiny, dependency-free, and enough to catch a torn or edited blob (it is
/// not a defence against someone forging rows).
fn checksum(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn truncate_to_micros(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => UNIX_EPOCH + Duration::from_micros(micros_u64(after)),
        Err(before) => {
            let d = before.duration();
            // Round away from the epoch so the result stays at or before `time`'s micro.
            let micros = micros_u64(d) + u64::from(d.subsec_nanos() % 1000 != 0);
            UNIX_EPOCH - Duration::from_micros(micros)
        }
    }
}

fn micros_u64(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Why a [`Checkpointer`] could not do what was asked.
///
/// ```
/// use typedflow::RunId;
/// use typedflow::checkpoint::StoreError;
///
/// let err = StoreError::conflict(RunId::from_u64(1), 4);
/// assert!(err.is_conflict());
/// assert!(!err.is_retryable());
/// assert_eq!(err.to_string(), "run 0000000000000001 already has a checkpoint for step 4");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A checkpoint for this run and step already exists: another process saved it first
    /// (two processes resuming one run), or the step was saved twice. Nothing was written.
    #[error("run {run_id} already has a checkpoint for step {step}")]
    #[non_exhaustive]
    Conflict {
        /// The run.
        run_id: RunId,
        /// The step already saved.
        step: u32,
    },
    /// The store has no checkpoint of this run.
    #[error("no checkpoint of run {run_id} in the store")]
    #[non_exhaustive]
    UnknownRun {
        /// The run asked for.
        run_id: RunId,
    },
    /// A stored checkpoint cannot be read back: a column of the wrong type, a truncated
    /// or altered state, an unknown status, or a format version newer than this library.
    /// The row is left as it is.
    #[error("checkpoint of run {run_id} at step {step} is corrupt: {reason}")]
    #[non_exhaustive]
    Corrupt {
        /// The run whose row is bad.
        run_id: RunId,
        /// The step of the bad row, as far as it could be read (0 if it could not).
        step: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// The store's schema was written by a newer version of the store than this one.
    #[error(
        "the store's schema is at version {found}, newer than the {known} this library knows; upgrade typedflow-store"
    )]
    #[non_exhaustive]
    SchemaTooNew {
        /// The schema version found in the store.
        found: i64,
        /// The newest version this library knows.
        known: i64,
    },
    /// The store is full (disk full, or a size limit reached). Nothing was written.
    #[error("the checkpoint store is full")]
    #[non_exhaustive]
    Full {
        /// The store's own error.
        #[source]
        source: BoxError,
    },
    /// The store could not be reached or failed to read or write (I/O, a lost
    /// connection, a locked database).
    #[error("the checkpoint store is unavailable: {context}")]
    #[non_exhaustive]
    Unavailable {
        /// What the store was doing.
        context: String,
        /// The store's own error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// A [`Conflict`](Self::Conflict): the run already has a checkpoint for `step`.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::StoreError;
    ///
    /// assert!(StoreError::conflict(RunId::from_u64(1), 2).is_conflict());
    /// ```
    pub fn conflict(run_id: RunId, step: u32) -> Self {
        StoreError::Conflict { run_id, step }
    }

    /// An [`UnknownRun`](Self::UnknownRun): the store has no checkpoint of the run.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::StoreError;
    ///
    /// let err = StoreError::unknown_run(RunId::from_u64(255));
    /// assert_eq!(err.to_string(), "no checkpoint of run 00000000000000ff in the store");
    /// ```
    pub fn unknown_run(run_id: RunId) -> Self {
        StoreError::UnknownRun { run_id }
    }

    /// A [`SchemaTooNew`](Self::SchemaTooNew): the store's schema is at version `found`,
    /// this library knows up to `known`.
    ///
    /// ```
    /// use typedflow::checkpoint::StoreError;
    ///
    /// let err = StoreError::schema_too_new(3, 1);
    /// assert!(err.to_string().contains("version 3"));
    /// ```
    pub fn schema_too_new(found: i64, known: i64) -> Self {
        StoreError::SchemaTooNew { found, known }
    }

    /// An [`Unavailable`](Self::Unavailable) error: what the store was doing, and why it
    /// failed.
    ///
    /// ```
    /// use typedflow::checkpoint::StoreError;
    ///
    /// let io = std::io::Error::other("connection reset");
    /// let err = StoreError::unavailable("saving a checkpoint", io);
    /// assert!(err.is_retryable());
    /// ```
    pub fn unavailable(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable {
            context: context.into(),
            source: source.into(),
        }
    }

    /// A [`Full`](Self::Full) error with the store's own error as its source.
    ///
    /// ```
    /// use typedflow::checkpoint::StoreError;
    ///
    /// let err = StoreError::full(std::io::Error::other("no space left on device"));
    /// assert!(matches!(err, StoreError::Full { .. }));
    /// ```
    pub fn full(source: impl Into<BoxError>) -> Self {
        StoreError::Full {
            source: source.into(),
        }
    }

    /// A [`Corrupt`](Self::Corrupt) error for a run's row.
    ///
    /// ```
    /// use typedflow::RunId;
    /// use typedflow::checkpoint::StoreError;
    ///
    /// let err = StoreError::corrupt(RunId::from_u64(2), 5, "unknown status `paused`");
    /// assert!(err.to_string().ends_with("unknown status `paused`"));
    /// ```
    pub fn corrupt(run_id: RunId, step: u32, reason: impl Into<String>) -> Self {
        StoreError::Corrupt {
            run_id,
            step,
            reason: reason.into(),
        }
    }

    /// Whether this is a [`Conflict`](Self::Conflict): another writer saved the step.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// Whether trying again later may succeed: the store was unavailable. A conflict, an
    /// unknown run, a corrupt row or a full store stay as they are.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// A store of checkpoints.
///
/// Each checkpoint is one record keyed by its run id and step, written atomically: a
/// save either stores the whole checkpoint or nothing. A second save of a (run, step)
/// already stored fails with [`StoreError::Conflict`], decided by the store itself (a
/// database constraint), which is how two processes resuming one run are told apart.
/// Run ids are unique across the store, whatever the flow.
///
/// The futures are `Send`, so a store can be used from any tokio task. Implement it with
/// `async fn`:
///
/// ```
/// use typedflow::RunId;
/// use typedflow::checkpoint::{Checkpoint, Checkpointer, MemoryStore, StoreError};
///
/// /// Counts saves, and keeps checkpoints in an inner store.
/// struct Counting<S> {
///     inner: S,
///     saves: std::sync::atomic::AtomicU64,
/// }
///
/// impl<S: Checkpointer> Checkpointer for Counting<S> {
///     async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
///         self.saves.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.save(checkpoint).await
///     }
///     async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
///         self.inner.latest(run_id).await
///     }
///     async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
///         self.inner.history(run_id).await
///     }
///     async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
///         self.inner.runs().await
///     }
///     async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
///         self.inner.delete(run_id).await
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = Counting { inner: MemoryStore::new(), saves: Default::default() };
/// let run = RunId::from_u64(1);
/// store.save(&Checkpoint::new("F", 0, run, 1, "a", vec![1])).await?;
/// assert_eq!(store.latest(run).await?.step, 1);
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
pub trait Checkpointer: Send + Sync {
    /// Saves the checkpoint of a step.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the run already has a checkpoint for this step;
    /// [`StoreError::Full`] or [`StoreError::Unavailable`] if the store cannot write. On
    /// any error nothing was written.
    fn save(&self, checkpoint: &Checkpoint) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The checkpoint of a run's highest step.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`] if the store has no checkpoint of the run;
    /// [`StoreError::Corrupt`] if the row cannot be read back.
    fn latest(&self, run_id: RunId) -> impl Future<Output = Result<Checkpoint, StoreError>> + Send;

    /// Every checkpoint of a run, by step, first to last.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`] if the store has no checkpoint of the run;
    /// [`StoreError::Corrupt`] if a row cannot be read back.
    fn history(
        &self,
        run_id: RunId,
    ) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send;

    /// The latest checkpoint of every run in the store, newest first (by time, then run
    /// id), for tools that list runs.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] if a row cannot be read back;
    /// [`StoreError::Unavailable`] if the store cannot be read.
    fn runs(&self) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send;

    /// Deletes every checkpoint of a run and returns how many there were.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`] if the store has no checkpoint of the run.
    fn delete(&self, run_id: RunId) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the run of `latest` (its checkpoints and parts), but only if `latest` is
    /// still its latest checkpoint (the same step and status), and returns how many
    /// checkpoints were deleted; `None` if the run moved on since `latest` was read (a
    /// process resumed it), and then nothing is deleted. For a tool that decides from a
    /// listing what to delete, as `typedflow prune` does.
    ///
    /// The default reads the latest checkpoint and then deletes, so a run resumed between
    /// the two is deleted anyway. [`MemoryStore`] and the SQLite store check and delete
    /// atomically; the Postgres store in one statement.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`] if the store has no checkpoint of the run.
    fn delete_if_latest(
        &self,
        latest: &Checkpoint,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send {
        async move {
            let now = self.latest(latest.run_id).await?;
            if now.step != latest.step || now.status != latest.status {
                return Ok(None);
            }
            self.delete(latest.run_id).await.map(Some)
        }
    }

    /// Saves a part of the step that runs after `checkpoint`: the output of one node call
    /// inside a fan-out or a map (a branch's node, a map's item), so that a run resumed
    /// from `checkpoint` does not call that node again. Each part is saved once, when its
    /// call ends; the step's own checkpoint follows when the whole step has ended.
    ///
    /// The default keeps nothing: a run resumed inside a fan-out or a map then runs all of
    /// it again, as it would with no parts at all. [`MemoryStore`] keeps them, and so does
    /// the Restate adapter's journal; a store that keeps them returns them from
    /// [`parts`](Self::parts).
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the part is already saved;
    /// [`StoreError::Full`] or [`StoreError::Unavailable`] if the store cannot write.
    fn save_part(
        &self,
        checkpoint: &Checkpoint,
        part: &Part,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (checkpoint, part);
        std::future::ready(Ok(()))
    }

    /// The parts saved for the step after the checkpoint of step `step` of a run, in any
    /// order: what a run resumed from that checkpoint need not run again. The default
    /// keeps none. [`delete`](Self::delete) deletes a run's parts with its checkpoints.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] if a part does not match its checksum;
    /// [`StoreError::Unavailable`] if the store cannot be read.
    fn parts(
        &self,
        run_id: RunId,
        step: u32,
    ) -> impl Future<Output = Result<Vec<Part>, StoreError>> + Send {
        let _ = (run_id, step);
        std::future::ready(Ok(Vec::new()))
    }
}

/// A part of a step: the encoded output of one node call inside a fan-out or a map,
/// saved as soon as the call ended (see [`Checkpointer::save_part`]).
///
/// ```
/// use typedflow::checkpoint::Part;
///
/// let part = Part::new("1.0:fetch", b"\"page\"".to_vec());
/// assert_eq!(part.key, "1.0:fetch");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Part {
    /// Which call it is, unique within its step: `<branch>.<node>:<name>` for the
    /// `node`-th node of a fan-out's `branch`-th branch (from 0), `[<name>]` for a map
    /// step's worker, and `#<item>` after either for one item of a map.
    pub key: String,
    /// The call's output, encoded by the flow (as a checkpoint's state is).
    pub value: Vec<u8>,
}

impl Part {
    /// The part `key` with the encoded output `value`.
    pub fn new(key: impl Into<String>, value: Vec<u8>) -> Self {
        Part {
            key: key.into(),
            value,
        }
    }

    /// A checksum of the value, as [`Checkpoint::state_checksum`] is of a state.
    ///
    /// ```
    /// use typedflow::checkpoint::Part;
    ///
    /// let a = Part::new("0.0:x", b"1234".to_vec());
    /// assert_ne!(a.checksum(), Part::new("0.0:x", b"12".to_vec()).checksum());
    /// ```
    pub fn checksum(&self) -> u64 {
        checksum(&self.value)
    }
}

impl<S: Checkpointer> Checkpointer for Arc<S> {
    fn save(&self, checkpoint: &Checkpoint) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::save(self, checkpoint)
    }
    fn latest(&self, run_id: RunId) -> impl Future<Output = Result<Checkpoint, StoreError>> + Send {
        S::latest(self, run_id)
    }
    fn history(
        &self,
        run_id: RunId,
    ) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send {
        S::history(self, run_id)
    }
    fn runs(&self) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send {
        S::runs(self)
    }
    fn delete(&self, run_id: RunId) -> impl Future<Output = Result<u64, StoreError>> + Send {
        S::delete(self, run_id)
    }
    fn save_part(
        &self,
        checkpoint: &Checkpoint,
        part: &Part,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::save_part(self, checkpoint, part)
    }
    fn parts(
        &self,
        run_id: RunId,
        step: u32,
    ) -> impl Future<Output = Result<Vec<Part>, StoreError>> + Send {
        S::parts(self, run_id, step)
    }
    fn delete_if_latest(
        &self,
        latest: &Checkpoint,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send {
        S::delete_if_latest(self, latest)
    }
}

/// Orders checkpoints as [`Checkpointer::runs`] returns them: newest first, then by run id.
///
/// Stores that gather the latest checkpoints themselves sort them with this, so every
/// store lists runs in one order.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use typedflow::RunId;
/// use typedflow::checkpoint::{Checkpoint, sort_runs};
///
/// let at = |s| UNIX_EPOCH + Duration::from_secs(s);
/// let mut runs = vec![
///     Checkpoint::new("F", 0, RunId::from_u64(1), 1, "a", vec![]).with_time(at(10)),
///     Checkpoint::new("F", 0, RunId::from_u64(2), 1, "a", vec![]).with_time(at(20)),
/// ];
/// sort_runs(&mut runs);
/// assert_eq!(runs[0].run_id, RunId::from_u64(2));
/// ```
pub fn sort_runs(runs: &mut [Checkpoint]) {
    runs.sort_by(|a, b| b.time.cmp(&a.time).then(a.run_id.cmp(&b.run_id)));
}

/// A checkpoint store in memory: for tests, and the default when no store is configured.
///
/// It keeps every checkpoint of every run until deleted, and is lost with the process.
/// Clones share one store.
///
/// ```
/// use typedflow::RunId;
/// use typedflow::checkpoint::{Checkpoint, Checkpointer, MemoryStore, StoreError};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let run = RunId::from_u64(42);
/// let step = |n| Checkpoint::new("Essay", 7, run, n, "write", vec![n as u8]);
/// store.save(&step(1)).await?;
/// store.save(&step(2)).await?;
/// assert!(store.save(&step(2)).await.unwrap_err().is_conflict());
/// assert_eq!(store.latest(run).await?.state, vec![2]);
/// assert_eq!(store.history(run).await?.len(), 2);
/// assert_eq!(store.delete(run).await?, 2);
/// assert!(matches!(store.latest(run).await, Err(StoreError::UnknownRun { .. })));
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    runs: Arc<Mutex<HashMap<RunId, Steps>>>,
}

/// A run's checkpoints by step, and the parts saved after each.
#[derive(Debug, Default)]
struct Steps {
    checkpoints: BTreeMap<u32, Checkpoint>,
    parts: BTreeMap<u32, Vec<Part>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RunId, Steps>> {
        // A panic while the lock was held cannot leave the map half-changed: every
        // change below is one `insert` or `remove`, so a poisoned map is still whole.
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Checkpointer for MemoryStore {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let mut runs = self.lock();
        let steps = &mut runs.entry(checkpoint.run_id).or_default().checkpoints;
        match steps.entry(checkpoint.step) {
            std::collections::btree_map::Entry::Occupied(_) => Err(StoreError::Conflict {
                run_id: checkpoint.run_id,
                step: checkpoint.step,
            }),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(checkpoint.clone());
                Ok(())
            }
        }
    }

    async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
        self.lock()
            .get(&run_id)
            .and_then(|steps| steps.checkpoints.last_key_value())
            .map(|(_, cp)| cp.clone())
            .ok_or(StoreError::UnknownRun { run_id })
    }

    async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
        self.lock()
            .get(&run_id)
            .filter(|steps| !steps.checkpoints.is_empty())
            .map(|steps| steps.checkpoints.values().cloned().collect())
            .ok_or(StoreError::UnknownRun { run_id })
    }

    async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut runs: Vec<Checkpoint> = self
            .lock()
            .values()
            .filter_map(|steps| steps.checkpoints.last_key_value().map(|(_, cp)| cp.clone()))
            .collect();
        sort_runs(&mut runs);
        Ok(runs)
    }

    async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
        match self.lock().remove(&run_id) {
            Some(steps) if !steps.checkpoints.is_empty() => Ok(steps.checkpoints.len() as u64),
            _ => Err(StoreError::UnknownRun { run_id }),
        }
    }

    async fn delete_if_latest(&self, latest: &Checkpoint) -> Result<Option<u64>, StoreError> {
        let run_id = latest.run_id;
        let mut runs = self.lock();
        let now = runs
            .get(&run_id)
            .and_then(|steps| steps.checkpoints.last_key_value())
            .map(|(_, cp)| (cp.step, cp.status.clone()))
            .ok_or(StoreError::UnknownRun { run_id })?;
        if now != (latest.step, latest.status.clone()) {
            return Ok(None);
        }
        Ok(runs
            .remove(&run_id)
            .map(|steps| steps.checkpoints.len() as u64))
    }

    async fn save_part(&self, checkpoint: &Checkpoint, part: &Part) -> Result<(), StoreError> {
        let mut runs = self.lock();
        let parts = runs
            .entry(checkpoint.run_id)
            .or_default()
            .parts
            .entry(checkpoint.step)
            .or_default();
        if parts.iter().any(|p| p.key == part.key) {
            return Err(StoreError::Conflict {
                run_id: checkpoint.run_id,
                step: checkpoint.step,
            });
        }
        parts.push(part.clone());
        Ok(())
    }

    async fn parts(&self, run_id: RunId, step: u32) -> Result<Vec<Part>, StoreError> {
        Ok(self
            .lock()
            .get(&run_id)
            .and_then(|steps| steps.parts.get(&step))
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_on_both_sides_of_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001] {
            let cp = Checkpoint::new("F", 0, RunId::from_u64(1), 1, "a", vec![])
                .with_time_unix_micros(micros);
            assert_eq!(cp.time_unix_micros(), micros);
        }
    }

    #[test]
    fn times_are_cut_to_the_microsecond() {
        let after = UNIX_EPOCH + Duration::from_nanos(2_999);
        let before = UNIX_EPOCH - Duration::from_nanos(2_001);
        let cp = Checkpoint::new("F", 0, RunId::from_u64(1), 1, "a", vec![]);
        assert_eq!(cp.clone().with_time(after).time_unix_micros(), 2);
        assert_eq!(cp.with_time(before).time_unix_micros(), -3);
    }

    #[test]
    fn checksum_is_fnv1a() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(checksum(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(checksum(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn every_status_name_reads_back() {
        for status in [
            RunStatus::Running,
            RunStatus::Waiting {
                question: "Approval".into(),
            },
            RunStatus::Finished,
            RunStatus::Errored,
        ] {
            assert_eq!(
                RunStatus::from_name(status.name(), status.question()),
                Some(status.clone())
            );
        }
        assert_eq!(RunStatus::from_name("running", Some("Approval")), None);
    }
}
