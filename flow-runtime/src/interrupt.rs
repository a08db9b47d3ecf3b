//! Typed interrupts: a durable run that stops to ask a person a question and goes on
//! with the answer, in this process or another one, hours or days later.
//!
//! In `graph!`, `interrupt review: Approval => bool;` declares a step, `review`, that
//! stops the run with the `Approval` the step before it produced and waits for a `bool`;
//! the step after it takes an [`Answered<Approval, bool>`](Answered): the question and
//! the answer. Both are saved in the run's checkpoints, so both are serializable.
//!
//! ```
//! # #[cfg(feature = "durable")] {
//! use serde::{Deserialize, Serialize};
//! use typedflow::checkpoint::MemoryStore;
//! use typedflow::durable::{Answered, Outcome};
//! use typedflow::prelude::*;
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Approval {
//!     draft: String,
//! }
//!
//! #[node]
//! async fn write(topic: String) -> Approval {
//!     Approval { draft: format!("all about {topic}") }
//! }
//!
//! #[node]
//! async fn publish(approved: Answered<Approval, bool>) -> String {
//!     if approved.answer {
//!         approved.question.draft
//!     } else {
//!         "rejected".to_string()
//!     }
//! }
//!
//! graph! {
//!     #[flow(durable)]
//!     Post(String) -> String {
//!         interrupt review: Approval => bool;
//!         START -> write -> review -> publish -> END;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let flow = Post::new(());
//! let Outcome::Waiting(waiting) = flow.run("rust".into()).checkpoint(&store).await? else {
//!     panic!("the run asks before it publishes");
//! };
//! assert_eq!(waiting.interrupt(), "review");
//! assert_eq!(waiting.question::<Approval>().unwrap().draft, "all about rust");
//!
//! // Later, perhaps in another process: the answer resumes the run.
//! let done = flow.resume_with(&store, waiting.run_id(), true).await?;
//! assert!(matches!(done, Outcome::Finished(post) if post == "all about rust"));
//! # Ok::<(), FlowError>(())
//! # }).unwrap();
//! # }
//! ```
//!
//! The answer's type is checked at compile time: `resume_with` takes the answer the
//! graph declares for a question the flow asks. A run that waits holds no task and no memory: it is a row in
//! the store. Answering a run that is not waiting (one answered before, say) is
//! [`DurableError::NotWaiting`](crate::durable::DurableError::NotWaiting); of two
//! processes answering at once, one wins and the other gets the store's conflict.

use core::any::Any;
use core::fmt;
#[cfg(feature = "durable")]
use core::marker::PhantomData;

#[cfg(feature = "durable")]
use serde::{Deserialize, Serialize};

#[cfg(feature = "durable")]
use crate::Node;
use crate::RunId;

#[cfg(feature = "durable")]
/// What the step after an interrupt takes: the question the run asked, and the answer
/// it was resumed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered<Q, A> {
    /// The question asked.
    pub question: Q,
    /// The answer given.
    pub answer: A,
}

#[cfg(feature = "durable")]
/// The step of an interrupt, `interrupt review: Approval => bool;` in `graph!`: it takes
/// the question and gives the next step the question with its answer. It is a [`Node`]
/// only so that the graph checks what goes in and out of it as it checks a node's; it
/// has no function to call.
pub struct Interrupt<Q, A>(PhantomData<fn() -> (Q, A)>);

#[cfg(feature = "durable")]
impl<Q, A> Node for Interrupt<Q, A> {
    type Input = Q;
    type Output = Answered<Q, A>;
    type Error = core::convert::Infallible;
    type State = ();
    const NAME: &'static str = "interrupt";

    #[inline(always)]
    fn state() {}
}

#[cfg(feature = "durable")]
/// A durable flow that has an interrupt asking `Q`: `graph!` implements it for each
/// question type its interrupts ask. It is what lets
/// [`resume_with`](crate::durable::DurableFlow::resume_with) take only an answer the
/// flow can be waiting for, of the type the graph declares.
#[diagnostic::on_unimplemented(
    message = "flow `{Self}` has no interrupt that asks `{Q}`",
    label = "`{Self}` never waits for an answer to `{Q}`",
    note = "an interrupt is declared in `graph!` as `interrupt name: Question => Answer;`"
)]
pub trait Asks<Q>: crate::durable::DurableFlow {
    /// The answer's type, as the graph declares it.
    type Answer: Send + 'static;
    /// The question's type as the graph writes it: what a waiting checkpoint records.
    const QUESTION: &'static str;
}

/// How a checkpointed run of a flow with interrupts ended: with the flow's output, or
/// waiting for an answer.
#[must_use = "a run that waits must be answered to go on"]
pub enum Outcome<O> {
    /// The run finished with this output.
    Finished(O),
    /// The run stopped at an interrupt, saved, and waits for an answer.
    Waiting(Waiting),
}

impl<O> Outcome<O> {
    /// The output, if the run finished.
    pub fn finished(self) -> Option<O> {
        match self {
            Outcome::Finished(output) => Some(output),
            Outcome::Waiting(_) => None,
        }
    }

    /// The question the run waits on, if it waits.
    pub fn waiting(&self) -> Option<&Waiting> {
        match self {
            Outcome::Finished(_) => None,
            Outcome::Waiting(waiting) => Some(waiting),
        }
    }
}

impl<O: fmt::Debug> fmt::Debug for Outcome<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Finished(output) => f.debug_tuple("Finished").field(output).finish(),
            Outcome::Waiting(waiting) => f.debug_tuple("Waiting").field(waiting).finish(),
        }
    }
}

