//! The commands, each over any [`Checkpointer`]: what they read, what they print, what
//! they delete.
//!
//! Output goes to stdout (tables, JSON, summaries); errors and progress to stderr.

use std::future::Future;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, Checkpointer, StoreError};

use crate::cli::{Cli, Command, DeleteArgs, HistoryArgs, PruneArgs, RunsArgs, Status};
use crate::error::Failure;
use crate::progress::{Mode, Progress};
use crate::show::{self, State};
use crate::store::{self, Target};

/// Runs the command line's command on its store.
pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let target = Target::choose(&cli.store, std::env::var("DATABASE_URL").ok())?;
    let outcome = on_target(&target, cli.command).await;
    // A driver's message could quote the URL it was given: never with its password.
    outcome.map_err(|failure| failure.scrub(target.secret()))
}

async fn on_target(target: &Target, command: Command) -> Result<ExitCode, Failure> {
    match target {
        Target::Sqlite(path) => {
            let writes = match &command {
                Command::Delete(_) => true,
                Command::Prune(args) => !args.dry_run,
                Command::Runs(_) | Command::History(_) => false,
            };
            on_store(&store::open_sqlite(path, writes)?, command).await
        }
        #[cfg(feature = "postgres")]
        Target::Postgres(url) => on_store(&store::open_postgres(url).await?, command).await,
        #[cfg(not(feature = "postgres"))]
        Target::Postgres(url) => Err(Failure::new(format!(
            "`{}` is a Postgres store, and this typedflow was built without Postgres support",
            store::redact(url)
        ))
        .hint("install typedflow-cli with `--features postgres`")),
    }
}

async fn on_store(store: &impl Checkpointer, command: Command) -> Result<ExitCode, Failure> {
    let mut out = BufWriter::new(io::stdout().lock());
    let outcome = match command {
        Command::Runs(args) => runs(store, &args, &mut out).await,
        Command::History(args) => history(store, &args, &mut out).await,
        Command::Delete(args) => delete(store, &args, &mut out).await,
        Command::Prune(args) => prune(store, &args, &mut out).await,
    };
    // What was printed before a failure still comes out, before the error.
    let flushed = out.flush();
    let code = outcome?;
    flushed?;
    Ok(code)
}

fn wanted(cp: &Checkpoint, flow: Option<&String>, statuses: &[Status]) -> bool {
    flow.is_none_or(|f| *f == cp.flow)
        && (statuses.is_empty() || statuses.iter().any(|s| s.matches(&cp.status)))
}

fn write_json(out: &mut impl Write, list: &[show::Object]) -> Result<(), Failure> {
    writeln!(out, "{}", show::array(list))?;
    Ok(())
}

fn runs_table(runs: &[Checkpoint], now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|cp| {
            vec![
                cp.flow.clone(),
                cp.run_id.to_string(),
                show::status(cp),
                cp.step.to_string(),
                cp.node.clone(),
                show::age(now, cp.time),
            ]
        })
        .collect();
    show::table(&["FLOW", "RUN ID", "STATUS", "STEP", "NODE", "AGE"], &rows)
}

