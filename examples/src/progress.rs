//! What the examples print while a flow runs: one progress line, rewritten in place as
//! the run goes from node to node and cleared when it ends, with the policies' events
//! (retries, timeouts, breaker changes) kept as lines of their own above it.
//!
//! On a terminal the line is redrawn with a carriage return and erased with the ANSI
//! "erase line" sequence, so no characters of a longer line are left behind; elsewhere
//! (a pipe, a CI log) each step is printed as a plain line instead.

use std::io::{IsTerminal as _, Write};

use futures_util::StreamExt as _;
use typedflow::events::Event;
use typedflow::prelude::*;

/// Erases the whole line the cursor is on (ANSI "EL2"); with `\r`, back to column 0.
const CLEAR: &str = "\r\x1b[2K";

/// One progress line on `W`: redrawn in place on a terminal, plain lines elsewhere.
#[derive(Debug)]
pub struct Progress<W: Write> {
    out: W,
    tty: bool,
    /// Whether the line holds something that [`Progress::clear`] must erase.
    shown: bool,
}

impl Progress<std::io::Stderr> {
    /// A progress line on stderr (so stdout keeps only the results).
    pub fn stderr() -> Self {
        let out = std::io::stderr();
        let tty = out.is_terminal();
        Progress::new(out, tty)
    }
}

impl<W: Write> Progress<W> {
    /// A progress line on `out`; `tty` says whether it may be redrawn in place.
    pub fn new(out: W, tty: bool) -> Self {
        Progress {
            out,
            tty,
            shown: false,
        }
    }

    /// Replaces the progress line with `text`.
    pub fn update(&mut self, text: &str) {
        // The progress line is best effort: a closed stderr loses only the display.
        let _ = if self.tty {
            write!(self.out, "{CLEAR}{text}")
        } else {
            writeln!(self.out, "{text}")
        };
        let _ = self.out.flush();
        self.shown = self.tty;
    }

    /// Prints `text` as a line that stays, above the progress line.
    pub fn note(&mut self, text: &str) {
        self.clear();
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Erases the progress line, leaving the cursor at the start of an empty line.
    pub fn clear(&mut self) {
        if self.shown {
            let _ = write!(self.out, "{CLEAR}");
            let _ = self.out.flush();
            self.shown = false;
        }
    }

    /// The writer, for tests.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Runs `flow` on `input`, showing which node runs (prefixed with `label`) and noting the
/// policies' events, and clears the line when the run ends.
///
/// # Errors
///
/// The run's [`FlowError`], as [`Flow::run`] returns it.
pub async fn run_with_progress<F: Flow, W: Write>(
    flow: &F,
    input: F::Input,
    label: &str,
    progress: &mut Progress<W>,
) -> Result<F::Output, FlowError> {
    let mut events = flow.run(input).stream();
    while let Some(event) = events.next().await {
        match event {
            Event::NodeStarted { node, step } => {
                progress.update(&format!("{label}: step {step}, {node}"));
            }
            Event::RetryScheduled {
                node,
                attempt,
                delay,
                ..
            } => progress.note(&format!(
                "{label}: `{node}` attempt {attempt} failed, next in {delay:?}"
            )),
            Event::AttemptTimedOut {
                node,
                attempt,
                timeout,
                ..
            } => progress.note(&format!(
                "{label}: `{node}` attempt {attempt} timed out after {timeout:?}"
            )),
            Event::BreakerChanged { node, from, to } => progress.note(&format!(
                "{label}: circuit breaker of `{node}`: {from:?} -> {to:?}"
            )),
            _ => {}
        }
    }
    progress.clear();
    events.output().await
}
