//! Tests of campaigns: purpose, audience filter and size, status life cycle, listing.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const CAMPAIGN_FIELDS: &str = "id name purpose status description scheduledAt createdAt updatedAt matchingContacts audienceFilter { text kind categories tags responsibleUserId organizationId createdFrom createdTo }";

fn create_mutation() -> String {
    format!("mutation($input: CreateCampaignInput!) {{ createCampaign(input: $input) {{ campaign {{ {CAMPAIGN_FIELDS} }} }} }}")
}

fn update_mutation() -> String {
    format!("mutation($input: UpdateCampaignInput!) {{ updateCampaign(input: $input) {{ campaign {{ {CAMPAIGN_FIELDS} }} }} }}")
}

fn node_query() -> String {
    format!("query($id: ID!) {{ node(id: $id) {{ __typename ... on Campaign {{ {CAMPAIGN_FIELDS} }} }} }}")
}

const LIST: &str = "query($filter: CampaignFilter, $first: Int, $after: String) { campaigns(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id name status purpose matchingContacts } } }";
const DELETE: &str = "mutation($id: ID!) { deleteCampaign(input: { id: $id }) { deletedId } }";

/// An audience filter as the API returns it when only `set` is given.
fn filter_value(set: Value) -> Value {
    let mut value = json!({
        "text": null, "kind": null, "categories": null, "tags": null,
        "responsibleUserId": null, "organizationId": null, "createdFrom": null, "createdTo": null
    });
    merge(&mut value, set);
    value
}

async fn create_campaign(app: &TestApp, input: Value) -> Value {
    let data = app
        .data(&create_mutation(), json!({ "input": input }))
        .await;
    data["createCampaign"]["campaign"].clone()
}

async fn update_campaign(app: &TestApp, input: Value) -> Value {
    let data = app
        .data(&update_mutation(), json!({ "input": input }))
        .await;
    data["updateCampaign"]["campaign"].clone()
}

async fn read_campaign(app: &TestApp, id: &str) -> Value {
    let data = app.data(&node_query(), json!({ "id": id })).await;
    data["node"].clone()
}

fn instant(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp"))
        .expect("an RFC 3339 timestamp")
}

fn id_of(campaign: &Value) -> String {
    campaign["id"].as_str().expect("campaign id").to_owned()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect()
}

async fn create_campaign_starts_as_draft(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(&app, "Mario", "Rossi", json!({})).await;
    create_organization(&app, "Acme S.r.l.", json!({})).await;

    let campaign = create_campaign(
        &app,
        json!({ "name": "  Newsletter estate ", "purpose": " NewsLetter ", "description": "  Aggiornamenti  " }),
    )
    .await;
    assert_eq!(campaign["name"], "Newsletter estate");
    assert_eq!(campaign["purpose"], "newsletter");
    assert_eq!(campaign["status"], "DRAFT");
    assert_eq!(campaign["description"], "Aggiornamenti");
    assert_eq!(campaign["scheduledAt"], Value::Null);
    assert_eq!(campaign["audienceFilter"], filter_value(json!({})));
    assert_eq!(
        campaign["matchingContacts"], 2,
        "no condition: every contact"
    );
    assert_eq!(campaign["createdAt"], campaign["updatedAt"]);

    let stored = read_campaign(&app, &id_of(&campaign)).await;
    assert_eq!(stored["__typename"], "Campaign");
    assert_eq!(stored["name"], "Newsletter estate");
    assert_eq!(stored["purpose"], "newsletter");
    assert_eq!(stored["status"], "DRAFT");
    assert_eq!(stored["matchingContacts"], 2);

    // A blank description is no description.
    let campaign = create_campaign(
        &app,
        json!({ "name": "Eventi", "purpose": "events", "description": "   " }),
    )
    .await;
    assert_eq!(campaign["description"], Value::Null);
}

