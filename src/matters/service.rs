//! Reading and changing matters; every change is recorded in the matter's history.

use std::collections::{HashMap, HashSet};

use async_graphql::MaybeUndefined;
use diesel::prelude::*;

use super::model::*;
use crate::access_policy::scope::{party_links, PartyContacts, PartyMatters};
use crate::access_policy::Scope;
use crate::contacts::{with_contact_columns, ContactColumns, ContactRecord};
use crate::db::schema::{
    contacts, matter_events, matter_parties, matter_team_members, matters, users,
};
use crate::db::{new_id, now, AnyConnection, Db};
use crate::directory;
use crate::directory::UserRow;
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{contains_pattern, group_by_key, lower, Page, SortDirection};
use crate::validation::{apply_change, non_blank};

/// Adds an entry to the matter's history (no acting user: a change made by the system).
pub fn record_event(
    conn: &mut AnyConnection,
    matter_id: &str,
    kind: &str,
    summary: String,
) -> Result<()> {
    diesel::insert_into(matter_events::table)
        .values(MatterEventRow {
            id: new_id(),
            matter_id: matter_id.to_owned(),
            occurred_at: now(),
            kind: kind.to_owned(),
            summary,
            actor_user_id: None,
        })
        .execute(conn)?;
    Ok(())
}

fn ensure_reference_free(
    conn: &mut AnyConnection,
    reference: &str,
    except: Option<&str>,
) -> Result<()> {
    let mut query = matters::table
        .filter(matters::reference.eq(reference.to_owned()))
        .select(matters::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(matters::id.ne(id.to_owned()));
    }
    if query.first::<String>(conn).optional()?.is_some() {
        return Err(Error::Conflict {
            field: Some("input.reference".to_owned()),
            message: format!("another matter has reference {reference}"),
        });
    }
    Ok(())
}

fn ensure_contacts_exist(conn: &mut AnyConnection, ids: &[String], field: &str) -> Result<()> {
    let found: HashSet<String> = crate::contacts::get_many(conn, ids)?.into_keys().collect();
    match ids.iter().position(|id| !found.contains(id)) {
        None => Ok(()),
        Some(i) => Err(Error::invalid(
            format!("{field}[{i}]"),
            "no contact with this ID",
        )),
    }
}

