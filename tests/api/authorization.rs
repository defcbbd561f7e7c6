//! Authorisation: every role against every field of the schema (generated from the schema and
//! the policy), row-level need-to-know, special-category data, and roles as data.

use std::collections::{BTreeMap, HashMap};

use std::sync::LazyLock;

use async_graphql::parser::types::{
    ServiceDocument, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use lexgate::access_policy::{BuiltinRole, RoleGrant};
use lexgate::graphql::schema_map::SCHEMA_MAP;
use serde_json::{json, Value};

use crate::admission::in_fixed_order;
use crate::fixtures::{create_matter, create_organization, create_person};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

/// A firm with one of everything, and a signed-in user for every built-in role; the partner,
/// lawyer and trainee are on the matter's team.
struct Firm {
    app: TestApp,
    tokens: HashMap<BuiltinRole, String>,
    ids: BTreeMap<&'static str, String>,
}

async fn firm(backend: Backend) -> Firm {
    let app = TestApp::start(backend).await;
    let mut tokens = HashMap::new();
    let mut users = HashMap::new();
    for role in BuiltinRole::ALL {
        let (id, token) = app
            .sign_in(&format!("{}@studio.it", role.as_str()), role.as_str())
            .await;
        users.insert(role, id);
        tokens.insert(role, token);
    }
    let org = create_organization(&app, "Acme SpA", json!({})).await;
    let person = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "mario@acme.it" }],
            "phones": [{ "number": "+39 02 1234 5678" }],
            "addresses": [{ "street": "Via Roma 1", "city": "Milano" }],
            "notes": "Prefers calls",
            "affiliations": [{ "organizationId": org, "jobTitle": "CFO" }],
        }),
    )
    .await;
    let team: Vec<Value> = [
        BuiltinRole::Partner,
        BuiltinRole::Lawyer,
        BuiltinRole::Trainee,
    ]
    .iter()
    .map(|r| json!({ "userId": users[r] }))
    .collect();
    let matter = create_matter(&app, "2026/0001", &person, json!({ "team": team })).await;
    let special = app
        .gql_as(
            &tokens[&BuiltinRole::Partner],
            "mutation($id: ID!) { updateMatter(input: { id: $id, criminalProceedingsNotes: \"Indagato\", healthDetails: \"Invalidità 60%\" }) { matter { id } } }",
            json!({ "id": matter }),
        )
        .await;
    assert!(special.get("errors").is_none(), "{special:#}");
    let communication = app
        .data(
            "mutation($m: ID!, $p: ID!) { logCommunication(input: { channel: PHONE, direction: INBOUND, occurredAt: \"2026-11-02T10:00:00Z\", subject: \"Udienza\", summary: \"Rinvio\", matterId: $m, participantIds: [$p] }) { communication { id } } }",
            json!({ "m": matter, "p": person }),
        )
        .await["logCommunication"]["communication"]["id"]
        .clone();
    let deadline = app
        .data(
            "mutation($m: ID!) { createDeadline(input: { title: \"Memoria\", kind: FILING, dueAt: \"2026-12-01T09:00:00Z\", matterId: $m }) { deadline { id } } }",
            json!({ "m": matter }),
        )
        .await["createDeadline"]["deadline"]["id"]
        .clone();
    let team_id = app
        .data(
            "mutation($u: ID!) { createTeam(input: { name: \"Segreteria\", memberIds: [$u] }) { team { id } } }",
            json!({ "u": users[&BuiltinRole::Staff] }),
        )
        .await["createTeam"]["team"]["id"]
        .clone();
    let campaign = app
        .data(
            "mutation { createCampaign(input: { name: \"Newsletter\", purpose: \"newsletter\" }) { campaign { id } } }",
            json!({}),
        )
        .await["createCampaign"]["campaign"]["id"]
        .clone();
    let request = app
        .gql_as(
            &tokens[&BuiltinRole::Dpo],
            "mutation($c: ID!) { createSubjectRequest(input: { kind: ACCESS, channel: EMAIL, requesterName: \"Mario Rossi\", contactId: $c }) { request { id } } }",
            json!({ "c": person }),
        )
        .await["data"]["createSubjectRequest"]["request"]["id"]
        .clone();
    let dpo = &tokens[&BuiltinRole::Dpo];
    let activity = app
        .gql_as(
            dpo,
            "mutation { createProcessingActivity(input: { name: \"Matters\", purposeIds: [\"purpose-matter-handling\"], controllerContact: \"Studio\", dataSubjectCategories: [\"clients\"], personalDataCategories: [{ name: \"identity\", kind: ORDINARY }], retention: \"10 years\", securityMeasures: \"encryption\" }) { processingActivity { id } } }",
            json!({}),
        )
        .await["data"]["createProcessingActivity"]["processingActivity"]["id"]
        .clone();
    let breach = app
        .gql_as(
            dpo,
            "mutation { recordBreach(input: { detectedAt: \"2026-01-01T00:00:00Z\", natures: [AVAILABILITY], description: \"Outage\", authorityNotificationRequired: true, subjectsNotificationRequired: false }) { breach { id } } }",
            json!({}),
        )
        .await["data"]["recordBreach"]["breach"]["id"]
        .clone();
    let text = |v: Value| v.as_str().expect("id").to_owned();
    let ids = BTreeMap::from([
        ("SubjectRequest", text(request)),
        ("ProcessingActivity", text(activity)),
        ("Breach", text(breach)),
        ("Contact", person),
        ("Matter", matter),
        ("Communication", text(communication)),
        ("Deadline", text(deadline)),
        ("Team", text(team_id)),
        ("Campaign", text(campaign)),
        ("User", users[&BuiltinRole::Lawyer].clone()),
    ]);
    Firm { app, tokens, ids }
}