/// `typedflow runs`: the latest checkpoint of each run, newest first, filtered.
async fn runs(
    store: &impl Checkpointer,
    args: &RunsArgs,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let now = SystemTime::now();
    let mut runs = store.runs().await?;
    runs.retain(|cp| wanted(cp, args.flow.as_ref(), &args.status));
    if let Some(limit) = args.limit {
        runs.truncate(limit);
    }
    if args.json {
        let list: Vec<_> = runs.iter().map(|cp| show::run_json(cp, now)).collect();
        write_json(out, &list)?;
    } else if runs.is_empty() {
        writeln!(out, "no runs")?;
    } else {
        write!(out, "{}", runs_table(&runs, now))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `typedflow history`: every checkpoint of a run, first to last, with its state.
async fn history(
    store: &impl Checkpointer,
    args: &HistoryArgs,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let steps = store.history(args.run).await?;
    if args.json {
        let list: Vec<_> = steps.iter().map(show::step_json).collect();
        write_json(out, &list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(last) = steps.last() {
        writeln!(
            out,
            "run {} of flow {} (graph fingerprint {:016x}): {}, {}\n",
            last.run_id,
            last.flow,
            last.fingerprint,
            show::status(last),
            plural(steps.len(), "checkpoint"),
        )?;
    }
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|cp| {
            vec![
                cp.step.to_string(),
                cp.node.clone(),
                show::status(cp),
                cp.attempt.to_string(),
                show::timestamp(cp),
                State::of(&cp.state).line(),
            ]
        })
        .collect();
    let header = ["STEP", "NODE", "STATUS", "ATTEMPT", "TIME (UTC)", "STATE"];
    write!(out, "{}", show::table(&header, &rows))?;
    Ok(ExitCode::SUCCESS)
}

/// `typedflow delete`: each run named, once; an unknown one is reported and the others
/// still deleted, and the exit code says so.
async fn delete(
    store: &impl Checkpointer,
    args: &DeleteArgs,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let mut ids: Vec<RunId> = Vec::with_capacity(args.runs.len());
    for id in &args.runs {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    let each = |id| async move {
        match store.delete(id).await {
            Ok(n) => Ok(Outcome::Deleted(n)),
            Err(StoreError::UnknownRun { .. }) => Ok(Outcome::Unknown(id)),
            Err(e) => Err(e),
        }
    };
    let tally = work_through(ids.into_iter(), "deleting runs", args.progress, out, each).await?;
    if tally.unknown.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    out.flush()?;
    let mut err = io::stderr().lock();
    for id in tally.unknown {
        writeln!(err, "typedflow: error: no run {id} in the store")?;
    }
    Ok(ExitCode::FAILURE)
}

/// `typedflow prune`: the runs whose latest checkpoint matches, each deleted only if it
/// has not moved on since it was listed.
async fn prune(
    store: &impl Checkpointer,
    args: &PruneArgs,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let now = SystemTime::now();
    let statuses = args.statuses();
    let old_enough = |cp: &Checkpoint| {
        args.older_than
            .is_none_or(|age| now.duration_since(cp.time).is_ok_and(|cp_age| cp_age > age))
    };
    let mut runs = store.runs().await?;
    runs.retain(|cp| wanted(cp, args.flow.as_ref(), &statuses) && old_enough(cp));
    if args.dry_run {
        if !runs.is_empty() {
            write!(out, "{}", runs_table(&runs, now))?;
        }
        writeln!(
            out,
            "would delete {} (dry run: nothing deleted)",
            plural(runs.len(), "run")
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let each = |listed| prune_one(store, listed);
    work_through(runs.iter(), "pruning runs", args.progress, out, each).await?;
    Ok(ExitCode::SUCCESS)
}

/// Does `each` to every item, with progress on stderr, and prints the summary of what
/// was done, also when a store error stops it half way.
async fn work_through<T, F>(
    items: impl ExactSizeIterator<Item = T>,
    what: &'static str,
    forced_progress: bool,
    out: &mut impl Write,
    each: impl Fn(T) -> F,
) -> Result<Tally, Failure>
where
    F: Future<Output = Result<Outcome, StoreError>>,
{
    let mode = Mode::for_stderr(forced_progress);
    let mut progress = Progress::new(io::stderr(), mode, what, items.len());
    let mut tally = Tally::default();
    for item in items {
        match each(item).await {
            Ok(outcome) => tally.record(outcome),
            Err(e) => {
                progress.finish();
                writeln!(out, "{}", tally.summary())?;
                return Err(e.into());
            }
        }
        progress.tick();
    }
    progress.finish();
    writeln!(out, "{}", tally.summary())?;
    Ok(tally)
}

/// Deletes a listed run unless it moved on (a newer step, another status) or is gone:
/// the store checks and deletes at once, so a run resumed since the listing is kept.
async fn prune_one(store: &impl Checkpointer, listed: &Checkpoint) -> Result<Outcome, StoreError> {
    match store.delete_if_latest(listed).await {
        Ok(Some(n)) => Ok(Outcome::Deleted(n)),
        Ok(None) => Ok(Outcome::Moved),
        Err(StoreError::UnknownRun { .. }) => Ok(Outcome::Gone),
        Err(e) => Err(e),
    }
}

/// What became of one run of a delete or prune.
#[derive(Debug)]
enum Outcome {
    /// Deleted, with this many checkpoints.
    Deleted(u64),
    /// Named, but not in the store.
    Unknown(RunId),
    /// Left alone: it moved on since it was listed.
    Moved,
    /// Deleted by someone else since it was listed.
    Gone,
}

/// What a delete or prune did.
#[derive(Debug, Default)]
struct Tally {
    runs: usize,
    checkpoints: u64,
    /// Runs named that the store does not have.
    unknown: Vec<RunId>,
    /// Runs left alone: they moved on since they were listed.
    moved: usize,
    /// Runs already deleted by someone else.
    gone: usize,
}

impl Tally {
    fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Deleted(checkpoints) => {
                self.runs += 1;
                self.checkpoints += checkpoints;
            }
            Outcome::Unknown(id) => self.unknown.push(id),
            Outcome::Moved => self.moved += 1,
            Outcome::Gone => self.gone += 1,
        }
    }

    fn summary(&self) -> String {
        let mut text = format!(
            "deleted {} ({})",
            plural(self.runs, "run"),
            plural(
                usize::try_from(self.checkpoints).unwrap_or(usize::MAX),
                "checkpoint"
            )
        );
        if self.moved > 0 {
            let moved = plural(self.moved, "run");
            text.push_str(&format!("; left {moved} that moved on since listed"));
        }
        if self.gone > 0 {
            let gone = plural(self.gone, "run");
            text.push_str(&format!("; {gone} already gone"));
        }
        text
    }
}

/// `1 run`, `2 runs`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use typedflow::checkpoint::{MemoryStore, RunStatus};

    /// A run listed as failed, then resumed by another process before the prune reached
    /// it: left alone. One deleted by someone else meanwhile: counted as gone.
    #[tokio::test]
    async fn a_run_that_moved_on_since_it_was_listed_is_left_alone() {
        let store = MemoryStore::new();
        let (moves, stays, goes) = (RunId::from_u64(1), RunId::from_u64(2), RunId::from_u64(3));
        for run in [moves, stays, goes] {
            let failed =
                Checkpoint::new("F", 0, run, 1, "a", vec![]).with_status(RunStatus::Errored);
            store.save(&failed).await.unwrap();
        }
        let listed = store.runs().await.unwrap();
        store
            .save(&Checkpoint::new("F", 0, moves, 2, "b", vec![]))
            .await
            .unwrap();
        store.delete(goes).await.unwrap();
        let mut tally = Tally::default();
        for cp in &listed {
            tally.record(prune_one(&store, cp).await.unwrap());
        }
        assert_eq!((tally.runs, tally.moved, tally.gone), (1, 1, 1));
        assert_eq!(store.history(moves).await.unwrap().len(), 2);
        assert!(store.history(stays).await.is_err());
    }

    /// A store that cannot delete one run (its disk went away half way).
    struct Failing {
        inner: MemoryStore,
        broken: RunId,
    }

    impl Checkpointer for Failing {
        async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
            self.inner.save(checkpoint).await
        }
        async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
            self.inner.latest(run_id).await
        }
        async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
            self.inner.history(run_id).await
        }
        async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
            self.inner.runs().await
        }
        async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
            if run_id == self.broken {
                return Err(StoreError::unavailable(
                    "deleting a run",
                    io::Error::other("I/O error"),
                ));
            }
            self.inner.delete(run_id).await
        }
    }

    /// A store error half way stops the work: what was deleted before is said, then the
    /// error, and the runs after it are left.
    #[tokio::test]
    async fn a_store_error_half_way_stops_and_says_what_was_done() {
        let store = Failing {
            inner: MemoryStore::new(),
            broken: RunId::from_u64(2),
        };
        for run in 1..=3 {
            let cp = Checkpoint::new("F", 0, RunId::from_u64(run), 1, "a", vec![]);
            store
                .save(&cp.with_status(RunStatus::Finished))
                .await
                .unwrap();
        }
        let mut out = Vec::new();
        let args = DeleteArgs {
            runs: (1..=3).map(RunId::from_u64).collect(),
            progress: false,
        };
        let err = delete(&store, &args, &mut out).await.unwrap_err();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "deleted 1 run (1 checkpoint)\n"
        );
        assert_eq!(
            err.to_string(),
            "error: the checkpoint store is unavailable: deleting a run: I/O error"
        );
        assert_eq!(store.runs().await.unwrap().len(), 2);
    }

    #[test]
    fn summaries_count_what_was_done() {
        let mut tally = Tally::default();
        assert_eq!(tally.summary(), "deleted 0 runs (0 checkpoints)");
        tally.record(Outcome::Deleted(1));
        assert_eq!(tally.summary(), "deleted 1 run (1 checkpoint)");
        tally.record(Outcome::Deleted(4));
        tally.record(Outcome::Moved);
        tally.record(Outcome::Gone);
        tally.record(Outcome::Gone);
        assert_eq!(
            tally.summary(),
            "deleted 2 runs (5 checkpoints); left 1 run that moved on since listed; 2 runs already gone"
        );
    }
}
