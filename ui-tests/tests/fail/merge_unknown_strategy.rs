use typedflow::Merge;

#[derive(Clone, Merge)]
pub struct State {
    #[merge(apend)]
    notes: Vec<String>,
    #[merge(max, min)]
    score: u32,
}

fn main() {}
