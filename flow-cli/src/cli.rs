//! The command line: clap's derive of every command and option, and the parsers of the
//! values clap cannot read itself (run ids, ages).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use typedflow::RunId;
use typedflow::checkpoint::RunStatus;

const ABOUT: &str = "List, inspect, delete and prune the runs in a typedflow checkpoint store \
                     (resuming a run stays with the program that owns the flow)";

const LONG_ABOUT: &str = "\
List, inspect, delete and prune the runs in a typedflow checkpoint store.

The store is the one a durable flow saves its runs to: a SQLite file (--store) or a
Postgres database (--database-url, or DATABASE_URL; this typedflow needs the `postgres`
feature for it).

Resuming a run stays with the program that owns the flow: only it has the flow's code
and types, so it calls `flow.resume(&store, run_id)`. This tool reads checkpoints and
deletes them; it never runs a step.";

const AFTER_HELP: &str = "\
Examples:
  typedflow --store runs.db runs --status failed
  typedflow --store runs.db history 00000000000000ff --json
  typedflow --store runs.db prune --finished --older-than 7d --dry-run
  DATABASE_URL=postgres://flow@127.0.0.1/flow typedflow runs --flow Essay";

/// The `typedflow` command line.
#[derive(Debug, Parser)]
#[command(name = "typedflow", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// The store to work on.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the checkpoints are.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The SQLite file of the store (it must exist: this tool creates no store)
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "database_url",
        help_heading = "Store"
    )]
    pub store: Option<PathBuf>,
    /// A Postgres store, as `postgres://user:password@host:port/database`
    /// [default: $DATABASE_URL]; never printed with its password
    #[arg(long, global = true, value_name = "URL", help_heading = "Store")]
    pub database_url: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the runs, newest first: flow, run id, status, last step, next node, age
    Runs(RunsArgs),
    /// Show a run's checkpoints, step by step, each with its state as JSON
    History(HistoryArgs),
    /// Delete runs (every checkpoint of each) by run id
    Delete(DeleteArgs),
    /// Delete the runs that match: by default every finished or failed run
    #[command(long_about = PRUNE_ABOUT)]
    Prune(PruneArgs),
}

const PRUNE_ABOUT: &str = "\
Delete the runs that match, every checkpoint of each.

A run's status and age are those of its latest checkpoint. Without a status option,
only runs that can go no further are pruned (finished or failed); a running or waiting
run is deleted only when asked for with --status. A run that moved on since it was
listed (another process resumed it) is left alone: the store checks and deletes at
once.";

/// `typedflow runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only the runs of this flow
    #[arg(long, value_name = "NAME")]
    pub flow: Option<String>,
    /// Only the runs with this status (repeat for several)
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Vec<Status>,
    /// At most this many runs (the newest)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `typedflow history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The run, as `typedflow runs` shows its id (up to 16 hex digits)
    #[arg(value_parser = parse_run_id, value_name = "RUN_ID")]
    pub run: RunId,
    /// Print a JSON array of the checkpoints instead of text
    #[arg(long)]
    pub json: bool,
}

/// `typedflow delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The runs to delete
    #[arg(value_parser = parse_run_id, value_name = "RUN_ID", required = true)]
    pub runs: Vec<RunId>,
    /// Show progress on stderr even when it is not a terminal
    #[arg(long)]
    pub progress: bool,
}

/// `typedflow prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Prune finished runs
    #[arg(long)]
    pub finished: bool,
    /// Prune failed runs
    #[arg(long)]
    pub failed: bool,
    /// Prune runs with this status (repeat for several)
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Vec<Status>,
    /// Only runs whose latest checkpoint is older than this: 30s, 90m, 12h, 7d, 2w
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub older_than: Option<Duration>,
    /// Only the runs of this flow
    #[arg(long, value_name = "NAME")]
    pub flow: Option<String>,
    /// List what would be deleted, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Show progress on stderr even when it is not a terminal
    #[arg(long)]
    pub progress: bool,
}

impl PruneArgs {
    /// The statuses to prune: those asked for, or finished and failed.
    pub fn statuses(&self) -> Vec<Status> {
        let mut statuses = self.status.clone();
        if self.finished {
            statuses.push(Status::Finished);
        }
        if self.failed {
            statuses.push(Status::Failed);
        }
        if statuses.is_empty() {
            statuses = vec![Status::Finished, Status::Failed];
        }
        statuses
    }
}

/// A run's status, as the options name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// Going on: its latest checkpoint holds the next step's input
    Running,
    /// Waiting for a person's answer
    Waiting,
    /// Reached its end
    Finished,
    /// Ended by a failed step (it can be resumed after a fix)
    Failed,
}

impl Status {
    /// Whether a checkpoint has this status.
    pub fn matches(self, status: &RunStatus) -> bool {
        let name = match self {
            Status::Running => "running",
            Status::Waiting => "waiting",
            Status::Finished => "finished",
            Status::Failed => "failed",
        };
        status.name() == name
    }
}

/// A run id as stores and this tool print it: up to 16 hex digits (`0x` allowed).
pub fn parse_run_id(text: &str) -> Result<RunId, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    digits
        .parse()
        .map_err(|_| "a run id is up to 16 hex digits, as `typedflow runs` shows it".to_owned())
}

/// An age: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`7d`).
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("`{text}` is not an age: write a number and a unit, as 30s, 90m, 12h, 7d or 2w");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is longer than this tool can count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_read_as_printed() {
        let id = RunId::from_u64(0xff);
        assert_eq!(parse_run_id(&id.to_string()), Ok(id));
        assert_eq!(parse_run_id("ff"), Ok(id));
        assert_eq!(parse_run_id("0xff"), Ok(id));
        assert_eq!(
            parse_run_id("ffffffffffffffff"),
            Ok(RunId::from_u64(u64::MAX))
        );
        for bad in ["", "0x", "xyz", "-1", "+1", "1ffffffffffffffff", " 1"] {
            assert!(parse_run_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ages_have_a_number_and_a_unit() {
        assert_eq!(parse_age("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(1_209_600)));
        assert_eq!(parse_age("0d"), Ok(Duration::ZERO));
        for bad in ["", "7", "d", "7x", "7 d", "-7d", "1.5d", "7dd"] {
            let err = parse_age(bad).expect_err(bad);
            assert!(err.contains("is not an age"), "{err}");
        }
        assert!(parse_age("99999999999999999w").is_err());
    }

    #[test]
    fn prune_defaults_to_the_runs_that_are_over() {
        let args = |argv: &[&str]| match Cli::parse_from([&["typedflow", "prune"], argv].concat())
            .command
        {
            Command::Prune(p) => p.statuses(),
            other => panic!("parsed as {other:?}"),
        };
        assert_eq!(args(&[]), [Status::Finished, Status::Failed]);
        assert_eq!(args(&["--failed"]), [Status::Failed]);
        assert_eq!(
            args(&["--status", "running", "--finished"]),
            [Status::Running, Status::Finished]
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
