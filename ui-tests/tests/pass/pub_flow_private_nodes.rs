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
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let out = rt.block_on(service::Render::new(()).run("7".into()).into_future()).unwrap();
    assert_eq!(out, "#7");
}
