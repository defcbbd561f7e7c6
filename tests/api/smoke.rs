use serde_json::json;

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

async fn creates_and_reads_back_a_contact(backend: Backend) {
    let app = TestApp::start(backend).await;
    let id = create_person(&app, "Mario", "Rossi", json!({ "emails": [{ "address": "mario.rossi@example.it" }], "codiceFiscale": "RSSMRA85T10A562S" })).await;
    let data = app
        .data("query($id: ID!) { contact(id: $id) { displayName codiceFiscale emails { address isPec } } }", json!({ "id": id }))
        .await;
    assert_eq!(data["contact"]["displayName"], "Mario Rossi");
    assert_eq!(data["contact"]["codiceFiscale"], "RSSMRA85T10A562S");
    assert_eq!(
        data["contact"]["emails"][0]["address"],
        "mario.rossi@example.it"
    );
}

on_both_backends!(creates_and_reads_back_a_contact);
