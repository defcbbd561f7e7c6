//! Tests of directory: users and teams.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email displayName role active teams { id } } } }";
const UPDATE_USER: &str = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id email displayName role active } } }";
const DELETE_USER: &str = "mutation($id: ID!) { deleteUser(input: { id: $id }) { deletedId } }";
const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id name description members { id email } } } }";
const UPDATE_TEAM: &str = "mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id name description members { id } } } }";
const DELETE_TEAM: &str = "mutation($id: ID!) { deleteTeam(input: { id: $id }) { deletedId } }";
const ADD_MEMBER: &str = "mutation($teamId: ID!, $userId: ID!) { addTeamMember(input: { teamId: $teamId, userId: $userId }) { team { id members { id } } } }";
const REMOVE_MEMBER: &str = "mutation($teamId: ID!, $userId: ID!) { removeTeamMember(input: { teamId: $teamId, userId: $userId }) { team { id members { id } } } }";
const USERS: &str = "query($filter: UserFilter, $first: Int, $after: String) { users(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id email displayName role active } } }";
const USER_TEAMS: &str =
    "query($id: ID!) { node(id: $id) { ... on User { id teams { id name } } } }";
const TEAM: &str =
    "query($id: ID!) { node(id: $id) { ... on Team { id name description members { id } } } }";

async fn create_named_user(app: &TestApp, email: &str, name: &str, role: &str) -> String {
    let data = app
        .data(
            CREATE_USER,
            json!({ "input": { "email": email, "displayName": name, "role": role } }),
        )
        .await;
    data["createUser"]["user"]["id"]
        .as_str()
        .expect("user id")
        .to_owned()
}

async fn create_team(app: &TestApp, name: &str, members: &[&str]) -> String {
    let data = app
        .data(
            CREATE_TEAM,
            json!({ "input": { "name": name, "memberIds": members } }),
        )
        .await;
    data["createTeam"]["team"]["id"]
        .as_str()
        .expect("team id")
        .to_owned()
}

/// The `id`s of a list of objects, sorted (membership order is not part of the contract).
fn sorted_ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids
}

fn field_of<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|item| item[key].as_str().expect("string field"))
        .collect()
}

