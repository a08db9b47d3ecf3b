//! Fan-out, merge, map, error edges and subgraphs, expanded where nothing is imported.
#![deny(warnings)]

mod flows {
    #![no_implicit_prelude]
    #![deny(warnings, missing_docs)]
    //! Every shape, without the prelude.

    /// A shared state.
    #[derive(::std::clone::Clone, ::std::default::Default, ::typedflow::Merge)]
    pub struct Tally {
        /// Appended.
        #[merge(append)]
        pub seen: ::std::vec::Vec<u32>,
        /// The largest.
        #[merge(max)]
        pub top: u32,
    }

    /// Splits.
    #[::typedflow::node]
    pub async fn split(n: u32) -> ::std::vec::Vec<u32> {
        ::std::iter::Iterator::collect(0..n)
    }

    /// Fails on odd numbers.
    #[::typedflow::node]
    pub async fn even(n: u32) -> ::std::result::Result<u32, ::std::io::Error> {
        if n % 2 == 0 {
            ::std::result::Result::Ok(n)
        } else {
            ::std::result::Result::Err(::std::io::Error::other("odd"))
        }
    }

    /// Stands in for odd numbers.
    #[::typedflow::node]
    pub async fn zero(failed: ::typedflow::Failed<u32, ::std::io::Error>) -> u32 {
        let _ = failed.input;
        0
    }

    /// Starts a tally.
    #[::typedflow::node]
    pub async fn tally(values: ::std::vec::Vec<u32>) -> Tally {
        Tally { seen: values, top: 0 }
    }

    /// One branch.
    #[::typedflow::node]
    pub async fn left(mut t: Tally) -> Tally {
        t.top = 1;
        t
    }

    /// The other.
    #[::typedflow::node]
    pub async fn right(mut t: Tally) -> Tally {
        t.top = 2;
        t
    }

    /// Pairs.
    #[::typedflow::node]
    pub async fn pair(t: Tally) -> (u32, u32) {
        (t.top, t.top)
    }

    /// A.
    #[::typedflow::node]
    pub async fn first((a, _): (u32, u32)) -> u32 {
        a
    }

    /// B.
    #[::typedflow::node]
    pub async fn second((_, b): (u32, u32)) -> u32 {
        b
    }

    /// Adds.
    #[::typedflow::node]
    pub async fn add((a, b): (u32, u32)) -> u32 {
        a + b
    }

    ::typedflow::graph! {
        /// Every shape.
        pub Shapes(u32) -> u32 {
            START -> split -> [even; 2] -> tally -> {left, right} -> pair -> (first, second) -> add -> END;
            even !-> zero;
        }
    }

    ::typedflow::graph! {
        /// A subgraph.
        pub Outer(u32) -> u32 {
            START -> Shapes -> END;
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(flows::Outer::new(()).run(5).into_future()).unwrap(), 4);
}
