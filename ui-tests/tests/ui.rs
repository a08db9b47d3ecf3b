//! Compile-pass and compile-fail cases of the macros. The `.stderr` files are rustc's
//! exact output on the pinned toolchain (`rust-toolchain.toml`), each one reviewed;
//! regenerate with `TRYBUILD=overwrite cargo test -p typedflow-ui-tests` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/fail/*.rs");
    // Mistakes of the catalogue's codes (one case each above) in newer graph shapes.
    t.compile_fail("tests/fail/shapes/*.rs");
    // `#[flow(durable)]`: values that cannot be saved in a checkpoint.
    t.compile_fail("tests/fail/durable/*.rs");
    // `typedflow_restate::workflow!`: a flow it cannot serve.
    t.compile_fail("tests/fail/restate/*.rs");
}
