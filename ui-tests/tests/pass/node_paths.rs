//! Nodes named by their path in another module, in chains and route arms.

use typedflow::prelude::*;

mod steps {
    use typedflow::prelude::*;

    #[node]
    pub async fn double(x: u32) -> u32 {
        x * 2
    }

    pub enum Size {
        Small(u32),
        Large(u32),
    }

    #[node]
    pub async fn size(x: u32) -> Size {
        if x < 10 { Size::Small(x) } else { Size::Large(x) }
    }

    #[node]
    pub async fn grow(x: u32) -> u32 {
        x + 100
    }
}

graph! {
    Paths(u32) -> u32 {
        START -> steps::double -> steps::size;
        steps::size => {
            steps::Size::Small -> steps::grow,
            steps::Size::Large -> END,
        }
        grow -> END;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let flow = Paths::new(());
    assert_eq!(flow.run(2).await.ok(), Some(104));
    assert_eq!(flow.run(7).await.ok(), Some(14));
}