fn set_parties(
    conn: &mut AnyConnection,
    matter_id: &str,
    role: PartyRole,
    contacts: &[String],
) -> Result<()> {
    diesel::delete(
        matter_parties::table
            .filter(matter_parties::matter_id.eq(matter_id))
            .filter(matter_parties::role.eq(role.as_str())),
    )
    .execute(conn)?;
    for contact in contacts.iter().collect::<HashSet<_>>() {
        diesel::insert_into(matter_parties::table)
            .values((
                matter_parties::matter_id.eq(matter_id),
                matter_parties::contact_id.eq(contact),
                matter_parties::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn check_dates(v: &mut Validator, row: &MatterRow) {
    if let (Some(opened), Some(closed)) = (row.opened_on, row.closed_on) {
        if closed < opened {
            v.add("input.closedOn", "a matter cannot close before it opens");
        }
    }
}

pub fn create(conn: &mut AnyConnection, input: CreateMatterInput) -> Result<MatterRow> {
    let mut v = Validator::new();
    let reference = v.required("input.reference", &input.reference);
    let title = v.required("input.title", &input.title);
    let practice_area = v.required("input.practiceArea", &input.practice_area);
    let responsible = input.responsible_user_id.as_ref().and_then(|id| {
        v.check(
            "input.responsibleUserId",
            ids::decode(NodeType::User, id, "input.responsibleUserId"),
        )
    });
    let clients = v
        .check(
            "input.clientIds",
            ids::decode_all(NodeType::Contact, &input.client_ids, "input.clientIds"),
        )
        .unwrap_or_default();
    if input.client_ids.is_empty() {
        v.add("input.clientIds", "a matter needs at least one client");
    }
    let counterparties = v
        .check(
            "input.counterpartyIds",
            ids::decode_all(
                NodeType::Contact,
                &input.counterparty_ids,
                "input.counterpartyIds",
            ),
        )
        .unwrap_or_default();
    if let Some(i) = counterparties.iter().position(|c| clients.contains(c)) {
        v.add(
            format!("input.counterpartyIds[{i}]"),
            "a contact cannot be both client and counterparty",
        );
    }
    let team: Vec<(String, Option<String>)> = input
        .team
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let field = format!("input.team[{i}].userId");
            let user = v.check(&field, ids::decode(NodeType::User, &m.user_id, &field))?;
            Some((user, non_blank(m.role.clone())))
        })
        .collect();
    let status = input.status;
    let today = now().date();
    let timestamp = now();
    let row = MatterRow {
        id: new_id(),
        reference,
        title,
        practice_area,
        status: status.as_str().to_owned(),
        description: non_blank(input.description),
        responsible_user_id: responsible,
        opened_on: Some(input.opened_on.unwrap_or(today)),
        closed_on: matches!(status, MatterStatus::Closed | MatterStatus::Archived).then_some(today),
        created_at: timestamp,
        updated_at: timestamp,
        criminal_proceedings_notes: non_blank(input.criminal_proceedings_notes),
        health_details: non_blank(input.health_details),
    };
    check_dates(&mut v, &row);
    v.finish()?;

    ensure_reference_free(conn, &row.reference, None)?;
    if let Some(user) = &row.responsible_user_id {
        directory::ensure_users_exist(conn, std::slice::from_ref(user), "input.responsibleUserId")?;
    }
    ensure_contacts_exist(conn, &clients, "input.clientIds")?;
    ensure_contacts_exist(conn, &counterparties, "input.counterpartyIds")?;
    let team_users: Vec<String> = team.iter().map(|t| t.0.clone()).collect();
    directory::ensure_users_exist(conn, &team_users, "input.team")?;

    diesel::insert_into(matters::table)
        .values(&row)
        .execute(conn)?;
    set_parties(conn, &row.id, PartyRole::Client, &clients)?;
    set_parties(conn, &row.id, PartyRole::Counterparty, &counterparties)?;
    let mut seen = HashSet::new();
    for (user, role) in team {
        if seen.insert(user.clone()) {
            diesel::insert_into(matter_team_members::table)
                .values((
                    matter_team_members::matter_id.eq(&row.id),
                    matter_team_members::user_id.eq(user),
                    matter_team_members::role.eq(role),
                ))
                .execute(conn)?;
        }
    }
    record_event(
        conn,
        &row.id,
        "created",
        format!("Matter {} opened", row.reference),
    )?;
    Ok(row)
}

pub fn update(conn: &mut AnyConnection, input: UpdateMatterInput) -> Result<MatterRow> {
    let id = ids::decode(NodeType::Matter, &input.id, "input.id")?;
    let current = get(conn, &id)?;
    let mut row = current.clone();
    let mut v = Validator::new();
    if let Some(reference) = &input.reference {
        row.reference = v.required("input.reference", reference);
    }
    if let Some(title) = &input.title {
        row.title = v.required("input.title", title);
    }
    if let Some(area) = &input.practice_area {
        row.practice_area = v.required("input.practiceArea", area);
    }
    if let Some(status) = input.status {
        row.status = status.as_str().to_owned();
        if matches!(status, MatterStatus::Closed | MatterStatus::Archived)
            && row.closed_on.is_none()
        {
            row.closed_on = Some(now().date());
        }
    }
    row.description = non_blank(apply_change(row.description.take(), input.description));
    row.criminal_proceedings_notes = non_blank(apply_change(
        row.criminal_proceedings_notes.take(),
        input.criminal_proceedings_notes,
    ));
    row.health_details = non_blank(apply_change(
        row.health_details.take(),
        input.health_details,
    ));
    match &input.responsible_user_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.responsible_user_id = None,
        MaybeUndefined::Value(user) => {
            row.responsible_user_id = v.check(
                "input.responsibleUserId",
                ids::decode(NodeType::User, user, "input.responsibleUserId"),
            )
        }
    }
    row.opened_on = apply_change(row.opened_on, input.opened_on);
    row.closed_on = apply_change(row.closed_on, input.closed_on);
    let clients = input.client_ids.as_ref().and_then(|c| {
        if c.is_empty() {
            v.add("input.clientIds", "a matter needs at least one client");
        }
        v.check(
            "input.clientIds",
            ids::decode_all(NodeType::Contact, c, "input.clientIds"),
        )
    });
    let counterparties = input.counterparty_ids.as_ref().and_then(|c| {
        v.check(
            "input.counterpartyIds",
            ids::decode_all(NodeType::Contact, c, "input.counterpartyIds"),
        )
    });
    check_dates(&mut v, &row);
    v.finish()?;

    ensure_reference_free(conn, &row.reference, Some(&id))?;
    if let Some(user) = &row.responsible_user_id {
        directory::ensure_users_exist(conn, std::slice::from_ref(user), "input.responsibleUserId")?;
    }
    let final_clients = match &clients {
        Some(c) => c.clone(),
        None => parties_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.1 == PartyRole::Client.as_str())
            .map(|p| p.0)
            .collect(),
    };
    if let Some(counterparties) = &counterparties {
        if let Some(i) = counterparties
            .iter()
            .position(|c| final_clients.contains(c))
        {
            return Err(Error::invalid(
                format!("input.counterpartyIds[{i}]"),
                "a contact cannot be both client and counterparty",
            ));
        }
    } else if let Some(clients) = &clients {
        // New clients must not be among the counterparties the matter keeps.
        let current_counterparties: HashSet<String> = parties_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.1 == PartyRole::Counterparty.as_str())
            .map(|p| p.0)
            .collect();
        if let Some(i) = clients
            .iter()
            .position(|c| current_counterparties.contains(c))
        {
            return Err(Error::invalid(
                format!("input.clientIds[{i}]"),
                "a contact cannot be both client and counterparty",
            ));
        }
    }
    row.updated_at = now();
    diesel::update(matters::table.find(&id))
        .set(&row)
        .execute(conn)?;
    if let Some(clients) = &clients {
        ensure_contacts_exist(conn, clients, "input.clientIds")?;
        set_parties(conn, &id, PartyRole::Client, clients)?;
        record_event(conn, &id, "clients_changed", "Clients changed".to_owned())?;
    }
    if let Some(counterparties) = &counterparties {
        ensure_contacts_exist(conn, counterparties, "input.counterpartyIds")?;
        set_parties(conn, &id, PartyRole::Counterparty, counterparties)?;
        record_event(
            conn,
            &id,
            "counterparties_changed",
            "Counterparties changed".to_owned(),
        )?;
    }
    if row.status != current.status {
        record_event(
            conn,
            &id,
            "status_changed",
            format!("Status changed from {} to {}", current.status, row.status),
        )?;
    }
    let changed = changed_fields(&current, &row);
    if !changed.is_empty() {
        record_event(
            conn,
            &id,
            "updated",
            format!("Changed: {}", changed.join(", ")),
        )?;
    }
    Ok(row)
}

