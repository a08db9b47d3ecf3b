//! The state enum's variant of each step, in the DSL's names: `write_again` ->
//! `WriteAgain`, a fan-out led by `a` -> `FanA`, a map of `w` -> `MapW`.

use syn::Ident;

use super::{Kind, Node};

/// Names every step's variant; a clash gets a number, so variants are always distinct.
pub(super) fn name_variants(nodes: &mut [Node]) {
    let mut taken: Vec<String> = Vec::new();
    for node in nodes.iter_mut().filter(|n| n.kind.is_step()) {
        let prefix = match node.kind {
            Kind::Fan { .. } => "Fan",
            Kind::Map { .. } => "Map",
            _ => "",
        };
        let camel = camel_case(&format!(
            "{prefix}_{}",
            node.name.to_string().trim_start_matches("r#")
        ));
        let mut name = camel.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{camel}{n}");
            n += 1;
        }
        taken.push(name.clone());
        node.variant = Ident::new(&name, node.name.span());
    }
}

/// `fan_write_again` -> `FanWriteAgain`; never empty, never starting with a digit.
fn camel_case(snake: &str) -> String {
    let mut camel = String::new();
    for part in snake.split('_').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            camel.extend(first.to_uppercase());
            camel.push_str(chars.as_str());
        }
    }
    if camel.is_empty() || camel.starts_with(|c: char| c.is_ascii_digit()) {
        camel.insert(0, 'N');
    }
    camel
}
