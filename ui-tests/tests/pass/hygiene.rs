//! The expansion depends on nothing the user imported: no prelude, warnings denied.
#![deny(warnings)]

mod flows {
    #![no_implicit_prelude]
    #![deny(warnings, missing_docs)]
    //! Flows written without the prelude.

    /// A number in a box.
    pub struct Num(pub u32);

    /// Either more or done.
    pub enum Step {
        /// Go on.
        More(Num),
        /// Stop.
        Done(Num),
    }

    /// Adds one.
    #[::typedflow::node]
    pub async fn inc(n: Num) -> Num {
        Num(n.0 + 1)
    }

    /// Decides.
    #[::typedflow::node]
    pub async fn check(n: Num, cx: &::typedflow::Context) -> ::std::result::Result<Step, ::std::io::Error> {
        let _ = cx.step();
        ::std::result::Result::Ok(if n.0 < 3 { Step::More(n) } else { Step::Done(n) })
    }

    #[::typedflow::flow(max_steps = 10, timeout = 1500ms)]
    ::typedflow::graph! {
        /// Counts to three.
        pub Counter(Num) -> Num {
            START -> inc -> check;
            check => {
                Step::More -> inc,
                Step::Done -> END,
            }
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let out = rt.block_on(flows::Counter::new(()).run(flows::Num(0)).into_future()).unwrap();
    assert_eq!(out.0, 3);
}