fn changed_fields(before: &MatterRow, after: &MatterRow) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.reference != after.reference {
        fields.push("reference");
    }
    if before.title != after.title {
        fields.push("title");
    }
    if before.practice_area != after.practice_area {
        fields.push("practice area");
    }
    if before.description != after.description {
        fields.push("description");
    }
    // Named, never quoted: the history is read more widely than the data itself.
    if before.criminal_proceedings_notes != after.criminal_proceedings_notes
        || before.health_details != after.health_details
    {
        fields.push("special-category notes");
    }
    if before.responsible_user_id != after.responsible_user_id {
        fields.push("responsible lawyer");
    }
    if before.opened_on != after.opened_on || before.closed_on != after.closed_on {
        fields.push("dates");
    }
    fields
}

/// Archives a matter: it stays on record with its history but leaves active lists.
pub fn archive(conn: &mut AnyConnection, id: &str) -> Result<MatterRow> {
    let mut row = get(conn, id)?;
    if row.status == MatterStatus::Archived.as_str() {
        return Ok(row);
    }
    let previous = std::mem::replace(&mut row.status, MatterStatus::Archived.as_str().to_owned());
    row.closed_on = row.closed_on.or(Some(now().date()));
    row.updated_at = now();
    diesel::update(matters::table.find(id))
        .set(&row)
        .execute(conn)?;
    record_event(
        conn,
        id,
        "status_changed",
        format!("Status changed from {previous} to archived"),
    )?;
    Ok(row)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    match diesel::delete(matters::table.find(id)).execute(conn)? {
        0 => Err(Error::not_found("Matter", id)),
        _ => Ok(()),
    }
}

