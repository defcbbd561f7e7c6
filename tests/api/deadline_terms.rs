//! The procedural-term calculator through the API: `computeDeadline` and `createDeadline`
//! with a `term` (the rules themselves are unit-tested in `src/deadlines/terms.rs`).

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const COMPUTE: &str = "query($from: NaiveDate!, $amount: Int!, $unit: TermUnit!, $direction: TermDirection! = FORWARD, $rules: TermRules) {
  computeDeadline(from: $from, amount: $amount, unit: $unit, direction: $direction, rules: $rules) {
    date expiresAt ferialeSuspensionApplied
    steps { rule from to explanation }
  }
}";

const CREATE: &str = "mutation($input: CreateDeadlineInput!) {
  createDeadline(input: $input) {
    deadline { id dueAt }
    termComputation { date steps { rule from to } }
  }
}";

/// A court with Sant'Ambrogio (7 December) as its patron saint day.
async fn app_with_milan(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |settings| {
        settings.courts = vec![lexgate::deadlines::courts::Court {
            code: "milano".to_owned(),
            name: "Tribunale di Milano".to_owned(),
            patron_day: "12-07".parse().expect("month and day"),
        }];
    })
    .await
}

fn rules(computation: &Value) -> Vec<&str> {
    computation["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps: {computation}"))
        .iter()
        .map(|s| s["rule"].as_str().expect("rule"))
        .collect()
}

async fn count_deadlines(app: &TestApp) -> i64 {
    app.data("{ deadlines { totalCount } }", json!({})).await["deadlines"]["totalCount"]
        .as_i64()
        .expect("totalCount")
}

