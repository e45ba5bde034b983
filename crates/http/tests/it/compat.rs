//! `docs/compatibility.md` is what `switchboard compat` prints now.

#[test]
fn docs_compatibility_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == switchboard_http::compatibility_table(),
        "docs/compatibility.md is stale: run `cargo run -p switchboard -- compat > docs/compatibility.md`"
    );
}
