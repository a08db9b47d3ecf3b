//! A public flow whose nodes and their types are private to the module: the usual shape
//! of a library exposing a flow. No warning, no private type leaking.
#![deny(warnings, missing_docs)]

mod service {
    //! The flow is public, everything else is not.

    struct Parsed(u32);

    #[typedflow::node]
    async fn parse(text: String) -> Result<Parsed, std::num::ParseIntError> {
        Ok(Parsed(text.parse()?))
    }

    #[typedflow::node]
    async fn render(parsed: Parsed) -> String {
        format!("#{}", parsed.0)
    }

    typedflow::graph! {
        /// Parses and renders a number.
        pub Render(String) -> String {
            START -> parse -> render -> END;
        }
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Doubled(u32);

    #[typedflow::node]
    async fn double(x: u32) -> Doubled {
        Doubled(x * 2)
    }

    #[typedflow::node]
    async fn show(doubled: Doubled) -> String {
        format!("={}", doubled.0)
    }

    typedflow::graph! {
        /// Doubles and shows a number; its state, public, holds a private type.
        #[flow(durable)]
        pub Double(u32) -> String {
            START -> double -> show -> END;
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let out = rt.block_on(service::Render::new(()).run("7".into()).into_future()).unwrap();
    assert_eq!(out, "#7");
    let store = typedflow::checkpoint::MemoryStore::new();
    let flow = service::Double::new(());
    let run = flow.run(4).checkpoint(&store);
    assert_eq!(rt.block_on(run.into_future()).unwrap(), "=8");
    // The state is public: its step's name can be read from a checkpoint.
    let history = rt.block_on(typedflow::checkpoint::Checkpointer::history(&store, store_run(&store, &rt)));
    let state = service::DoubleState::from_checkpoint(&history.unwrap()[0]).unwrap();
    assert_eq!(state.node(), "show");
}

/// The one run in `store`.
fn store_run(
    store: &typedflow::checkpoint::MemoryStore,
    rt: &tokio::runtime::Runtime,
) -> typedflow::RunId {
    let runs = rt.block_on(typedflow::checkpoint::Checkpointer::runs(store)).unwrap();
    runs[0].run_id
}