/// A run that stopped at an interrupt and waits for an answer: which run, at which
/// interrupt, and the question asked.
pub struct Waiting {
    run_id: RunId,
    step: u32,
    interrupt: &'static str,
    question_type: &'static str,
    question: Box<dyn Any + Send>,
}

impl Waiting {
    /// A waiting run's description (made by the generated code).
    #[cfg(feature = "durable")]
    pub(crate) fn new<Q: Send + 'static>(
        run_id: RunId,
        step: u32,
        interrupt: &'static str,
        question_type: &'static str,
        question: Q,
    ) -> Self {
        Waiting {
            run_id,
            step,
            interrupt,
            question_type,
            question: Box::new(question),
        }
    }

    /// The run: what `DurableFlow::resume_with` answers.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// The step of the run's checkpoint that waits.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// The interrupt's name in the graph (`review` for `interrupt review: Approval;`).
    pub fn interrupt(&self) -> &'static str {
        self.interrupt
    }

    /// The question's type, as the graph writes it (`Approval`).
    pub fn question_type(&self) -> &'static str {
        self.question_type
    }

    /// The question, if it is a `Q`.
    pub fn question<Q: 'static>(&self) -> Option<&Q> {
        self.question.downcast_ref()
    }

    /// The question, if it is a `Q`; the waiting run back otherwise.
    ///
    /// # Errors
    ///
    /// `self`, when the run asks another question.
    pub fn into_question<Q: 'static>(self) -> Result<Q, Self> {
        match self.question.downcast::<Q>() {
            Ok(question) => Ok(*question),
            Err(question) => Err(Waiting { question, ..self }),
        }
    }
}

impl fmt::Debug for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiting")
            .field("run_id", &self.run_id)
            .field("step", &self.step)
            .field("interrupt", &self.interrupt)
            .field("question_type", &self.question_type)
            .finish_non_exhaustive()
    }
}

/// What the generated code of a flow with interrupts calls; reached through `__private`.
#[cfg(feature = "durable")]
pub(crate) mod engine {
    use core::any::Any;

    use super::{Answered, Waiting};
    use crate::durable::DurableError;
    use crate::{Context, FlowError};

    /// The error a run without a store ends with at an interrupt; in a run with one, the
    /// generated code returns the waiting run instead.
    #[cold]
    pub fn interrupted(cx: &Context, interrupt: &'static str, question: &'static str) -> FlowError {
        FlowError::Durable {
            flow: cx.flow(),
            run_id: cx.run_id(),
            source: DurableError::NoStore {
                interrupt,
                question,
            },
        }
    }

    /// The waiting run `run_id`, whose checkpoint at `step` waits at `interrupt`: what an
    /// interrupt's arm leaves the loop with, and what a waiting state read from a store
    /// describes.
    pub fn waiting<Q: Send + 'static>(
        run_id: crate::RunId,
        step: u32,
        interrupt: &'static str,
        question_type: &'static str,
        question: Q,
    ) -> Waiting {
        Waiting::new(run_id, step, interrupt, question_type, question)
    }

    /// An answer of type `A` from its JSON text, boxed for a resumed run.
    ///
    /// # Errors
    ///
    /// [`DurableError::Decode`] when the text is not JSON of an `A`.
    pub fn decode_answer<A: serde::de::DeserializeOwned + Send + 'static>(
        answer: &[u8],
    ) -> Result<Box<dyn Any + Send>, DurableError> {
        match serde_json::from_slice::<A>(answer) {
            Ok(answer) => Ok(Box::new(answer)),
            Err(e) => Err(crate::durable::engine::decode_error(e)),
        }
    }

    /// The value of an `Answered` from the encoded question and the answer's JSON text,
    /// to decode as the input of the step after an interrupt.
    ///
    /// # Errors
    ///
    /// [`DurableError::Decode`] when either is not JSON.
    pub fn answered_value(
        question: &[u8],
        answer: &[u8],
    ) -> Result<crate::durable::engine::StepValue, DurableError> {
        use crate::durable::engine::decode_error;
        let question: serde_json::Value = serde_json::from_slice(question).map_err(decode_error)?;
        let answer: serde_json::Value = serde_json::from_slice(answer).map_err(decode_error)?;
        let mut value = serde_json::Map::new();
        value.insert("question".to_owned(), question);
        value.insert("answer".to_owned(), answer);
        Ok(crate::durable::engine::StepValue::new(
            serde_json::Value::Object(value),
        ))
    }

    /// The question with the answer `resume_with` was given.
    ///
    /// # Errors
    ///
    /// [`DurableError::WrongQuestion`] when the answer is not an `A`: only when one
    /// question type is written two ways at two interrupts, so that the run's checkpoint
    /// names it as the answer's flow does not.
    pub fn answered<Q, A: 'static>(
        cx: &Context,
        interrupt: &'static str,
        question: Q,
        answer: Box<dyn Any + Send>,
    ) -> Result<Answered<Q, A>, FlowError> {
        match answer.downcast::<A>() {
            Ok(answer) => Ok(Answered {
                question,
                answer: *answer,
            }),
            Err(_) => Err(FlowError::Durable {
                flow: cx.flow(),
                run_id: cx.run_id(),
                source: DurableError::WrongQuestion {
                    run_id: cx.run_id(),
                    waiting_for: interrupt.to_owned(),
                    answered: core::any::type_name::<A>(),
                },
            }),
        }
    }
}
