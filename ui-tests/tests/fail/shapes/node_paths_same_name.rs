use typedflow::prelude::*;

mod draft {
    use typedflow::prelude::*;

    #[node]
    pub async fn write(topic: String) -> String {
        topic
    }
}

mod edit {
    use typedflow::prelude::*;

    #[node]
    pub async fn write(text: String) -> String {
        text + "."
    }
}

graph! {
    Essay(String) -> String {
        START -> draft::write -> edit::write -> END;
    }
}

fn main() {}