async fn create_campaign_with_schedule_is_scheduled(backend: Backend) {
    let app = TestApp::start(backend).await;
    let campaign = create_campaign(
        &app,
        json!({ "name": "Invito convegno", "purpose": "Events", "scheduledAt": "2026-06-01T09:00:00Z" }),
    )
    .await;
    assert_eq!(campaign["status"], "SCHEDULED");
    assert_eq!(campaign["purpose"], "events");
    assert_eq!(campaign["scheduledAt"], "2026-06-01T09:00:00+00:00");

    // An offset is converted to UTC.
    let campaign = create_campaign(
        &app,
        json!({ "name": "Auguri", "purpose": "events", "scheduledAt": "2026-12-20T10:30:00+02:00" }),
    )
    .await;
    assert_eq!(campaign["status"], "SCHEDULED");
    assert_eq!(campaign["scheduledAt"], "2026-12-20T08:30:00+00:00");
    let stored = read_campaign(&app, &id_of(&campaign)).await;
    assert_eq!(stored["scheduledAt"], "2026-12-20T08:30:00+00:00");
    assert_eq!(stored["status"], "SCHEDULED");
}

async fn create_campaign_rejects_blank_name_and_purpose(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = app
        .error(
            &create_mutation(),
            json!({ "input": { "name": "  ", "purpose": "" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.name", "{error:#}");
    let fields: Vec<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .expect("fieldErrors")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["input.name", "input.purpose"], "{error:#}");
    let data = app.data(LIST, json!({})).await;
    assert_eq!(data["campaigns"]["totalCount"], 0);
}

async fn audience_filter_round_trips_and_sizes_the_audience(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(&app, "Mario", "Rossi", json!({ "tags": ["vip"] })).await;
    create_person(
        &app,
        "Anna",
        "Rossi",
        json!({ "category": "PROSPECT", "tags": ["VIP", "newsletter"] }),
    )
    .await;
    create_organization(&app, "Acme S.r.l.", json!({ "tags": ["vip"] })).await;
    create_person(
        &app,
        "Luca",
        "Bianchi",
        json!({ "category": "COUNTERPARTY", "tags": ["vip"] }),
    )
    .await;
    create_person(&app, "Paolo", "Verdi", json!({})).await;

    let vip = create_campaign(
        &app,
        json!({ "name": "VIP", "purpose": "newsletter", "audienceFilter": { "categories": ["CLIENT", "PROSPECT"], "tags": ["vip"] } }),
    )
    .await;
    assert_eq!(
        vip["audienceFilter"],
        filter_value(json!({ "categories": ["CLIENT", "PROSPECT"], "tags": ["vip"] }))
    );
    // Mario Rossi, Anna Rossi and Acme: not the counterparty, not the untagged client.
    assert_eq!(vip["matchingContacts"], 3);

    let rossi = create_campaign(
        &app,
        json!({ "name": "Famiglia Rossi", "purpose": "newsletter", "audienceFilter": { "text": "rossi", "kind": "PERSON" } }),
    )
    .await;
    assert_eq!(
        rossi["audienceFilter"],
        filter_value(json!({ "text": "rossi", "kind": "PERSON" }))
    );
    assert_eq!(rossi["matchingContacts"], 2);

    let everyone = create_campaign(&app, json!({ "name": "Tutti", "purpose": "newsletter" })).await;
    assert_eq!(everyone["matchingContacts"], 5);

    let nobody = create_campaign(
        &app,
        json!({ "name": "Esperti", "purpose": "events", "audienceFilter": { "categories": ["EXPERT"] } }),
    )
    .await;
    assert_eq!(nobody["matchingContacts"], 0);

    // The audience is counted now, not when the campaign was made.
    let giulia = create_person(&app, "Giulia", "Rossi", json!({ "tags": ["Vip"] })).await;
    create_person(&app, "Carlo", "Neri", json!({ "category": "EXPERT" })).await;
    let sizes = |data: &Value| -> Vec<(String, i64)> {
        let mut sizes: Vec<(String, i64)> = data["campaigns"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["matchingContacts"].as_i64().unwrap(),
                )
            })
            .collect();
        sizes.sort();
        sizes
    };
    let data = app.data(LIST, json!({})).await;
    assert_eq!(
        sizes(&data),
        [
            ("Esperti".to_owned(), 1),
            ("Famiglia Rossi".to_owned(), 3),
            ("Tutti".to_owned(), 7),
            ("VIP".to_owned(), 4),
        ]
    );

    app.data(
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { deletedId } }",
        json!({ "id": giulia }),
    )
    .await;
    let stored = read_campaign(&app, &id_of(&vip)).await;
    assert_eq!(stored["matchingContacts"], 3);
    assert_eq!(
        stored["audienceFilter"],
        filter_value(json!({ "categories": ["CLIENT", "PROSPECT"], "tags": ["vip"] }))
    );
}

async fn audience_filter_by_organization_responsible_and_dates(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv.rossi@studio.it", "lawyer").await;
    let acme = create_organization(&app, "Acme S.r.l.", json!({})).await;
    let other = create_organization(&app, "Beta S.p.A.", json!({})).await;
    create_person(
        &app,
        "Mario",
        "Rossi",
        json!({ "affiliations": [{ "organizationId": acme, "jobTitle": "CEO" }], "responsibleUserId": lawyer }),
    )
    .await;
    create_person(
        &app,
        "Anna",
        "Bianchi",
        json!({ "affiliations": [{ "organizationId": acme }] }),
    )
    .await;
    create_person(
        &app,
        "Luca",
        "Verdi",
        json!({ "affiliations": [{ "organizationId": other }], "responsibleUserId": lawyer }),
    )
    .await;

    let staff = create_campaign(
        &app,
        json!({ "name": "Acme staff", "purpose": "events", "audienceFilter": { "organizationId": acme } }),
    )
    .await;
    assert_eq!(
        staff["audienceFilter"],
        filter_value(json!({ "organizationId": acme }))
    );
    assert_eq!(staff["matchingContacts"], 2);

    let followed = create_campaign(
        &app,
        json!({ "name": "Clienti seguiti", "purpose": "events", "audienceFilter": { "responsibleUserId": lawyer, "kind": "PERSON" } }),
    )
    .await;
    assert_eq!(
        followed["audienceFilter"],
        filter_value(json!({ "responsibleUserId": lawyer, "kind": "PERSON" }))
    );
    assert_eq!(followed["matchingContacts"], 2);

    // A creation window in the past matches nobody; one around now matches everyone.
    let old = create_campaign(
        &app,
        json!({ "name": "Storici", "purpose": "events", "audienceFilter": { "createdFrom": "2020-01-01T00:00:00Z", "createdTo": "2021-01-01T00:00:00Z" } }),
    )
    .await;
    assert_eq!(
        old["audienceFilter"],
        filter_value(
            json!({ "createdFrom": "2020-01-01T00:00:00+00:00", "createdTo": "2021-01-01T00:00:00+00:00" })
        )
    );
    assert_eq!(old["matchingContacts"], 0);
    let recent = create_campaign(
        &app,
        json!({ "name": "Recenti", "purpose": "events", "audienceFilter": { "createdFrom": "2020-01-01T00:00:00Z" } }),
    )
    .await;
    assert_eq!(recent["matchingContacts"], 5);
}

async fn audience_filter_with_malformed_ids_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &client, json!({})).await;

    for filter in [
        json!({ "organizationId": "not-an-id" }),
        // Well-formed, but of the wrong type.
        json!({ "organizationId": matter }),
        json!({ "responsibleUserId": client }),
    ] {
        let error = app
            .error(
                &create_mutation(),
                json!({ "input": { "name": "Errata", "purpose": "events", "audienceFilter": filter } }),
            )
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(
            error["extensions"]["field"], "input.audienceFilter",
            "{error:#}"
        );
    }
    let data = app.data(LIST, json!({})).await;
    assert_eq!(data["campaigns"]["totalCount"], 0, "nothing was stored");

    // The same check on update; the stored filter stays as it was.
    let campaign = create_campaign(
        &app,
        json!({ "name": "Clienti", "purpose": "events", "audienceFilter": { "categories": ["CLIENT"] } }),
    )
    .await;
    let error = app
        .error(
            &update_mutation(),
            json!({ "input": { "id": id_of(&campaign), "name": "Rinominata", "audienceFilter": { "organizationId": "Q29udGFjdDoxMjM" } } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(
        error["extensions"]["field"], "input.audienceFilter",
        "{error:#}"
    );
    let stored = read_campaign(&app, &id_of(&campaign)).await;
    assert_eq!(stored["name"], "Clienti");
    assert_eq!(
        stored["audienceFilter"],
        filter_value(json!({ "categories": ["CLIENT"] }))
    );
    assert_eq!(stored["matchingContacts"], 1);
}

async fn update_campaign_changes_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(&app, "Mario", "Rossi", json!({})).await;
    create_person(&app, "Anna", "Bianchi", json!({ "category": "PROSPECT" })).await;
    let campaign = create_campaign(
        &app,
        json!({ "name": "Newsletter", "purpose": "newsletter", "description": "Mensile", "scheduledAt": "2026-06-01T09:00:00Z", "audienceFilter": { "categories": ["CLIENT"] } }),
    )
    .await;
    let id = id_of(&campaign);
    assert_eq!(campaign["matchingContacts"], 1);

    let updated = update_campaign(
        &app,
        json!({ "id": id, "name": " Newsletter giugno ", "purpose": "MARKETING_EMAIL", "audienceFilter": { "categories": ["CLIENT", "PROSPECT"] } }),
    )
    .await;
    assert_eq!(updated["name"], "Newsletter giugno");
    assert_eq!(updated["purpose"], "marketing_email");
    assert_eq!(updated["description"], "Mensile", "left out: unchanged");
    assert_eq!(updated["scheduledAt"], "2026-06-01T09:00:00+00:00");
    assert_eq!(updated["status"], "SCHEDULED");
    assert_eq!(
        updated["audienceFilter"],
        filter_value(json!({ "categories": ["CLIENT", "PROSPECT"] }))
    );
    assert_eq!(updated["matchingContacts"], 2);
    assert_eq!(updated["createdAt"], campaign["createdAt"]);
    assert!(
        instant(&updated["updatedAt"]) >= instant(&campaign["updatedAt"]),
        "{updated:#}"
    );

    // null clears description and schedule.
    let updated = update_campaign(
        &app,
        json!({ "id": id, "description": null, "scheduledAt": null }),
    )
    .await;
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["scheduledAt"], Value::Null);
    assert_eq!(updated["status"], "DRAFT", "unscheduled: a draft again");
    assert_eq!(updated["name"], "Newsletter giugno");

    // A new schedule.
    let updated = update_campaign(
        &app,
        json!({ "id": id, "scheduledAt": "2026-07-01T08:00:00+02:00", "description": "Estiva" }),
    )
    .await;
    assert_eq!(updated["scheduledAt"], "2026-07-01T06:00:00+00:00");
    assert_eq!(updated["description"], "Estiva");

    let stored = read_campaign(&app, &id).await;
    assert_eq!(stored["name"], "Newsletter giugno");
    assert_eq!(stored["purpose"], "marketing_email");
    assert_eq!(stored["description"], "Estiva");
    assert_eq!(stored["scheduledAt"], "2026-07-01T06:00:00+00:00");
    assert_eq!(stored["matchingContacts"], 2);

    let error = app
        .error(
            &update_mutation(),
            json!({ "input": { "id": id, "name": " ", "purpose": "" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.name", "{error:#}");
    let stored = read_campaign(&app, &id).await;
    assert_eq!(stored["name"], "Newsletter giugno");
}

async fn campaign_status_transitions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let campaign = create_campaign(
        &app,
        json!({ "name": "Newsletter", "purpose": "newsletter" }),
    )
    .await;
    let id = id_of(&campaign);
    assert_eq!(campaign["status"], "DRAFT");

    // Scheduling needs a date.
    let error = app
        .error(
            &update_mutation(),
            json!({ "input": { "id": id, "status": "SCHEDULED" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.status", "{error:#}");
    let updated = update_campaign(
        &app,
        json!({ "id": id, "status": "SCHEDULED", "scheduledAt": "2027-06-01T09:00:00Z" }),
    )
    .await;
    assert_eq!(updated["status"], "SCHEDULED");

    // Sending is only reached by sending: neither SENDING nor SENT can be set by hand.
    for status in ["SENDING", "SENT"] {
        let error = app
            .error(
                &update_mutation(),
                json!({ "input": { "id": id, "status": status, "name": "Cambiata" } }),
            )
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["field"], "input.status", "{error:#}");
    }
    let stored = read_campaign(&app, &id).await;
    assert_eq!(stored["status"], "SCHEDULED");
    assert_eq!(
        stored["name"], "Newsletter",
        "a refused update writes nothing"
    );
    let updated = update_campaign(&app, json!({ "id": id, "status": "DRAFT" })).await;
    assert_eq!(updated["status"], "DRAFT");
    for status in ["SENDING", "SENT"] {
        let error = app
            .error(
                &update_mutation(),
                json!({ "input": { "id": id, "status": status } }),
            )
            .await;
        assert_eq!(error["extensions"]["field"], "input.status", "{error:#}");
    }

    // Sent by `sendCampaign` (to nobody here), its status is final.
    update_campaign(&app, json!({ "id": id, "description": "Novità" })).await;
    let sent = app
        .data(
            "mutation($id: ID!) { sendCampaign(input: { id: $id }) { campaign { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(sent["sendCampaign"]["campaign"]["status"], "SENT");
    for status in ["DRAFT", "SCHEDULED", "SENDING", "CANCELLED"] {
        let error = app
            .error(
                &update_mutation(),
                json!({ "input": { "id": id, "status": status, "name": "Cambiata" } }),
            )
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["field"], "input.status", "{error:#}");
    }
    let stored = read_campaign(&app, &id).await;
    assert_eq!(stored["status"], "SENT");
    assert_eq!(
        stored["name"], "Newsletter",
        "a refused update writes nothing"
    );

    // Restating the same status is not a change.
    let updated = update_campaign(&app, json!({ "id": id, "status": "SENT" })).await;
    assert_eq!(updated["status"], "SENT");

    // So is a cancelled one's.
    let other = create_campaign(
        &app,
        json!({ "name": "Evento", "purpose": "events", "scheduledAt": "2026-09-01T10:00:00Z" }),
    )
    .await;
    let other_id = id_of(&other);
    let updated = update_campaign(&app, json!({ "id": other_id, "status": "CANCELLED" })).await;
    assert_eq!(updated["status"], "CANCELLED");
    for status in ["DRAFT", "SCHEDULED", "SENT"] {
        let error = app
            .error(
                &update_mutation(),
                json!({ "input": { "id": other_id, "status": status } }),
            )
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["field"], "input.status", "{error:#}");
    }
    assert_eq!(read_campaign(&app, &other_id).await["status"], "CANCELLED");

    // Other statuses move freely: back from scheduled to draft.
    let third = create_campaign(
        &app,
        json!({ "name": "Auguri", "purpose": "events", "scheduledAt": "2026-12-20T10:00:00Z" }),
    )
    .await;
    let updated = update_campaign(&app, json!({ "id": id_of(&third), "status": "DRAFT" })).await;
    assert_eq!(updated["status"], "DRAFT");
}

async fn update_campaign_checks_its_id(backend: Backend) {
    let app = TestApp::start(backend).await;
    let campaign = create_campaign(
        &app,
        json!({ "name": "Newsletter", "purpose": "newsletter" }),
    )
    .await;
    let id = id_of(&campaign);
    let contact = create_person(&app, "Mario", "Rossi", json!({})).await;

    let error = app
        .error(
            &update_mutation(),
            json!({ "input": { "id": contact, "name": "X" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.id", "{error:#}");

    app.data(DELETE, json!({ "id": id })).await;
    let error = app
        .error(
            &update_mutation(),
            json!({ "input": { "id": id, "name": "X" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
}

async fn delete_campaign(backend: Backend) {
    let app = TestApp::start(backend).await;
    let gone = create_campaign(&app, json!({ "name": "Vecchia", "purpose": "newsletter" })).await;
    let kept = create_campaign(&app, json!({ "name": "Nuova", "purpose": "newsletter" })).await;

    let data = app.data(DELETE, json!({ "id": id_of(&gone) })).await;
    assert_eq!(data["deleteCampaign"]["deletedId"], gone["id"]);

    let data = app.data(&node_query(), json!({ "id": id_of(&gone) })).await;
    assert_eq!(data["node"], Value::Null);
    let data = app.data(LIST, json!({})).await;
    assert_eq!(data["campaigns"]["totalCount"], 1);
    assert_eq!(names(&data["campaigns"]["nodes"]), ["Nuova"]);
    assert_eq!(read_campaign(&app, &id_of(&kept)).await["name"], "Nuova");

    let error = app.error(DELETE, json!({ "id": id_of(&gone) })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = app.error(DELETE, json!({ "id": "bogus" })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.id", "{error:#}");
}

async fn campaigns_filter_and_order_newest_first(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut ids = Vec::new();
    for (name, purpose, schedule) in [
        ("Newsletter gennaio", "Newsletter", None),
        ("Convegno privacy", "events", Some("2026-03-01T09:00:00Z")),
        (
            "Newsletter febbraio",
            "newsletter",
            Some("2026-02-01T09:00:00Z"),
        ),
        ("Auguri di Natale", "client_relationship", None),
        ("Newsletter marzo", "newsletter", None),
    ] {
        let mut input = json!({ "name": name, "purpose": purpose });
        if let Some(at) = schedule {
            input["scheduledAt"] = json!(at);
        }
        ids.push(id_of(&create_campaign(&app, input).await));
    }
    // Auguri: cancelled; Newsletter gennaio: sent.
    update_campaign(&app, json!({ "id": ids[3], "status": "CANCELLED" })).await;
    update_campaign(&app, json!({ "id": ids[0], "description": "Novità" })).await;
    app.data(
        "mutation($id: ID!) { sendCampaign(input: { id: $id }) { campaign { status } } }",
        json!({ "id": ids[0] }),
    )
    .await;

    // Newest first, however they were updated.
    let data = app.data(LIST, json!({})).await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        [
            "Newsletter marzo",
            "Auguri di Natale",
            "Newsletter febbraio",
            "Convegno privacy",
            "Newsletter gennaio",
        ]
    );
    assert_eq!(data["campaigns"]["totalCount"], 5);

    let data = app
        .data(
            LIST,
            json!({ "filter": { "statuses": ["DRAFT", "CANCELLED"] } }),
        )
        .await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        ["Newsletter marzo", "Auguri di Natale"]
    );
    let data = app
        .data(LIST, json!({ "filter": { "statuses": ["SCHEDULED"] } }))
        .await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        ["Newsletter febbraio", "Convegno privacy"]
    );
    let data = app
        .data(LIST, json!({ "filter": { "statuses": ["SENDING"] } }))
        .await;
    assert_eq!(data["campaigns"]["totalCount"], 0);

    // Purpose is matched case-insensitively (it is stored lower-cased).
    let data = app
        .data(LIST, json!({ "filter": { "purpose": " NEWSLETTER " } }))
        .await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        [
            "Newsletter marzo",
            "Newsletter febbraio",
            "Newsletter gennaio"
        ]
    );
    assert_eq!(data["campaigns"]["totalCount"], 3);

    // Text matches part of the name, case-insensitively.
    let data = app
        .data(LIST, json!({ "filter": { "text": "PRIVACY" } }))
        .await;
    assert_eq!(names(&data["campaigns"]["nodes"]), ["Convegno privacy"]);
    let data = app.data(LIST, json!({ "filter": { "text": "io" } })).await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        ["Newsletter febbraio", "Newsletter gennaio"]
    );

    // All conditions together.
    let data = app
        .data(
            LIST,
            json!({ "filter": { "text": "newsletter", "purpose": "newsletter", "statuses": ["SCHEDULED", "SENT"] } }),
        )
        .await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        ["Newsletter febbraio", "Newsletter gennaio"]
    );
    assert_eq!(data["campaigns"]["totalCount"], 2);

    // Pages follow the same order.
    let data = app.data(LIST, json!({ "first": 2 })).await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        ["Newsletter marzo", "Auguri di Natale"]
    );
    assert_eq!(data["campaigns"]["pageInfo"]["hasNextPage"], true);
    let cursor = data["campaigns"]["pageInfo"]["endCursor"].clone();
    let data = app.data(LIST, json!({ "first": 3, "after": cursor })).await;
    assert_eq!(
        names(&data["campaigns"]["nodes"]),
        [
            "Newsletter febbraio",
            "Convegno privacy",
            "Newsletter gennaio"
        ]
    );
    assert_eq!(data["campaigns"]["pageInfo"]["hasNextPage"], false);
}

on_both_backends!(
    create_campaign_starts_as_draft,
    create_campaign_with_schedule_is_scheduled,
    create_campaign_rejects_blank_name_and_purpose,
    audience_filter_round_trips_and_sizes_the_audience,
    audience_filter_by_organization_responsible_and_dates,
    audience_filter_with_malformed_ids_is_refused,
    update_campaign_changes_fields,
    campaign_status_transitions,
    update_campaign_checks_its_id,
    delete_campaign,
    campaigns_filter_and_order_newest_first,
);
