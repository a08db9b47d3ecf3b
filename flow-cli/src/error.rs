//! What goes wrong, said once on stderr: the message, its causes, and what to do.

use std::error::Error;
use std::fmt;
use std::io;

use typedflow::checkpoint::StoreError;

/// A failure of a command: printed as `typedflow: error: ..` and exit code 1.
#[derive(Debug)]
pub struct Failure {
    message: String,
    hint: Option<String>,
    broken_pipe: bool,
}

impl Failure {
    /// A failure saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            broken_pipe: false,
        }
    }

    /// The same failure, with what to do about it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A store's error, with each of its causes, and a hint where one helps.
    pub fn store(err: &StoreError) -> Self {
        let failure = Failure::new(chain(err));
        match err {
            StoreError::UnknownRun { .. } => {
                failure.hint("`typedflow runs` lists the runs in the store")
            }
            StoreError::Corrupt { run_id, .. } => failure.hint(format!(
                "the row is left as it is; `typedflow delete {run_id}` removes the run"
            )),
            StoreError::SchemaTooNew { .. } => {
                failure.hint("use a typedflow as new as the program that writes the store")
            }
            _ => failure,
        }
    }

    /// Whether the failure is stdout's reader having gone (`typedflow runs | head`).
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// The same failure with every occurrence of `secret` hidden.
    #[must_use]
    pub fn scrub(mut self, secret: Option<&str>) -> Self {
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            self.message = self.message.replace(secret, "***");
            self.hint = self.hint.map(|h| h.replace(secret, "***"));
        }
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure {
            broken_pipe: err.kind() == io::ErrorKind::BrokenPipe,
            ..Failure::new(format!("cannot write the output: {err}"))
        }
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::store(&err)
    }
}

/// An error and its causes, `outer: inner: innermost`.
pub fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source's text in their own.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use typedflow::RunId;

    use super::*;

    #[test]
    fn a_store_error_says_its_causes_and_what_to_do() {
        let err = StoreError::unavailable("opening `x.db`", io::Error::other("disk on fire"));
        assert_eq!(
            Failure::from(err).to_string(),
            "error: the checkpoint store is unavailable: opening `x.db`: disk on fire"
        );
        let corrupt = Failure::from(StoreError::corrupt(RunId::from_u64(10), 3, "bad"));
        assert_eq!(
            corrupt.to_string(),
            "error: checkpoint of run 000000000000000a at step 3 is corrupt: bad\n  \
             hint: the row is left as it is; `typedflow delete 000000000000000a` removes the run"
        );
    }

    #[test]
    fn a_secret_is_scrubbed_everywhere() {
        let failure = Failure::new("login as flow:hunter2 failed")
            .hint("hunter2 again")
            .scrub(Some("hunter2"));
        assert_eq!(
            failure.to_string(),
            "error: login as flow:*** failed\n  hint: *** again"
        );
        assert_eq!(Failure::new("x").scrub(Some("")).to_string(), "error: x");
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_to_report() {
        assert!(Failure::from(io::Error::from(io::ErrorKind::BrokenPipe)).is_broken_pipe());
        assert!(!Failure::from(io::Error::other("full")).is_broken_pipe());
    }
}
