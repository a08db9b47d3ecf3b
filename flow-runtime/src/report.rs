//! Errors as a person reads them: the message, then each cause on its own line.

use std::error::Error;
use std::fmt;

/// Writes `err` for a person: its message, then each [`source`](Error::source) as a
/// `caused by:` line. A cause whose text the line above already shows is left out, so a
/// message that embeds its cause is not repeated.
///
/// The hint is part of the message (`"...; set OPENAI_API_KEY to a valid key"`), so it
/// comes out too; nothing is printed with `Debug`.
///
/// ```
/// use typedflow::report;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("could not load the prompt")]
/// struct Load(#[source] std::io::Error);
///
/// let err = Load(std::io::Error::new(std::io::ErrorKind::NotFound, "prompt.txt: not found"));
/// assert_eq!(
///     report(&err).to_string(),
///     "could not load the prompt\n  caused by: prompt.txt: not found"
/// );
/// ```
pub fn report<'a>(err: &'a (dyn Error + 'static)) -> impl fmt::Display + 'a {
    Chain(err)
}

struct Chain<'a>(&'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(err) = cause {
            let text = err.to_string();
            if !text.is_empty() && !shown.contains(&text) {
                write!(f, "\n  caused by: {text}")?;
                shown = text;
            }
            cause = err.source();
        }
        Ok(())
    }
}

/// An error returned from `main`, printed by [`report`] rather than as a `Debug` dump.
///
/// `main` returning `Result<(), E>` prints `Error: {E:?}`; with `Report` that is the
/// error's message and its causes, one per line. Any error converts with `?`; a boxed
/// one with [`Report::boxed`].
///
/// ```no_run
/// use typedflow::Report;
///
/// fn main() -> Result<(), Report> {
///     let prompt = std::fs::read_to_string("prompt.txt")?;
///     println!("{prompt}");
///     Ok(())
/// }
/// // Without the file:
/// // Error: No such file or directory (os error 2)
/// ```
///
/// `typedflow_providers` re-exports it: a provider's error (`"no api key: set
/// OPENAI_API_KEY or pass one with `.api_key(..)`"`) comes out the same way.
pub struct Report(Box<dyn Error + 'static>);

impl Report {
    /// A report of an error already boxed (a boxed error is not itself an `Error`, so
    /// `?` cannot convert it).
    pub fn boxed(err: Box<dyn Error + 'static>) -> Self {
        Report(err)
    }

    /// The error reported.
    pub fn error(&self) -> &(dyn Error + 'static) {
        &*self.0
    }
}

impl<E: Error + 'static> From<E> for Report {
    fn from(err: E) -> Self {
        Report(Box::new(err))
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&report(&*self.0), f)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&report(&*self.0), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("flow `chat`: node `grade` failed after 3 attempt(s)")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("attempt 3 failed")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn each_cause_on_its_own_line_without_debug() {
        let err = Outer(Middle(std::io::Error::other(
            "no api key was sent; set OPENAI_API_KEY",
        )));
        let shown = report(&err).to_string();
        assert_eq!(
            shown,
            "flow `chat`: node `grade` failed after 3 attempt(s)\n  \
             caused by: attempt 3 failed\n  \
             caused by: no api key was sent; set OPENAI_API_KEY"
        );
        assert_eq!(format!("{:?}", Report::from(err)), shown);
    }
}
