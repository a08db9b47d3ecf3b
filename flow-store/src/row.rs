//! A checkpoint as the stores keep it: one row of integers, text and bytes.
//!
//! Both stores read a row's columns into [`Row`] (a column of the wrong type is already a
//! [`StoreError::Corrupt`] there) and turn it into a [`Checkpoint`] here, so the checks
//! of what a row may hold are written once.

use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, FORMAT_VERSION, Part, RunStatus, StoreError};

/// The columns of the checkpoints table, in this order, in every query of both stores (a
/// macro, so `concat!` can build the queries as constants).
macro_rules! columns {
    () => {
        "run_id, step, format, flow, fingerprint, node, attempt, time_us, status, question, state, state_sum"
    };
}
pub(crate) use columns;

/// A checkpoint's row. The 64-bit unsigned values (run id, fingerprint, checksum) are
/// kept as the same bits in signed 64-bit columns, the widest integer both databases have.
pub(crate) struct Row {
    pub run_id: i64,
    pub step: i64,
    pub format: i64,
    pub flow: String,
    pub fingerprint: i64,
    pub node: String,
    pub attempt: i64,
    pub time_us: i64,
    pub status: String,
    pub question: Option<String>,
    pub state: Vec<u8>,
    pub state_sum: i64,
}

/// A `u64` as the `i64` of the same bits.
pub(crate) fn to_sql(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// An `i64` column back into the `u64` of the same bits.
pub(crate) fn from_sql(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

/// A database row as read by a driver: one typed getter per kind of column, each failing
/// with the driver's message when the column holds another type.
pub(crate) trait Columns {
    fn int(&self, index: usize) -> Result<i64, String>;
    fn text(&self, index: usize) -> Result<String, String>;
    fn text_or_null(&self, index: usize) -> Result<Option<String>, String>;
    fn bytes(&self, index: usize) -> Result<Vec<u8>, String>;
}

/// The values a checkpoint is saved as, borrowed from it: a save copies nothing.
pub(crate) struct Values<'a> {
    pub run_id: i64,
    pub step: i64,
    pub format: i64,
    pub flow: &'a str,
    pub fingerprint: i64,
    pub node: &'a str,
    pub attempt: i64,
    pub time_us: i64,
    pub status: &'static str,
    pub question: Option<&'a str>,
    pub state: &'a [u8],
    pub state_sum: i64,
}

impl<'a> Values<'a> {
    /// The values of `cp`'s row.
    pub fn of(cp: &'a Checkpoint) -> Self {
        Values {
            run_id: to_sql(cp.run_id.as_u64()),
            step: i64::from(cp.step),
            format: i64::from(cp.format),
            flow: &cp.flow,
            fingerprint: to_sql(cp.fingerprint),
            node: &cp.node,
            attempt: i64::from(cp.attempt),
            time_us: cp.time_unix_micros(),
            status: cp.status.name(),
            question: cp.status.question(),
            state: &cp.state,
            state_sum: to_sql(cp.state_checksum()),
        }
    }
}

impl Row {
    /// Reads the columns of [`columns!`], in order, each a typed value or
    /// [`StoreError::Corrupt`] naming the column and the run and step when they are known.
    pub fn read(row: &impl Columns) -> Result<Row, StoreError> {
        // The key columns first, so a later column's error names its run and step.
        let run_id = row
            .int(0)
            .map_err(|e| StoreError::corrupt(RunId::from_u64(0), 0, format!("run_id: {e}")))?;
        let run = RunId::from_u64(from_sql(run_id));
        let step = row
            .int(1)
            .map_err(|e| StoreError::corrupt(run, 0, format!("step: {e}")))?;
        let at = u32::try_from(step).unwrap_or(0);
        let bad = |column: &str| {
            let column = column.to_owned();
            move |e: String| StoreError::corrupt(run, at, format!("{column}: {e}"))
        };
        Ok(Row {
            run_id,
            step,
            format: row.int(2).map_err(bad("format"))?,
            flow: row.text(3).map_err(bad("flow"))?,
            fingerprint: row.int(4).map_err(bad("fingerprint"))?,
            node: row.text(5).map_err(bad("node"))?,
            attempt: row.int(6).map_err(bad("attempt"))?,
            time_us: row.int(7).map_err(bad("time_us"))?,
            status: row.text(8).map_err(bad("status"))?,
            question: row.text_or_null(9).map_err(bad("question"))?,
            state: row.bytes(10).map_err(bad("state"))?,
            state_sum: row.int(11).map_err(bad("state_sum"))?,
        })
    }

    /// The checkpoint the row holds, or [`StoreError::Corrupt`] saying what is wrong.
    pub fn into_checkpoint(self) -> Result<Checkpoint, StoreError> {
        let run_id = RunId::from_u64(from_sql(self.run_id));
        let step = u32::try_from(self.step).map_err(|_| {
            StoreError::corrupt(run_id, 0, format!("step {} is out of range", self.step))
        })?;
        let corrupt = |reason: String| StoreError::corrupt(run_id, step, reason);
        let format = u16::try_from(self.format)
            .ok()
            .filter(|f| (1..=FORMAT_VERSION).contains(f))
            .ok_or_else(|| {
                corrupt(format!(
                    "format version {} is not one this library reads (1 to {FORMAT_VERSION})",
                    self.format
                ))
            })?;
        let attempt = u32::try_from(self.attempt)
            .map_err(|_| corrupt(format!("attempt {} is out of range", self.attempt)))?;
        let status =
            RunStatus::from_name(&self.status, self.question.as_deref()).ok_or_else(|| {
                corrupt(match &self.question {
                    Some(q) => format!("unknown status `{}` with question `{q}`", self.status),
                    None => format!("unknown status `{}`", self.status),
                })
            })?;
        let mut cp = Checkpoint::new(
            self.flow,
            from_sql(self.fingerprint),
            run_id,
            step,
            self.node,
            self.state,
        )
        .with_attempt(attempt)
        .with_status(status)
        .with_time_unix_micros(self.time_us);
        cp.format = format;
        if cp.state_checksum() != from_sql(self.state_sum) {
            return Err(corrupt(format!(
                "its state ({} bytes) does not match its checksum: truncated or altered",
                cp.state.len()
            )));
        }
        Ok(cp)
    }
}

/// `part`, if it matches the checksum `sum` saved beside it.
pub(crate) fn checked(part: Part, sum: i64, run_id: RunId, step: u32) -> Result<Part, StoreError> {
    if part.checksum() == from_sql(sum) {
        return Ok(part);
    }
    let reason = format!(
        "the saved call `{}` ({} bytes) does not match its checksum: truncated or altered",
        part.key,
        part.value.len()
    );
    Err(StoreError::corrupt(run_id, step, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Row {
        /// The row a database would hand back for `cp`.
        fn from_checkpoint(cp: &Checkpoint) -> Row {
            let v = Values::of(cp);
            Row {
                run_id: v.run_id,
                step: v.step,
                format: v.format,
                flow: v.flow.to_owned(),
                fingerprint: v.fingerprint,
                node: v.node.to_owned(),
                attempt: v.attempt,
                time_us: v.time_us,
                status: v.status.to_owned(),
                question: v.question.map(str::to_owned),
                state: v.state.to_vec(),
                state_sum: v.state_sum,
            }
        }
    }

    fn sample() -> Checkpoint {
        Checkpoint::new(
            "Essay",
            u64::MAX - 1,
            RunId::from_u64(u64::MAX),
            3,
            "review",
            b"state".to_vec(),
        )
        .with_attempt(2)
        .with_status(RunStatus::Waiting {
            question: "Approval".into(),
        })
    }

    #[test]
    fn a_checkpoint_survives_its_row() {
        let cp = sample();
        let row = Row::from_checkpoint(&cp);
        assert_eq!(row.run_id, -1, "u64::MAX is kept as the same bits");
        assert_eq!(row.into_checkpoint().unwrap(), cp);
    }

    #[test]
    fn a_bad_value_in_any_column_is_corrupt_and_named() {
        type Spoil = fn(&mut Row);
        let cases: Vec<(Spoil, &str)> = vec![
            (|r| r.step = -1, "step -1 is out of range"),
            (|r| r.format = 2, "format version 2"),
            (|r| r.format = 0, "format version 0"),
            (|r| r.attempt = i64::MAX, "attempt"),
            (|r| r.status = "paused".into(), "unknown status `paused`"),
            (|r| r.question = None, "unknown status `waiting`"),
            (|r| r.state.truncate(2), "does not match its checksum"),
        ];
        for (spoil, expected) in cases {
            let mut row = Row::from_checkpoint(&sample());
            spoil(&mut row);
            match row.into_checkpoint() {
                Err(StoreError::Corrupt { run_id, reason, .. }) => {
                    assert_eq!(run_id, RunId::from_u64(u64::MAX));
                    assert!(reason.contains(expected), "{reason:?} lacks {expected:?}");
                }
                other => panic!("expected a corrupt row ({expected}), got {other:?}"),
            }
        }
    }
}