/// Adds a user to the matter's team, or changes their role on it.
pub fn add_team_member(
    conn: &mut AnyConnection,
    input: MatterTeamMemberInput,
) -> Result<MatterRow> {
    let matter_id = ids::decode(NodeType::Matter, &input.matter_id, "input.matterId")?;
    let user_id = ids::decode(NodeType::User, &input.user_id, "input.userId")?;
    let row = get(conn, &matter_id)?;
    let user = directory::get_user(conn, &user_id)
        .map_err(|e| e.as_bad_reference("input.userId", "no user with this ID"))?;
    let role = non_blank(input.role);
    let existing = matter_team_members::table
        .find((&matter_id, &user_id))
        .select(matter_team_members::user_id)
        .first::<String>(conn)
        .optional()?;
    if existing.is_some() {
        diesel::update(matter_team_members::table.find((&matter_id, &user_id)))
            .set(matter_team_members::role.eq(&role))
            .execute(conn)?;
    } else {
        diesel::insert_into(matter_team_members::table)
            .values((
                matter_team_members::matter_id.eq(&matter_id),
                matter_team_members::user_id.eq(&user_id),
                matter_team_members::role.eq(&role),
            ))
            .execute(conn)?;
        record_event(
            conn,
            &matter_id,
            "team_member_added",
            format!("{} joined the team", user.display_name),
        )?;
    }
    Ok(row)
}

