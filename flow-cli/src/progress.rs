//! Progress through many runs, on stderr: one line redrawn in place on a terminal, or a
//! line per tenth of the work when asked for (`--progress`) and stderr is a file or pipe.
//! Nothing at all otherwise, so scripts' logs stay clean.
//!
//! Redraws are counted in whole percents, not timed: at most 101 on a terminal, 11 in a
//! log, whatever the number of runs.

use std::io::{self, IsTerminal, Write};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not at all.
    Off,
    /// One line, redrawn in place (a terminal).
    Redraw,
    /// A line at each tenth (a log).
    Lines,
}

impl Mode {
    /// On a terminal, redrawn; with `--progress` elsewhere, in lines; else off.
    pub fn for_stderr(forced: bool) -> Mode {
        if io::stderr().is_terminal() {
            Mode::Redraw
        } else if forced {
            Mode::Lines
        } else {
            Mode::Off
        }
    }
}

/// Progress through `total` runs, written to `out`.
pub struct Progress<W: Write> {
    out: W,
    mode: Mode,
    what: &'static str,
    total: usize,
    done: usize,
    /// The last step drawn (a percent when redrawing, a tenth in lines); none below 1.
    drawn: usize,
    /// Whether anything was drawn.
    shown: bool,
}

impl<W: Write> Progress<W> {
    /// Progress of `what` (`deleting runs`) through `total` items.
    pub fn new(out: W, mode: Mode, what: &'static str, total: usize) -> Self {
        Progress {
            out,
            mode,
            what,
            total,
            done: 0,
            drawn: 0,
            shown: false,
        }
    }

    /// One more item done. Errors writing progress are ignored: progress is a courtesy,
    /// and the work goes on without it.
    pub fn tick(&mut self) {
        self.done = (self.done + 1).min(self.total);
        let per = match self.mode {
            Mode::Off => return,
            Mode::Redraw => 100,
            Mode::Lines => 10,
        };
        let step = self.done * per / self.total.max(1);
        if step == self.drawn {
            return;
        }
        (self.drawn, self.shown) = (step, true);
        let (done, total, what) = (self.done, self.total, self.what);
        let _ = match self.mode {
            Mode::Redraw => write!(self.out, "\r\x1b[2K{what}: {done}/{total}"),
            _ => writeln!(self.out, "{what}: {done}/{total}"),
        };
        let _ = self.out.flush();
    }

    /// The work is over: a redrawn line is cleared, so what follows starts clean.
    pub fn finish(&mut self) {
        if self.mode == Mode::Redraw && self.shown {
            let _ = write!(self.out, "\r\x1b[2K");
            let _ = self.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mode: Mode, total: usize) -> String {
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, mode, "deleting runs", total);
        for _ in 0..total {
            progress.tick();
        }
        progress.finish();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_log_gets_a_line_per_tenth() {
        let text = run(Mode::Lines, 1_000);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10);
        assert_eq!(lines[0], "deleting runs: 100/1000");
        assert_eq!(lines[9], "deleting runs: 1000/1000");
        assert_eq!(
            run(Mode::Lines, 3),
            "deleting runs: 1/3\ndeleting runs: 2/3\ndeleting runs: 3/3\n"
        );
    }

    #[test]
    fn a_terminal_gets_one_line_redrawn_at_most_once_a_percent_then_cleared() {
        let text = run(Mode::Redraw, 10_000);
        assert_eq!(
            text.matches("\r\x1b[2K").count(),
            101,
            "100 draws and the clearing"
        );
        assert!(text.contains("deleting runs: 10000/10000"));
        assert!(text.ends_with("\r\x1b[2K"));
        assert!(!text.contains('\n'));
    }

    #[test]
    fn off_is_silent() {
        assert_eq!(run(Mode::Off, 50), "");
    }
}
