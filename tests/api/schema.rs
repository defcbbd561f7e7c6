//! schema.graphql is the contract integrators read: it must equal what the server serves.

#[test]
fn schema_file_matches_the_served_schema() {
    let served = lexgate::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let file = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        file == served,
        "schema.graphql is out of date: run `cargo run -- print-schema --output schema.graphql`"
    );
}