pub fn remove_team_member(
    conn: &mut AnyConnection,
    input: MatterTeamMemberInput,
) -> Result<MatterRow> {
    let matter_id = ids::decode(NodeType::Matter, &input.matter_id, "input.matterId")?;
    let user_id = ids::decode(NodeType::User, &input.user_id, "input.userId")?;
    let row = get(conn, &matter_id)?;
    let removed =
        diesel::delete(matter_team_members::table.find((&matter_id, &user_id))).execute(conn)?;
    if removed == 0 {
        return Err(Error::invalid(
            "input.userId",
            "this user is not on the matter's team",
        ));
    }
    let name = directory::get_user(conn, &user_id)
        .map(|u| u.display_name)
        .unwrap_or_else(|_| "A user".to_owned());
    record_event(
        conn,
        &matter_id,
        "team_member_removed",
        format!("{name} left the team"),
    )?;
    Ok(row)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<MatterRow> {
    matters::table
        .find(id)
        .select(MatterRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Matter", id))
}

pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, MatterRow>> {
    Ok(matters::table
        .filter(matters::id.eq_any(ids))
        .select(MatterRow::as_select())
        .load::<MatterRow>(conn)?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect())
}

/// The matters of `ids`, each with whether `scope` lets the caller see it: one statement for
/// rows other rows refer to, which the caller is shown or told are withheld.
pub fn get_many_seen(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, (MatterRow, bool)>> {
    let rows: Vec<(MatterRow, bool)> = matters::table
        .filter(matters::id.eq_any(ids))
        .select((
            MatterRow::as_select(),
            scope.sees_matters::<matters::table>(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, seen)| (row.id.clone(), (row, seen)))
        .collect())
}

/// A matter filter with IDs decoded.
#[derive(Debug, Clone, Default)]
pub struct MatterQuery {
    filter: MatterFilter,
    contact_id: Option<String>,
    responsible_user_id: Option<String>,
    team_member_id: Option<String>,
}

impl MatterQuery {
    pub fn new(filter: MatterFilter) -> Result<MatterQuery> {
        let decode = |id: &Option<async_graphql::ID>, t, field| {
            id.as_ref().map(|id| ids::decode(t, id, field)).transpose()
        };
        Ok(MatterQuery {
            contact_id: decode(&filter.contact_id, NodeType::Contact, "filter.contactId")?,
            responsible_user_id: decode(
                &filter.responsible_user_id,
                NodeType::User,
                "filter.responsibleUserId",
            )?,
            team_member_id: decode(
                &filter.team_member_id,
                NodeType::User,
                "filter.teamMemberId",
            )?,
            filter,
        })
    }

    fn boxed(&self, scope: &Scope) -> matters::BoxedQuery<'static, Db> {
        let f = &self.filter;
        let mut query = matters::table.into_boxed();
        if let Some(visible) = scope.matters() {
            query = query.filter(visible);
        }
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = contains_pattern(&text.to_lowercase());
            query = query.filter(
                lower(matters::reference)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(matters::title).like(pattern).escape('\\')),
            );
        }
        if let Some(statuses) = &f.statuses {
            query = query.filter(
                matters::status.eq_any(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(areas) = &f.practice_areas {
            query = query.filter(matters::practice_area.eq_any(areas.clone()));
        }
        if let Some(contact) = &self.contact_id {
            let involved = matter_parties::table
                .filter(matter_parties::contact_id.eq(contact.clone()))
                .select(matter_parties::matter_id);
            query = query.filter(matters::id.eq_any(involved));
        }
        if let Some(user) = &self.responsible_user_id {
            query = query.filter(matters::responsible_user_id.eq(user.clone()));
        }
        if let Some(user) = &self.team_member_id {
            let staffed = matter_team_members::table
                .filter(matter_team_members::user_id.eq(user.clone()))
                .select(matter_team_members::matter_id);
            query = query.filter(matters::id.eq_any(staffed));
        }
        if let Some(from) = f.opened_from {
            query = query.filter(matters::opened_on.ge(from));
        }
        if let Some(to) = f.opened_to {
            query = query.filter(matters::opened_on.le(to));
        }
        query
    }
}

pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    query: &MatterQuery,
    order: MatterOrder,
    page: Page,
) -> Result<Vec<MatterRow>> {
    let q = query.boxed(scope);
    let q = match (order.field, order.direction) {
        (MatterOrderField::Reference, SortDirection::Asc) => q.order_by(matters::reference.asc()),
        (MatterOrderField::Reference, SortDirection::Desc) => q.order_by(matters::reference.desc()),
        (MatterOrderField::Title, SortDirection::Asc) => q.order_by(matters::title.asc()),
        (MatterOrderField::Title, SortDirection::Desc) => q.order_by(matters::title.desc()),
        (MatterOrderField::OpenedOn, SortDirection::Asc) => q.order_by(matters::opened_on.asc()),
        (MatterOrderField::OpenedOn, SortDirection::Desc) => q.order_by(matters::opened_on.desc()),
        (MatterOrderField::UpdatedAt, SortDirection::Asc) => q.order_by(matters::updated_at.asc()),
        (MatterOrderField::UpdatedAt, SortDirection::Desc) => {
            q.order_by(matters::updated_at.desc())
        }
    };
    Ok(q.then_order_by(matters::id.asc())
        .offset(page.offset)
        .limit(page.limit)
        .select(MatterRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, scope: &Scope, query: &MatterQuery) -> Result<i64> {
    Ok(query.boxed(scope).count().get_result(conn)?)
}

/// (contact ID, role) pairs per matter.
pub fn parties_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>> {
    let rows: Vec<(String, String, String)> = matter_parties::table
        .filter(matter_parties::matter_id.eq_any(ids))
        .order_by((
            matter_parties::matter_id,
            matter_parties::role,
            matter_parties::contact_id,
        ))
        .select((
            matter_parties::matter_id,
            matter_parties::contact_id,
            matter_parties::role,
        ))
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.0.clone())
        .into_iter()
        .map(|(matter, rows)| (matter, rows.into_iter().map(|r| (r.1, r.2)).collect()))
        .collect())
}

/// The matters each contact is a party to, with their rows, by matter ID: one statement
/// joining the parties to the matters, which also says which matters `scope` keeps.
pub fn matters_of_contacts(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<PartyMatter>>> {
    let rows: Vec<(String, String, MatterRow, bool)> = matters::table
        .inner_join(matter_parties::table)
        .filter(matter_parties::contact_id.eq_any(ids))
        .order_by((matter_parties::contact_id, matter_parties::matter_id))
        .select((
            matter_parties::contact_id,
            matter_parties::role,
            MatterRow::as_select(),
            scope.sees_matters::<PartyMatters>(),
        ))
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.0.clone())
        .into_iter()
        .map(|(contact, rows)| {
            let matters = rows
                .into_iter()
                .map(|(_, role, matter, visible)| PartyMatter {
                    role,
                    matter,
                    visible,
                })
                .collect();
            (contact, matters)
        })
        .collect())
}

/// The parties of each matter with their contacts, by role then contact ID: one statement
/// joining the parties to the contacts, which also says which contacts `scope` keeps.
pub fn parties_with_contacts(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
    columns: ContactColumns,
) -> Result<HashMap<String, Vec<PartyContact>>> {
    let matter_id = party_links.field(matter_parties::matter_id);
    let contact_id = party_links.field(matter_parties::contact_id);
    let role = party_links.field(matter_parties::role);
    let rows: Vec<(String, String, ContactRecord, bool)> = with_contact_columns!(columns, Row => contacts::table
        .inner_join(party_links.on(contact_id.eq(contacts::id)))
        .filter(matter_id.eq_any(ids))
        .order_by((matter_id, role, contact_id))
        .select((
            matter_id,
            role,
            Row::as_select(),
            scope.sees_contacts::<PartyContacts>(),
        ))
        .load::<(String, String, Row, bool)>(conn)?
        .into_iter()
        .map(|(matter, role, contact, visible)| (matter, role, contact.into(), visible))
        .collect());
    Ok(group_by_key(rows, |r| r.0.clone())
        .into_iter()
        .map(|(matter, rows)| {
            let parties = rows
                .into_iter()
                .map(|(_, role, contact, visible)| PartyContact {
                    role,
                    contact,
                    visible,
                })
                .collect();
            (matter, parties)
        })
        .collect())
}

/// The team of each matter with the users' rows, by user ID, in one statement.
pub fn team_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<MatterTeamMember>>> {
    let rows: Vec<(String, Option<String>, UserRow)> = users::table
        .inner_join(matter_team_members::table)
        .filter(matter_team_members::matter_id.eq_any(ids))
        .order_by((matter_team_members::matter_id, matter_team_members::user_id))
        .select((
            matter_team_members::matter_id,
            matter_team_members::role,
            UserRow::as_select(),
        ))
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.0.clone())
        .into_iter()
        .map(|(matter, rows)| {
            let members = rows
                .into_iter()
                .map(|(_, role, user)| MatterTeamMember { user, role })
                .collect();
            (matter, members)
        })
        .collect())
}