async fn computes_terms_and_explains_the_rules(backend: Backend) {
    let app = app_with_milan(backend).await;
    let compute = |variables: Value| {
        let app = &app;
        async move { app.data(COMPUTE, variables).await["computeDeadline"].clone() }
    };

    // 30 days from 7 November 2026 end on Monday 7 December, Sant'Ambrogio in Milan, and
    // 8 December is a holiday: Wednesday 9 December, until 23:59:59 Italian time.
    let milan = compute(json!({ "from": "2026-11-07", "amount": 30, "unit": "DAYS", "rules": { "court": "milano" } })).await;
    assert_eq!(milan["date"], "2026-12-09", "{milan:#}");
    assert_eq!(time(&milan["expiresAt"]), utc("2026-12-09T22:59:59Z"));
    assert_eq!(rules(&milan), ["DAYS_EXCLUDING_FIRST", "HOLIDAY"]);
    assert_eq!(milan["steps"][0]["to"], "2026-12-07");
    assert_eq!(milan["steps"][1]["from"], "2026-12-07");
    assert_eq!(milan["steps"][1]["to"], "2026-12-09");
    // The same court's code in another case, and no court: 7 December is a working day.
    let elsewhere = compute(json!({ "from": "2026-11-07", "amount": 30, "unit": "DAYS" })).await;
    assert_eq!(elsewhere["date"], "2026-12-07");
    let upper = compute(json!({ "from": "2026-11-07", "amount": 30, "unit": "DAYS", "rules": { "court": "MILANO" } })).await;
    assert_eq!(upper["date"], "2026-12-09");

    // 30 days from 15 July 2026 skip August: Monday 14 September.
    let summer = compute(json!({ "from": "2026-07-15", "amount": 30, "unit": "DAYS" })).await;
    assert_eq!(summer["date"], "2026-09-14", "{summer:#}");
    assert_eq!(summer["ferialeSuspensionApplied"], true);
    assert_eq!(
        rules(&summer),
        ["DAYS_EXCLUDING_FIRST", "FERIALE_SUSPENSION"]
    );
    // A labour matter runs through August: Friday 14 August.
    let labour = compute(json!({ "from": "2026-07-15", "amount": 30, "unit": "DAYS", "rules": { "ferialeExemption": "LABOUR" } })).await;
    assert_eq!(labour["date"], "2026-08-14");
    assert_eq!(labour["ferialeSuspensionApplied"], false);

    // 20 days before a hearing on Monday 22 June 2026 is 2 June, a holiday: Monday 1 June.
    let before = compute(
        json!({ "from": "2026-06-22", "amount": 20, "unit": "DAYS", "direction": "BACKWARD" }),
    )
    .await;
    assert_eq!(before["date"], "2026-06-01");
    assert_eq!(rules(&before), ["DAYS_EXCLUDING_FIRST", "HOLIDAY"]);

    // Saturday 28 February 2026 closes a filing, not the hearing's own activity.
    let filing = compute(json!({ "from": "2026-01-31", "amount": 1, "unit": "MONTHS" })).await;
    assert_eq!(filing["date"], "2026-03-02");
    assert_eq!(rules(&filing), ["CALENDAR_END_OF_MONTH", "SATURDAY"]);
    let hearing = compute(json!({ "from": "2026-01-31", "amount": 1, "unit": "MONTHS", "rules": { "act": "IN_HEARING" } })).await;
    assert_eq!(hearing["date"], "2026-02-28");

    // Bad input names the argument.
    let zero = app
        .error(
            COMPUTE,
            json!({ "from": "2026-03-02", "amount": 0, "unit": "DAYS" }),
        )
        .await;
    assert_error(&zero, "BAD_USER_INPUT", "amount");
    let negative = app
        .error(
            COMPUTE,
            json!({ "from": "2026-03-02", "amount": -5, "unit": "MONTHS" }),
        )
        .await;
    assert_error(&negative, "BAD_USER_INPUT", "amount");
    let court = app
        .error(COMPUTE, json!({ "from": "2026-03-02", "amount": 30, "unit": "DAYS", "rules": { "court": "napoli" } }))
        .await;
    assert_error(&court, "BAD_USER_INPUT", "rules.court");
    let free_months = app
        .error(COMPUTE, json!({ "from": "2026-03-02", "amount": 2, "unit": "MONTHS", "rules": { "free": true } }))
        .await;
    assert_error(&free_months, "BAD_USER_INPUT", "rules.free");

    // Marketing works on no matters and has no calculator.
    let (_, marketing) = app.sign_in("marketing@studio.it", "marketing").await;
    let refused = app
        .gql_as(
            &marketing,
            COMPUTE,
            json!({ "from": "2026-03-02", "amount": 30, "unit": "DAYS" }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused:#}"
    );
}

async fn creates_a_deadline_from_a_term(backend: Backend) {
    let app = app_with_milan(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &client, json!({})).await;

    // Notified 31 January 2026, one month to appeal: Saturday 28 February, so Monday 2 March,
    // due at the end of that day in Rome (UTC+1 in winter).
    let created = app
        .data(
            CREATE,
            json!({ "input": {
                "title": "Termine per l'appello",
                "kind": "COURT_DEADLINE",
                "matterId": matter,
                "term": { "from": "2026-01-31", "amount": 1, "unit": "MONTHS" },
            } }),
        )
        .await["createDeadline"]
        .clone();
    assert_eq!(
        time(&created["deadline"]["dueAt"]),
        utc("2026-03-02T22:59:59Z"),
        "{created:#}"
    );
    assert_eq!(created["termComputation"]["date"], "2026-03-02");
    assert_eq!(
        rules(&created["termComputation"]),
        ["CALENDAR_END_OF_MONTH", "SATURDAY"]
    );
    let stored = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Deadline { dueAt matter { id } } } }",
            json!({ "id": created["deadline"]["id"] }),
        )
        .await;
    assert_eq!(time(&stored["node"]["dueAt"]), utc("2026-03-02T22:59:59Z"));

    // A deadline given its due time computes nothing.
    let plain = app
        .data(
            CREATE,
            json!({ "input": { "title": "Call", "kind": "INTERNAL_TASK", "dueAt": "2026-05-04T09:00:00Z" } }),
        )
        .await;
    assert_eq!(plain["createDeadline"]["termComputation"], Value::Null);

    // Bad terms are refused naming the field, and nothing is written.
    let before = count_deadlines(&app).await;
    let cases = [
        (
            json!({ "from": "2026-03-02", "amount": 0, "unit": "DAYS" }),
            None,
            "input.term.amount",
        ),
        (
            json!({ "from": "2026-03-02", "amount": 30, "unit": "DAYS", "rules": { "court": "atlantide" } }),
            None,
            "input.term.rules.court",
        ),
        (
            json!({ "from": "2026-03-02", "amount": 30, "unit": "DAYS" }),
            Some("2026-04-01T10:00:00Z"),
            "input.term",
        ),
    ];
    for (term, due_at, field) in cases {
        let error = app
            .error(
                CREATE,
                json!({ "input": { "title": "Bad", "kind": "FILING", "term": term, "dueAt": due_at } }),
            )
            .await;
        assert_error(&error, "BAD_USER_INPUT", field);
    }
    let neither = app
        .error(
            CREATE,
            json!({ "input": { "title": "Bad", "kind": "FILING" } }),
        )
        .await;
    assert_error(&neither, "BAD_USER_INPUT", "input.dueAt");
    assert_eq!(count_deadlines(&app).await, before);
}

on_both_backends!(
    computes_terms_and_explains_the_rules,
    creates_a_deadline_from_a_term,
);