async fn create_user_normalises_email_and_role(backend: Backend) {
    let app = TestApp::start(backend).await;
    let data = app
        .data(
            CREATE_USER,
            json!({ "input": { "email": "  Anna.Bianchi@Studio-Legale.IT ", "displayName": "  Anna Bianchi ", "role": " Partner " } }),
        )
        .await;
    let user = &data["createUser"]["user"];
    // The domain is lower-cased, the local part kept as given, whitespace trimmed.
    assert_eq!(user["email"], "Anna.Bianchi@studio-legale.it");
    assert_eq!(user["displayName"], "Anna Bianchi");
    assert_eq!(user["role"], "partner");
    assert_eq!(user["active"], true);
    assert_eq!(user["teams"], json!([]));

    // Read back from the database, not only from the mutation payload.
    let id = user["id"].as_str().unwrap();
    let read = app
        .data(
            "query($id: ID!) { node(id: $id) { __typename ... on User { email role active } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["node"]["__typename"], "User");
    assert_eq!(read["node"]["email"], "Anna.Bianchi@studio-legale.it");
    assert_eq!(read["node"]["role"], "partner");
    assert_eq!(read["node"]["active"], true);
}

async fn create_user_accepts_every_built_in_role(backend: Backend) {
    let app = TestApp::start(backend).await;
    let roles = [
        "admin",
        "partner",
        "lawyer",
        "trainee",
        "staff",
        "marketing",
        "integration",
    ];
    for role in roles {
        let data = app
            .data(
                CREATE_USER,
                json!({ "input": { "email": format!("{role}@studio.it"), "displayName": role, "role": role.to_uppercase() } }),
            )
            .await;
        assert_eq!(data["createUser"]["user"]["role"], role);
    }
    // Separation of duties: the dpo reads what an admin may not (the access log), so an admin
    // cannot create one (the CLI does); the security suite covers keys and roles too.
    let error = app
        .error(
            CREATE_USER,
            json!({ "input": { "email": "dpo@studio.it", "displayName": "dpo", "role": "DPO" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{error:#}");
    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 7);
}

async fn create_user_rejects_unknown_role(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = app
        .error(
            CREATE_USER,
            json!({ "input": { "email": "root@studio.it", "displayName": "Root", "role": "superuser" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.role", "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("admin") && message.contains("integration"),
        "the message lists the roles: {message}"
    );
    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 0, "nothing was created");
}

async fn create_user_reports_every_invalid_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = app
        .error(
            CREATE_USER,
            json!({ "input": { "email": "not-an-email", "displayName": "   ", "role": "boss" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.email", "{error:#}");
    let fields: Vec<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .expect("fieldErrors")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["input.email", "input.displayName", "input.role"],
        "{error:#}"
    );
}

async fn create_user_rejects_duplicate_email_case_insensitively(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_named_user(&app, "mario.rossi@studio.it", "Mario Rossi", "lawyer").await;
    let error = app
        .error(
            CREATE_USER,
            json!({ "input": { "email": "MARIO.ROSSI@Studio.IT", "displayName": "Mario R.", "role": "staff" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.email", "{error:#}");

    // Changing another user's email onto the taken one is refused the same way...
    let other = create_named_user(&app, "luigi@studio.it", "Luigi Verdi", "lawyer").await;
    let error = app
        .error(
            UPDATE_USER,
            json!({ "input": { "id": other, "email": "Mario.Rossi@STUDIO.it" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.email", "{error:#}");

    // ...while a user may keep (or re-case) their own address.
    let data = app
        .data(
            UPDATE_USER,
            json!({ "input": { "id": other, "email": "Luigi@STUDIO.IT" } }),
        )
        .await;
    assert_eq!(data["updateUser"]["user"]["email"], "Luigi@studio.it");

    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 2);
    assert_eq!(
        field_of(&data["users"]["nodes"], "email"),
        ["Luigi@studio.it", "mario.rossi@studio.it"]
    );
}

/// Case-insensitive means beyond ASCII too: SQLite's `lower()` only folds ASCII letters.
async fn duplicate_email_check_folds_non_ascii_letters(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_named_user(&app, "Élodie.Martin@studio.it", "Élodie Martin", "lawyer").await;
    let error = app
        .error(
            CREATE_USER,
            json!({ "input": { "email": "élodie.martin@STUDIO.it", "displayName": "Elodie", "role": "staff" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.email", "{error:#}");
    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 1);
}

async fn update_user_changes_fields_and_deactivates(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna Bianchi", "trainee").await;
    let bruno = create_named_user(&app, "bruno@studio.it", "Bruno Neri", "lawyer").await;

    let data = app
        .data(
            UPDATE_USER,
            json!({ "input": { "id": anna, "displayName": "Anna Bianchi-Neri", "role": "LAWYER" } }),
        )
        .await;
    let user = &data["updateUser"]["user"];
    assert_eq!(user["displayName"], "Anna Bianchi-Neri");
    assert_eq!(user["role"], "lawyer");
    assert_eq!(user["email"], "anna@studio.it", "untouched fields stay");
    assert_eq!(user["active"], true);

    let data = app
        .data(
            UPDATE_USER,
            json!({ "input": { "id": anna, "active": false } }),
        )
        .await;
    assert_eq!(data["updateUser"]["user"]["active"], false);
    assert_eq!(data["updateUser"]["user"]["role"], "lawyer");

    let data = app
        .data(USERS, json!({ "filter": { "active": false } }))
        .await;
    assert_eq!(data["users"]["totalCount"], 1);
    assert_eq!(data["users"]["nodes"][0]["id"], anna.as_str());
    assert_eq!(data["users"]["nodes"][0]["active"], false);

    let data = app
        .data(USERS, json!({ "filter": { "active": true } }))
        .await;
    assert_eq!(data["users"]["totalCount"], 1);
    assert_eq!(data["users"]["nodes"][0]["id"], bruno.as_str());

    // Without the filter both are listed: deactivation keeps the user.
    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 2);

    // Reactivation.
    let data = app
        .data(
            UPDATE_USER,
            json!({ "input": { "id": anna, "active": true } }),
        )
        .await;
    assert_eq!(data["updateUser"]["user"]["active"], true);
    let data = app
        .data(USERS, json!({ "filter": { "active": false } }))
        .await;
    assert_eq!(data["users"]["totalCount"], 0);
}

async fn update_user_rejects_invalid_input(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna Bianchi", "trainee").await;

    let error = app
        .error(
            UPDATE_USER,
            json!({ "input": { "id": anna, "role": "emperor", "displayName": "Anna" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.role", "{error:#}");

    let error = app
        .error(
            UPDATE_USER,
            json!({ "input": { "id": anna, "email": "anna at studio" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.email", "{error:#}");

    // Nothing of the refused updates was written.
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on User { email displayName role } } }",
            json!({ "id": anna }),
        )
        .await;
    assert_eq!(
        data["node"],
        json!({ "email": "anna@studio.it", "displayName": "Anna Bianchi", "role": "trainee" })
    );

    // A team ID is not a user ID.
    let team = create_team(&app, "Contenzioso", &[]).await;
    let error = app
        .error(
            UPDATE_USER,
            json!({ "input": { "id": team, "active": false } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.id", "{error:#}");

    // A deleted user is not found.
    app.data(DELETE_USER, json!({ "id": anna })).await;
    let error = app
        .error(
            UPDATE_USER,
            json!({ "input": { "id": anna, "active": false } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
}

async fn delete_user_keeps_their_matters(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_named_user(&app, "avv.rossi@studio.it", "Mario Rossi", "lawyer").await;
    let team = create_team(&app, "Contenzioso", &[&lawyer]).await;
    let client = create_person(&app, "Giulia", "Verdi", json!({})).await;
    let matter = create_matter(
        &app,
        "2026/0001",
        &client,
        json!({ "responsibleUserId": lawyer }),
    )
    .await;
    let data = app
        .data(
            "query($id: ID!) { matter(id: $id) { responsibleLawyer { id } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(data["matter"]["responsibleLawyer"]["id"], lawyer.as_str());

    let data = app.data(DELETE_USER, json!({ "id": lawyer })).await;
    assert_eq!(data["deleteUser"]["deletedId"], lawyer.as_str());

    let data = app
        .data(
            "query($id: ID!) { matter(id: $id) { id reference responsibleLawyer { id } clients { id } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(data["matter"]["id"], matter.as_str(), "the matter remains");
    assert_eq!(data["matter"]["reference"], "2026/0001");
    assert_eq!(data["matter"]["responsibleLawyer"], Value::Null);
    assert_eq!(data["matter"]["clients"][0]["id"], client.as_str());

    // The user is gone: from node(), from lists and from their team.
    let data = app.data(USER_TEAMS, json!({ "id": lawyer })).await;
    assert_eq!(data["node"], Value::Null);
    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 0);
    let data = app.data(TEAM, json!({ "id": team })).await;
    assert_eq!(data["node"]["members"], json!([]));

    let error = app.error(DELETE_USER, json!({ "id": lawyer })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
}

async fn users_filter_by_text_and_role(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_named_user(&app, "m.rossi@studio.it", "Mario Rossi", "lawyer").await;
    create_named_user(&app, "g.bianchi@studio.it", "Giulia Bianchi", "partner").await;
    create_named_user(&app, "segreteria@studio.it", "Paola Rossetti", "staff").await;
    create_named_user(
        &app,
        "newsletter@rossi-marketing.it",
        "Carla Neri",
        "marketing",
    )
    .await;
    create_named_user(&app, "l.gialli@studio.it", "Luca Gialli", "lawyer").await;

    // Text matches part of the name or of the email, case-insensitively; ordered by name.
    let data = app
        .data(USERS, json!({ "filter": { "text": "ROSS" } }))
        .await;
    assert_eq!(
        field_of(&data["users"]["nodes"], "displayName"),
        ["Carla Neri", "Mario Rossi", "Paola Rossetti"]
    );
    assert_eq!(data["users"]["totalCount"], 3);

    let data = app
        .data(USERS, json!({ "filter": { "text": "segreteria@" } }))
        .await;
    assert_eq!(
        field_of(&data["users"]["nodes"], "displayName"),
        ["Paola Rossetti"]
    );

    // LIKE wildcards in the text are literal.
    let data = app.data(USERS, json!({ "filter": { "text": "%" } })).await;
    assert_eq!(data["users"]["totalCount"], 0);

    let data = app
        .data(USERS, json!({ "filter": { "role": "Lawyer" } }))
        .await;
    assert_eq!(
        field_of(&data["users"]["nodes"], "displayName"),
        ["Luca Gialli", "Mario Rossi"]
    );
    assert_eq!(data["users"]["totalCount"], 2);

    // Conditions combine.
    let data = app
        .data(
            USERS,
            json!({ "filter": { "role": "lawyer", "text": "rossi" } }),
        )
        .await;
    assert_eq!(
        field_of(&data["users"]["nodes"], "displayName"),
        ["Mario Rossi"]
    );
    assert_eq!(data["users"]["totalCount"], 1);

    let data = app
        .data(USERS, json!({ "filter": { "role": "dpo" } }))
        .await;
    assert_eq!(data["users"]["nodes"], json!([]));
    assert_eq!(data["users"]["totalCount"], 0);
}

async fn users_paginate_in_name_order(backend: Backend) {
    let app = TestApp::start(backend).await;
    // Created out of order: the list is by display name.
    for name in ["Elena", "Bruno", "Davide", "Anna", "Carla"] {
        create_named_user(
            &app,
            &format!("{}@studio.it", name.to_lowercase()),
            name,
            "staff",
        )
        .await;
    }
    let data = app.data(USERS, json!({ "first": 2 })).await;
    let page = &data["users"];
    assert_eq!(field_of(&page["nodes"], "displayName"), ["Anna", "Bruno"]);
    assert_eq!(page["totalCount"], 5);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);

    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let data = app
        .data(USERS, json!({ "first": 2, "after": cursor }))
        .await;
    let page = &data["users"];
    assert_eq!(field_of(&page["nodes"], "displayName"), ["Carla", "Davide"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);

    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let data = app
        .data(USERS, json!({ "first": 2, "after": cursor }))
        .await;
    let page = &data["users"];
    assert_eq!(field_of(&page["nodes"], "displayName"), ["Elena"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);

    // Pagination within a filter.
    let data = app
        .data(USERS, json!({ "first": 1, "filter": { "text": "a" } }))
        .await;
    // Anna, Carla, Davide and Elena contain an "a"; Bruno does not.
    assert_eq!(data["users"]["totalCount"], 4);
    assert_eq!(field_of(&data["users"]["nodes"], "displayName"), ["Anna"]);
    assert_eq!(data["users"]["pageInfo"]["hasNextPage"], true);

    let error = app.error(USERS, json!({ "first": -1 })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
}

async fn create_team_with_members(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna", "lawyer").await;
    let bruno = create_named_user(&app, "bruno@studio.it", "Bruno", "trainee").await;
    let carla = create_named_user(&app, "carla@studio.it", "Carla", "staff").await;

    let data = app
        .data(
            CREATE_TEAM,
            json!({ "input": { "name": "  Contenzioso civile ", "description": "Cause civili", "memberIds": [anna, bruno, anna] } }),
        )
        .await;
    let team = &data["createTeam"]["team"];
    let team_id = team["id"].as_str().unwrap().to_owned();
    assert_eq!(team["name"], "Contenzioso civile");
    assert_eq!(team["description"], "Cause civili");
    assert_eq!(
        sorted_ids(&team["members"]),
        sorted(&[&anna, &bruno]),
        "a repeated member is added once"
    );

    // user.teams, both ways.
    let data = app.data(USER_TEAMS, json!({ "id": anna })).await;
    assert_eq!(
        data["node"]["teams"],
        json!([{ "id": team_id, "name": "Contenzioso civile" }])
    );
    let data = app.data(USER_TEAMS, json!({ "id": carla })).await;
    assert_eq!(data["node"]["teams"], json!([]));

    // A user in two teams lists both.
    let second = create_team(&app, "Lavoro", &[&anna, &carla]).await;
    let data = app.data(USER_TEAMS, json!({ "id": anna })).await;
    assert_eq!(
        sorted_ids(&data["node"]["teams"]),
        sorted(&[&team_id, &second])
    );

    let data = app
        .data(
            "query($text: String) { teams(text: $text) { totalCount nodes { name } } }",
            json!({ "text": "CONTENZ" }),
        )
        .await;
    assert_eq!(data["teams"]["totalCount"], 1);
    assert_eq!(data["teams"]["nodes"][0]["name"], "Contenzioso civile");
    let data = app
        .data("{ teams { totalCount nodes { name } } }", json!({}))
        .await;
    assert_eq!(
        field_of(&data["teams"]["nodes"], "name"),
        ["Contenzioso civile", "Lavoro"]
    );

    // A blank description is stored as none.
    let data = app
        .data(
            CREATE_TEAM,
            json!({ "input": { "name": "Segreteria", "description": "   " } }),
        )
        .await;
    assert_eq!(data["createTeam"]["team"]["description"], Value::Null);
    assert_eq!(data["createTeam"]["team"]["members"], json!([]));
}

async fn create_team_rejects_duplicate_name(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_team(&app, "Contenzioso", &[]).await;
    let error = app
        .error(CREATE_TEAM, json!({ "input": { "name": "CONTENZIOSO" } }))
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.name", "{error:#}");

    // Renaming another team onto the name is refused too; renaming a team to itself is not.
    let other = create_team(&app, "Lavoro", &[]).await;
    let error = app
        .error(
            UPDATE_TEAM,
            json!({ "input": { "id": other, "name": "contenzioso" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.name", "{error:#}");
    let data = app
        .data(
            UPDATE_TEAM,
            json!({ "input": { "id": other, "name": "LAVORO" } }),
        )
        .await;
    assert_eq!(data["updateTeam"]["team"]["name"], "LAVORO");

    // Letters beyond ASCII fold too.
    create_team(&app, "Èquipe penale", &[]).await;
    let error = app
        .error(CREATE_TEAM, json!({ "input": { "name": "èquipe PENALE" } }))
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.name", "{error:#}");

    let error = app
        .error(CREATE_TEAM, json!({ "input": { "name": "  " } }))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.name", "{error:#}");

    let data = app.data("{ teams { totalCount } }", json!({})).await;
    assert_eq!(data["teams"]["totalCount"], 3);
}

async fn create_team_rejects_unknown_members_atomically(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna", "lawyer").await;
    let gone = create_named_user(&app, "gone@studio.it", "Gone", "lawyer").await;
    app.data(DELETE_USER, json!({ "id": gone })).await;

    let error = app
        .error(
            CREATE_TEAM,
            json!({ "input": { "name": "Contenzioso", "memberIds": [anna, gone] } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(
        error["extensions"]["field"], "input.memberIds[1]",
        "{error:#}"
    );

    // A contact's ID is not a user's.
    let contact = create_person(&app, "Giulia", "Verdi", json!({})).await;
    let error = app
        .error(
            CREATE_TEAM,
            json!({ "input": { "name": "Contenzioso", "memberIds": [contact] } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    let field = error["extensions"]["field"].as_str().unwrap();
    assert!(field.starts_with("input.memberIds"), "{error:#}");

    // The failed creations left no team behind, so the name is still free.
    let data = app.data("{ teams { totalCount } }", json!({})).await;
    assert_eq!(data["teams"]["totalCount"], 0);
    let data = app
        .data(
            CREATE_TEAM,
            json!({ "input": { "name": "Contenzioso", "memberIds": [anna] } }),
        )
        .await;
    assert_eq!(
        sorted_ids(&data["createTeam"]["team"]["members"]),
        sorted(&[&anna])
    );
}

async fn update_team_replaces_membership_and_clears_description(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna", "lawyer").await;
    let bruno = create_named_user(&app, "bruno@studio.it", "Bruno", "lawyer").await;
    let carla = create_named_user(&app, "carla@studio.it", "Carla", "lawyer").await;
    let data = app
        .data(
            CREATE_TEAM,
            json!({ "input": { "name": "Contenzioso", "description": "Cause civili", "memberIds": [anna, bruno] } }),
        )
        .await;
    let team = data["createTeam"]["team"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // memberIds replaces the whole membership.
    let data = app
        .data(
            UPDATE_TEAM,
            json!({ "input": { "id": team, "memberIds": [bruno, carla] } }),
        )
        .await;
    let updated = &data["updateTeam"]["team"];
    assert_eq!(sorted_ids(&updated["members"]), sorted(&[&bruno, &carla]));
    assert_eq!(updated["description"], "Cause civili", "omitted: unchanged");
    assert_eq!(updated["name"], "Contenzioso");
    let data = app.data(USER_TEAMS, json!({ "id": anna })).await;
    assert_eq!(data["node"]["teams"], json!([]));
    let data = app.data(USER_TEAMS, json!({ "id": carla })).await;
    assert_eq!(sorted_ids(&data["node"]["teams"]), sorted(&[&team]));

    // Leaving memberIds out keeps the members; description null clears it.
    let data = app
        .data(
            UPDATE_TEAM,
            json!({ "input": { "id": team, "name": "Contenzioso civile", "description": null } }),
        )
        .await;
    let updated = &data["updateTeam"]["team"];
    assert_eq!(updated["name"], "Contenzioso civile");
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(sorted_ids(&updated["members"]), sorted(&[&bruno, &carla]));

    // Read back.
    let data = app.data(TEAM, json!({ "id": team })).await;
    assert_eq!(data["node"]["name"], "Contenzioso civile");
    assert_eq!(data["node"]["description"], Value::Null);
    assert_eq!(
        sorted_ids(&data["node"]["members"]),
        sorted(&[&bruno, &carla])
    );

    // An empty list empties the team.
    let data = app
        .data(
            UPDATE_TEAM,
            json!({ "input": { "id": team, "description": "Di nuovo", "memberIds": [] } }),
        )
        .await;
    assert_eq!(data["updateTeam"]["team"]["members"], json!([]));
    assert_eq!(data["updateTeam"]["team"]["description"], "Di nuovo");

    // An unknown member is refused and the membership is left as it was.
    app.data(
        UPDATE_TEAM,
        json!({ "input": { "id": team, "memberIds": [anna] } }),
    )
    .await;
    app.data(DELETE_USER, json!({ "id": carla })).await;
    let error = app
        .error(
            UPDATE_TEAM,
            json!({ "input": { "id": team, "name": "Altro nome", "memberIds": [bruno, carla] } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(
        error["extensions"]["field"], "input.memberIds[1]",
        "{error:#}"
    );
    let data = app.data(TEAM, json!({ "id": team })).await;
    assert_eq!(sorted_ids(&data["node"]["members"]), sorted(&[&anna]));
    assert_eq!(data["node"]["name"], "Contenzioso civile");
}

async fn add_and_remove_team_member_are_idempotent(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna", "lawyer").await;
    let bruno = create_named_user(&app, "bruno@studio.it", "Bruno", "lawyer").await;
    let team = create_team(&app, "Contenzioso", &[&bruno]).await;

    for _ in 0..2 {
        let data = app
            .data(ADD_MEMBER, json!({ "teamId": team, "userId": anna }))
            .await;
        assert_eq!(
            sorted_ids(&data["addTeamMember"]["team"]["members"]),
            sorted(&[&anna, &bruno])
        );
    }
    let data = app.data(USER_TEAMS, json!({ "id": anna })).await;
    assert_eq!(sorted_ids(&data["node"]["teams"]), sorted(&[&team]));

    for _ in 0..2 {
        let data = app
            .data(REMOVE_MEMBER, json!({ "teamId": team, "userId": anna }))
            .await;
        assert_eq!(
            sorted_ids(&data["removeTeamMember"]["team"]["members"]),
            sorted(&[&bruno])
        );
    }
    let data = app.data(USER_TEAMS, json!({ "id": anna })).await;
    assert_eq!(data["node"]["teams"], json!([]));
    let data = app.data(USER_TEAMS, json!({ "id": bruno })).await;
    assert_eq!(sorted_ids(&data["node"]["teams"]), sorted(&[&team]));

    // Arguments are checked: swapped IDs, unknown user, unknown team.
    let error = app
        .error(ADD_MEMBER, json!({ "teamId": anna, "userId": team }))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.teamId", "{error:#}");

    let gone = create_named_user(&app, "gone@studio.it", "Gone", "staff").await;
    app.data(DELETE_USER, json!({ "id": gone })).await;
    let error = app
        .error(ADD_MEMBER, json!({ "teamId": team, "userId": gone }))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.userId", "{error:#}");

    let other = create_team(&app, "Lavoro", &[]).await;
    app.data(DELETE_TEAM, json!({ "id": other })).await;
    let error = app
        .error(ADD_MEMBER, json!({ "teamId": other, "userId": anna }))
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
}

async fn delete_team_removes_it_everywhere(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_named_user(&app, "anna@studio.it", "Anna", "lawyer").await;
    let team = create_team(&app, "Contenzioso", &[&anna]).await;
    let kept = create_team(&app, "Lavoro", &[&anna]).await;

    let data = app.data(DELETE_TEAM, json!({ "id": team })).await;
    assert_eq!(data["deleteTeam"]["deletedId"], team.as_str());

    let data = app.data(TEAM, json!({ "id": team })).await;
    assert_eq!(data["node"], Value::Null);
    let data = app.data(USER_TEAMS, json!({ "id": anna })).await;
    assert_eq!(sorted_ids(&data["node"]["teams"]), sorted(&[&kept]));
    let data = app
        .data("{ teams { totalCount nodes { id } } }", json!({}))
        .await;
    assert_eq!(data["teams"]["totalCount"], 1);
    assert_eq!(data["teams"]["nodes"][0]["id"], kept.as_str());

    // The user stays; the name is free again.
    let data = app.data(USERS, json!({})).await;
    assert_eq!(data["users"]["totalCount"], 1);
    create_team(&app, "Contenzioso", &[]).await;

    let error = app.error(DELETE_TEAM, json!({ "id": team })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = app.error(DELETE_TEAM, json!({ "id": anna })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.id", "{error:#}");
}

on_both_backends!(
    create_user_normalises_email_and_role,
    create_user_accepts_every_built_in_role,
    create_user_rejects_unknown_role,
    create_user_reports_every_invalid_field,
    create_user_rejects_duplicate_email_case_insensitively,
    duplicate_email_check_folds_non_ascii_letters,
    update_user_changes_fields_and_deactivates,
    update_user_rejects_invalid_input,
    delete_user_keeps_their_matters,
    users_filter_by_text_and_role,
    users_paginate_in_name_order,
    create_team_with_members,
    create_team_rejects_duplicate_name,
    create_team_rejects_unknown_members_atomically,
    update_team_replaces_membership_and_clears_description,
    add_and_remove_team_member_are_idempotent,
    delete_team_removes_it_everywhere,
);