/// The selection of every field of `type_name`, objects answered with `__typename`.
fn every_field(type_name: &str) -> (String, Vec<String>) {
    let fields: Vec<_> = SCHEMA_MAP
        .fields
        .iter()
        .filter(|f| f.type_name == type_name && !f.is_input)
        .collect();
    let scalars = [
        "String",
        "ID",
        "Int",
        "Boolean",
        "DateTime",
        "NaiveDate",
        "Float",
    ];
    let leaf = |t: &str| scalars.contains(&t) || enum_values(t).is_some();
    let selection = fields
        .iter()
        .map(|f| {
            // Required arguments get dummies (the reports' `from`/`to` dates).
            let arguments: Vec<String> = f
                .required_arguments
                .iter()
                .filter_map(|a| f.arguments.iter().find(|(n, _)| n == a))
                .map(|(name, ty)| format!("{name}: {}", dummy(ty)))
                .collect();
            let arguments = if arguments.is_empty() {
                String::new()
            } else {
                format!("({})", arguments.join(", "))
            };
            if leaf(&f.returns) {
                format!("{}{arguments}", f.field)
            } else {
                format!("{}{arguments} {{ __typename }}", f.field)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    (selection, fields.iter().map(|f| f.field.clone()).collect())
}

/// The served SDL, parsed once for all the lookups below.
static SDL: LazyLock<ServiceDocument> = LazyLock::new(|| {
    async_graphql::parser::parse_schema(lexgate::graphql::sdl()).expect("the served SDL parses")
});

fn type_definition(type_name: &str) -> Option<&'static TypeDefinition> {
    SDL.definitions.iter().find_map(|d| match d {
        TypeSystemDefinition::Type(t) if t.node.name.node.as_str() == type_name => Some(&t.node),
        _ => None,
    })
}

fn enum_values(type_name: &str) -> Option<Vec<String>> {
    match &type_definition(type_name)?.kind {
        TypeKind::Enum(e) => Some(
            e.values
                .iter()
                .map(|v| v.node.value.node.to_string())
                .collect(),
        ),
        _ => None,
    }
}

/// The field names of an error's path, list indexes left out.
fn names(error: &Value) -> Vec<String> {
    error["path"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn forbidden_paths(body: &Value) -> Vec<Vec<String>> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|e| e["extensions"]["code"] == "FORBIDDEN")
                .map(names)
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one response field by field: allowed fields answer without `FORBIDDEN`, denied ones
/// answer `null` with `FORBIDDEN` at the first denied step of their path.
fn check_fields(
    role: BuiltinRole,
    body: &Value,
    chain: &[(&str, &str)],
    type_name: &str,
    fields: &[String],
    failures: &mut Vec<String>,
) {
    let grant = RoleGrant::builtin(role);
    let forbidden = forbidden_paths(body);
    let chain_path: Vec<String> = chain.iter().map(|(_, f)| (*f).to_owned()).collect();
    let denied_step = chain
        .iter()
        .position(|(t, f)| !grant.allows(t, f))
        .map(|i| chain_path[..=i].to_vec());
    for field in fields {
        let mut path = chain_path.clone();
        if path.last() != Some(field) || chain.last().map(|(t, _)| *t) != Some(type_name) {
            path.push(field.clone());
        }
        let expected_denial = match &denied_step {
            Some(step) => Some(step.clone()),
            None if !grant.allows(type_name, field) => Some(path.clone()),
            None => None,
        };
        match expected_denial {
            Some(step) if !forbidden.contains(&step) => failures.push(format!(
                "{role}: {type_name}.{field} should be FORBIDDEN at {step:?}; got {}",
                body["errors"]
            )),
            None if forbidden.iter().any(|f| path.starts_with(f)) => failures.push(format!(
                "{role}: {type_name}.{field} should be allowed at {path:?}; got {}",
                body["errors"]
            )),
            _ => {}
        }
    }
}

async fn every_role_reads_exactly_what_the_policy_allows(backend: Backend) {
    let firm = firm(backend).await;
    // A nested path to one record of each type, and the path's (type, field) steps.
    let nested: [(&str, &str, Steps); 11] = [
        (
            "Contact",
            "contacts(first: 50) { nodes { SEL } }",
            vec![("Query", "contacts"), ("ContactConnection", "nodes")],
        ),
        (
            "Matter",
            "matters(first: 5) { nodes { SEL } }",
            vec![("Query", "matters"), ("MatterConnection", "nodes")],
        ),
        (
            "Communication",
            "communications(first: 5) { nodes { SEL } }",
            vec![
                ("Query", "communications"),
                ("CommunicationConnection", "nodes"),
            ],
        ),
        (
            "Deadline",
            "deadlines(first: 5) { nodes { SEL } }",
            vec![("Query", "deadlines"), ("DeadlineConnection", "nodes")],
        ),
        (
            "User",
            "users(first: 50) { nodes { SEL } }",
            vec![("Query", "users"), ("UserConnection", "nodes")],
        ),
        (
            "Team",
            "teams(first: 5) { nodes { SEL } }",
            vec![("Query", "teams"), ("TeamConnection", "nodes")],
        ),
        (
            "Campaign",
            "campaigns(first: 5) { nodes { SEL } }",
            vec![("Query", "campaigns"), ("CampaignConnection", "nodes")],
        ),
        (
            "Affiliation",
            "contact(id: \"CONTACT\") { organizations { SEL } }",
            vec![("Query", "contact"), ("Contact", "organizations")],
        ),
        ("Reports", "reports { SEL }", vec![("Query", "reports")]),
        ("Viewer", "viewer { SEL }", vec![("Query", "viewer")]),
        (
            "SubjectRequest",
            "subjectRequests(first: 5) { nodes { SEL } }",
            vec![
                ("Query", "subjectRequests"),
                ("SubjectRequestConnection", "nodes"),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for role in BuiltinRole::ALL {
        let token = &firm.tokens[&role];
        for (type_name, template, chain) in &nested {
            let (selection, fields) = every_field(type_name);
            let query = format!(
                "{{ {} }}",
                template
                    .replace("SEL", &selection)
                    .replace("CONTACT", &firm.ids["Contact"])
            );
            let body = asked_twice(&firm.app, token, &query, &mut failures).await;
            let grant = RoleGrant::builtin(role);
            if chain.iter().all(|(t, f)| grant.allows(t, f)) {
                // The record is really there for this role: the checks below are not vacuous.
                let reached = chain.iter().fold(&body["data"], |v, (_, f)| &v[*f]);
                let empty = reached.is_null() || reached.as_array().is_some_and(Vec::is_empty);
                if empty {
                    failures.push(format!("{role}: reached no {type_name}: {body}"));
                }
            }
            check_fields(role, &body, chain, type_name, &fields, &mut failures);
        }
        for (type_name, id) in &firm.ids {
            let (selection, fields) = every_field(type_name);
            let query =
                format!("{{ node(id: \"{id}\") {{ ... on {type_name} {{ {selection} }} }} }}");
            let body = asked_twice(&firm.app, token, &query, &mut failures).await;
            // `node` lets a role reach a type only if it may read the type's `id`.
            let grant = RoleGrant::builtin(role);
            let forbidden = forbidden_paths(&body);
            if !grant.allows(type_name, "id") {
                if !forbidden.contains(&vec!["node".to_owned()]) {
                    failures.push(format!(
                        "{role}: node({type_name}) should be FORBIDDEN: {body}"
                    ));
                }
                continue;
            }
            if body["data"]["node"].is_null() {
                failures.push(format!("{role}: node({type_name}) missing: {body}"));
            }
            for field in &fields {
                let path = vec!["node".to_owned(), field.clone()];
                let denied = !grant.allows(type_name, field);
                if denied != forbidden.contains(&path) {
                    failures.push(format!(
                        "{role}: node {type_name}.{field} expected {} got {}",
                        if denied { "FORBIDDEN" } else { "allowed" },
                        body["errors"]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The answer to `query`, asked twice: the second time the server decides the fields for the
/// role in advance where the role may read them all (`graphql::admission`), and checks them
/// field by field again where it may not; either way the answer must not change.
async fn asked_twice(app: &TestApp, token: &str, query: &str, failures: &mut Vec<String>) -> Value {
    let body = in_fixed_order(app.gql_as(token, query, json!({})).await);
    let again = in_fixed_order(app.gql_as(token, query, json!({})).await);
    if again != body {
        failures.push(format!("{query}\nfirst: {body}\nagain: {again}"));
    }
    body
}

/// The (type, field) steps of a path from the query root.
type Steps = Vec<(&'static str, &'static str)>;

/// A syntactically valid value of an input type, with only its required fields.
fn dummy(type_name: &str) -> Value {
    match type_name {
        "String" => json!("x"),
        "ID" => json!("bm90OmFuLWlk"),
        "Int" => json!(0),
        "Boolean" => json!(false),
        "DateTime" => json!("2030-01-01T00:00:00Z"),
        "NaiveDate" => json!("2030-01-01"),
        other => match enum_values(other) {
            Some(values) => json!(values[0]),
            None => {
                let object: serde_json::Map<String, Value> = SCHEMA_MAP
                    .fields
                    .iter()
                    .filter(|f| f.type_name == other && f.is_input && !f.nullable && !f.has_default)
                    .map(|f| (f.field.clone(), dummy_field(f)))
                    .collect();
                Value::Object(object)
            }
        },
    }
}

fn dummy_field(field: &lexgate::access_policy::schema_map::FieldShape) -> Value {
    // Lists are given one element, so nested input fields are walked too.
    let sdl_type = field_sdl_type(&field.type_name, &field.field);
    let value = dummy(&field.returns);
    if sdl_type.starts_with('[') {
        json!([value])
    } else {
        value
    }
}

fn field_sdl_type(type_name: &str, field: &str) -> String {
    match type_definition(type_name).map(|t| &t.kind) {
        Some(TypeKind::InputObject(o)) => o
            .fields
            .iter()
            .find(|f| f.node.name.node.as_str() == field)
            .map(|f| f.node.ty.node.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Every mutation and every input field, for every role: allowed or `FORBIDDEN` as the
/// policy says (inputs are dummies: an allowed call fails validation, not authorisation).
async fn every_role_writes_exactly_what_the_policy_allows(backend: Backend) {
    let firm = firm(backend).await;
    let mut failures = Vec::new();
    let skip = ["login", "refreshSession", "logout"];
    let mutations: Vec<_> = SCHEMA_MAP
        .fields
        .iter()
        .filter(|f| f.type_name == "Mutation" && !skip.contains(&f.field.as_str()))
        .collect();
    for role in BuiltinRole::ALL {
        let grant = RoleGrant::builtin(role);
        let token = &firm.tokens[&role];
        for mutation in &mutations {
            let (variables, declarations, arguments) = mutation_arguments(mutation, None);
            let query = format!(
                "mutation({declarations}) {{ {}({arguments}) {{ __typename }} }}",
                mutation.field
            );
            let body = firm.app.gql_as(token, &query, variables).await;
            let forbidden = forbidden_paths(&body).contains(&vec![mutation.field.clone()]);
            if forbidden == grant.allows("Mutation", &mutation.field) {
                failures.push(format!("{role}: {} got {body}", mutation.field));
            }
            if !grant.allows("Mutation", &mutation.field) {
                continue;
            }
            // Each optional input field on its own.
            let Some((_, input_type)) = mutation.arguments.iter().find(|(a, _)| a == "input")
            else {
                continue;
            };
            let optional: Vec<_> = SCHEMA_MAP
                .fields
                .iter()
                .filter(|f| {
                    &f.type_name == input_type && f.is_input && (f.nullable || f.has_default)
                })
                .collect();
            for field in optional {
                let (variables, declarations, arguments) =
                    mutation_arguments(mutation, Some(field));
                let query = format!(
                    "mutation({declarations}) {{ {}({arguments}) {{ __typename }} }}",
                    mutation.field
                );
                let body = firm.app.gql_as(token, &query, variables).await;
                let refused = body["errors"].as_array().is_some_and(|errors| {
                    errors.iter().any(|e| {
                        e["extensions"]["code"] == "FORBIDDEN"
                            && e["extensions"]["field"] == format!("input.{}", field.field)
                    })
                });
                if refused == grant.allows(input_type, &field.field) {
                    failures.push(format!(
                        "{role}: {}(input.{}) got {body}",
                        mutation.field, field.field
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Variables, their declarations and the argument list for a mutation with dummy values.
fn mutation_arguments(
    mutation: &lexgate::access_policy::schema_map::FieldShape,
    extra: Option<&lexgate::access_policy::schema_map::FieldShape>,
) -> (Value, String, String) {
    let mut variables = serde_json::Map::new();
    let mut declarations = Vec::new();
    let mut arguments = Vec::new();
    for (name, type_name) in &mutation.arguments {
        let mut value = dummy(type_name);
        if let (Some(extra), Value::Object(object)) = (extra, &mut value) {
            object.insert(extra.field.clone(), dummy_field(extra));
        }
        variables.insert(name.clone(), value);
        declarations.push(format!("${name}: {type_name}!"));
        arguments.push(format!("{name}: ${name}"));
    }
    (
        Value::Object(variables),
        declarations.join(", "),
        arguments.join(", "),
    )
}

async fn lawyers_see_only_the_matters_they_are_on(backend: Backend) {
    let firm = firm(backend).await;
    let app = &firm.app;
    let other_client = create_person(app, "Luca", "Bianchi", json!({})).await;
    let other = create_matter(app, "2026/0002", &other_client, json!({})).await;
    let lawyer = &firm.tokens[&BuiltinRole::Lawyer];
    let list = app
        .gql_as(
            lawyer,
            "{ matters { totalCount nodes { id } } contacts { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["matters"]["totalCount"], 1, "{list:#}");
    assert_eq!(
        list["data"]["matters"]["nodes"][0]["id"],
        firm.ids["Matter"]
    );
    let contacts: Vec<&str> = list["data"]["contacts"]["nodes"]
        .as_array()
        .expect("contacts")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(contacts.contains(&firm.ids["Contact"].as_str()), "{list:#}");
    assert!(!contacts.contains(&other_client.as_str()), "{list:#}");
    // Looked up directly, a matter they are not on is not there for them.
    let direct = app
        .gql_as(
            lawyer,
            "query($id: ID!) { node(id: $id) { id } matter(id: $id) { id } }",
            json!({ "id": other }),
        )
        .await;
    assert!(
        direct["data"]["node"].is_null() && direct["data"]["matter"].is_null(),
        "{direct:#}"
    );
    // Nor can they change it.
    let change = app
        .gql_as(lawyer, "mutation($id: ID!) { updateMatter(input: { id: $id, title: \"Mine\" }) { matter { id } } }", json!({ "id": other }))
        .await;
    assert_eq!(
        change["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{change:#}"
    );
    // A partner sees both.
    let partner = app
        .gql_as(
            &firm.tokens[&BuiltinRole::Partner],
            "{ matters { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(partner["data"]["matters"]["totalCount"], 2);
}

async fn special_categories_are_for_the_matter_team_only(backend: Backend) {
    let firm = firm(backend).await;
    let app = &firm.app;
    let query =
        "query($id: ID!) { matter(id: $id) { title criminalProceedingsNotes healthDetails } }";
    let vars = json!({ "id": firm.ids["Matter"] });
    let member = app
        .gql_as(&firm.tokens[&BuiltinRole::Lawyer], query, vars.clone())
        .await;
    assert_eq!(
        member["data"]["matter"]["criminalProceedingsNotes"],
        "Indagato"
    );
    assert_eq!(member["data"]["matter"]["healthDetails"], "Invalidità 60%");
    // A partner of the firm who is not on the team: the rest of the matter, not these.
    let (_, outsider) = app.sign_in("altro.socio@studio.it", "partner").await;
    let body = app.gql_as(&outsider, query, vars.clone()).await;
    assert_eq!(body["data"]["matter"]["title"], "Matter 2026/0001");
    assert!(body["data"]["matter"]["healthDetails"].is_null());
    let forbidden = forbidden_paths(&body);
    assert!(
        forbidden.contains(&vec![
            "matter".to_owned(),
            "criminalProceedingsNotes".to_owned()
        ]),
        "{body:#}"
    );
    assert!(
        forbidden.contains(&vec!["matter".to_owned(), "healthDetails".to_owned()]),
        "{body:#}"
    );
    let write = app
        .gql_as(&outsider, "mutation($id: ID!) { updateMatter(input: { id: $id, healthDetails: null }) { matter { id } } }", vars.clone())
        .await;
    assert_eq!(
        write["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{write:#}"
    );
    let unchanged = app
        .gql_as(&firm.tokens[&BuiltinRole::Lawyer], query, vars)
        .await;
    assert_eq!(
        unchanged["data"]["matter"]["healthDetails"],
        "Invalidità 60%"
    );
}

async fn firms_add_roles_that_narrow_a_built_in_one(backend: Backend) {
    let firm = firm(backend).await;
    let app = &firm.app;
    let created = app
        .gql("mutation { createRole(input: { name: \"paralegal\", baseRole: \"staff\", deniedFields: [\"Contact.phones\"] }) { role { name baseRole deniedFields builtIn } } }", json!({}))
        .await;
    assert_eq!(
        created["data"]["createRole"]["role"]["deniedFields"],
        json!(["Contact.phones"]),
        "{created:#}"
    );
    let (_, token) = app.sign_in("paralegale@studio.it", "paralegal").await;
    let body = app
        .gql_as(
            &token,
            "{ contacts(first: 50) { nodes { displayName phones { number } } } }",
            json!({}),
        )
        .await;
    assert!(
        body["data"]["contacts"]["nodes"][0]["displayName"].is_string(),
        "{body:#}"
    );
    assert_eq!(forbidden_paths(&body)[0], ["contacts", "nodes", "phones"]);
    // Refused: a field that cannot be null, an unknown base role, deleting a role in use.
    for (input, field) in [
        (
            json!({ "name": "x-role", "baseRole": "staff", "deniedFields": ["Contact.id"] }),
            "input.deniedFields",
        ),
        (
            json!({ "name": "x-role", "baseRole": "root" }),
            "input.baseRole",
        ),
    ] {
        let error = app
            .error(
                "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { name } } }",
                json!({ "i": input }),
            )
            .await;
        assert_eq!(error["extensions"]["field"], field, "{error:#}");
    }
    let error = app
        .error(
            "mutation { deleteRole(input: { name: \"paralegal\" }) { deletedName } }",
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");
    let error = app
        .error(
            "mutation { deleteRole(input: { name: \"partner\" }) { deletedName } }",
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");
}

async fn reads_and_writes_of_personal_data_are_logged_for_the_dpo(backend: Backend) {
    let firm = firm(backend).await;
    let app = &firm.app;
    let lawyer = &firm.tokens[&BuiltinRole::Lawyer];
    let dpo = &firm.tokens[&BuiltinRole::Dpo];
    let person = &firm.ids["Contact"];
    let read = app
        .gql_as(
            lawyer,
            "query Lookup($id: ID!) { contact(id: $id) { id displayName phones { number } } }",
            json!({ "id": person }),
        )
        .await;
    assert!(read.get("errors").is_none(), "{read:#}");
    // Nothing personal read: nothing logged for it.
    app.gql_as(
        lawyer,
        "query Teams { teams { nodes { name } } }",
        json!({}),
    )
    .await;
    let changed = app
        .gql_as(lawyer, "mutation Rename($id: ID!) { updateContact(input: { id: $id, notes: \"Met in court\" }) { contact { id } } }", json!({ "id": person }))
        .await;
    assert!(changed.get("errors").is_none(), "{changed:#}");
    let query = "query($s: ID) { accessLog(subject: $s, first: 20) { totalCount nodes { principalKind role operationName action fields subjects clientAddress } } }";
    let log = app.gql_as(dpo, query, json!({ "s": person })).await;
    let entries = log["data"]["accessLog"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{log:#}"))
        .clone();
    let lookup = entries
        .iter()
        .find(|e| e["operationName"] == "Lookup")
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(lookup["action"], "READ");
    assert_eq!(lookup["role"], "lawyer");
    assert_eq!(
        lookup["fields"],
        json!(["Contact.displayName", "Contact.phones"])
    );
    assert_eq!(lookup["subjects"], json!([person]));
    assert_eq!(lookup["clientAddress"], "127.0.0.1");
    let rename = entries
        .iter()
        .find(|e| e["operationName"] == "Rename")
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(rename["action"], "WRITE");
    assert_eq!(rename["fields"], json!(["UpdateContactInput.notes"]));
    assert!(
        entries.iter().all(|e| e["operationName"] != "Teams"),
        "{log:#}"
    );
    // The DPO's own look at the log is logged too, and only the DPO may look.
    let again = app
        .gql_as(
            dpo,
            "{ accessLog(first: 50) { nodes { role fields } } }",
            json!({}),
        )
        .await;
    let own = again["data"]["accessLog"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| {
            e["role"] == "dpo"
                && e["fields"]
                    .as_array()
                    .is_some_and(|f| f.contains(&json!("Query.accessLog")))
        });
    assert!(own, "{again:#}");
    let refused = app.gql("{ accessLog { totalCount } }", json!({})).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // Breach scoping: whom and what the lawyer touched.
    let lawyer_id = app
        .gql_as(lawyer, "{ viewer { user { id } } }", json!({}))
        .await["data"]["viewer"]["user"]["id"]
        .clone();
    let scope = app
        .gql_as(dpo, "query($p: ID) { breachScope(principal: $p) { entryCount subjectCount subjects fields principals } }", json!({ "p": lawyer_id }))
        .await;
    assert_eq!(
        scope["data"]["breachScope"]["principals"],
        json!([lawyer_id]),
        "{scope:#}"
    );
    // The raw key behind the global ID, or another kind of ID, is refused rather than
    // scoping nothing.
    let user_key = lexgate::ids::parse(lawyer_id.as_str().expect("id"))
        .expect("user id")
        .1;
    for wrong in [json!(user_key), json!(person)] {
        let refused = app
            .gql_as(
                dpo,
                "query($p: ID) { breachScope(principal: $p) { entryCount } }",
                json!({ "p": wrong }),
            )
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused:#}"
        );
    }
    let scope = &scope["data"]["breachScope"];
    assert_eq!(scope["subjects"], json!([person]), "{scope:#}");
    assert!(scope["fields"]
        .as_array()
        .expect("fields")
        .contains(&json!("Contact.phones")));
    // And the chain the entries form holds.
    let outcome = app
        .db
        .run(lexgate::audit::verify_chain)
        .await
        .expect("verify");
    assert!(
        matches!(outcome, lexgate::audit::VerifyOutcome::Intact { entries } if entries >= 3),
        "{outcome:?}"
    );
}

/// A filter must not find rows by a field the caller may not read: searching is reading.
async fn searches_match_only_what_the_role_may_read(backend: Backend) {
    let firm = firm(backend).await;
    let app = &firm.app;
    let contacts_matching = |token: &str, text: &str| {
        let (token, text) = (token.to_owned(), text.to_owned());
        async move {
            let body = app
                .gql_as(
                    &token,
                    "query($t: String) { contacts(filter: { text: $t }) { totalCount } }",
                    json!({ "t": text }),
                )
                .await;
            body["data"]["contacts"]["totalCount"].clone()
        }
    };
    let staff = &firm.tokens[&BuiltinRole::Staff];
    let marketing = &firm.tokens[&BuiltinRole::Marketing];
    // Staff may read phones: the number finds Mario; marketing may not: it finds no one, but
    // the name and the email address, which marketing reads, still do.
    assert_eq!(contacts_matching(staff, "+39 02 1234 5678").await, json!(1));
    assert_eq!(
        contacts_matching(marketing, "+39 02 1234 5678").await,
        json!(0)
    );
    assert_eq!(contacts_matching(marketing, "Rossi").await, json!(1));
    assert_eq!(contacts_matching(marketing, "mario@acme").await, json!(1));
    // A firm role that may not read the codice fiscale cannot find a contact by it.
    let update = app
        .data(
            "mutation($id: ID!) { updateContact(input: { id: $id, codiceFiscale: \"RSSMRA80A01F205X\" }) { contact { id } } }",
            json!({ "id": firm.ids["Contact"] }),
        )
        .await;
    assert!(update["updateContact"]["contact"]["id"].is_string());
    app.data(
        "mutation { createRole(input: { name: \"front-desk\", baseRole: \"staff\", deniedFields: [\"Contact.codiceFiscale\"] }) { role { name } } }",
        json!({}),
    )
    .await;
    let (_, front_desk) = app.sign_in("reception@studio.it", "front-desk").await;
    assert_eq!(contacts_matching(staff, "RSSMRA80A01F205X").await, json!(1));
    assert_eq!(
        contacts_matching(&front_desk, "RSSMRA80A01F205X").await,
        json!(0)
    );

    // What a communication says: the partner finds it by its summary; staff, who may not read
    // subjects or summaries, is refused the search; a role that reads subjects only searches
    // subjects only.
    let search = "query($t: String) { communications(filter: { text: $t }) { totalCount } }";
    let partner = &firm.tokens[&BuiltinRole::Partner];
    let found = app.gql_as(partner, search, json!({ "t": "rinvio" })).await;
    assert_eq!(
        found["data"]["communications"]["totalCount"],
        json!(1),
        "{found:#}"
    );
    let refused = app.gql_as(staff, search, json!({ "t": "rinvio" })).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused:#}"
    );
    assert_eq!(refused["errors"][0]["extensions"]["field"], "filter.text");
    let unfiltered = app
        .gql_as(staff, "{ communications { totalCount } }", json!({}))
        .await;
    assert!(unfiltered.get("errors").is_none(), "{unfiltered:#}");
    app.data(
        "mutation { createRole(input: { name: \"associate\", baseRole: \"partner\", deniedFields: [\"Communication.summary\"] }) { role { name } } }",
        json!({}),
    )
    .await;
    let (_, associate) = app.sign_in("associate@studio.it", "associate").await;
    let by_summary = app
        .gql_as(&associate, search, json!({ "t": "rinvio" }))
        .await;
    assert_eq!(
        by_summary["data"]["communications"]["totalCount"],
        json!(0),
        "{by_summary:#}"
    );
    let by_subject = app
        .gql_as(&associate, search, json!({ "t": "udienza" }))
        .await;
    assert_eq!(
        by_subject["data"]["communications"]["totalCount"],
        json!(1),
        "{by_subject:#}"
    );
}

on_both_backends!(
    searches_match_only_what_the_role_may_read,
    reads_and_writes_of_personal_data_are_logged_for_the_dpo,
    every_role_reads_exactly_what_the_policy_allows,
    every_role_writes_exactly_what_the_policy_allows,
    lawyers_see_only_the_matters_they_are_on,
    special_categories_are_for_the_matter_team_only,
    firms_add_roles_that_narrow_a_built_in_one,
);
