//! The subject access export (Art. 15) and portability (Art. 20): everything the firm holds
//! about one person, as machine-readable JSON. Personal rows are listed under `data` by the
//! table they come from, so a test can prove every table that refers to contacts is covered.

use std::collections::BTreeSet;

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use super::{erasure::ErasureLogRow, history, holds, requests};
use crate::contacts::{self, ContactRow};
use crate::db::schema::{
    access_log, access_log_subject_sets, affiliations, communication_participants, communications,
    consents, contact_sources, deadlines, erasure_log, matter_parties, matters, objections,
    processing_grounds, purposes, suppressions,
};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::gdpr::{HashDomain, KeyedHasher};
use crate::ids::{self, NodeType};
use crate::validation::email_key;

/// Identifies the layout of the export for whoever reads it back.
const FORMAT: &str = "lexgate.subject-access-export/1";

fn ts(t: NaiveDateTime) -> Value {
    Value::String(t.and_utc().to_rfc3339())
}

fn opt_ts(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, ts)
}

fn gid(node_type: NodeType, key: &str) -> Value {
    Value::String(ids::encode(node_type, key).to_string())
}

fn opt_gid(node_type: NodeType, key: Option<&str>) -> Value {
    key.map_or(Value::Null, |k| gid(node_type, k))
}

fn purpose_key(conn: &mut AnyConnection, purpose_id: &str) -> Result<String> {
    Ok(purposes::table
        .find(purpose_id)
        .select(purposes::key)
        .first(conn)
        .optional()?
        .unwrap_or_else(|| purpose_id.to_owned()))
}

/// The export of `contact_id`, restricted contacts included.
pub fn subject_access_export(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact_id: &str,
) -> Result<Value> {
    let contact = contacts::get(conn, contact_id)?;
    let mut data = Map::new();
    let mut used_purposes = BTreeSet::new();
    let ids = [contact_id.to_owned()];

    let emails = contacts::emails_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    let phones = contacts::phones_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    data.insert(
        "contact_emails".into(),
        emails
            .iter()
            .map(|e| json!({ "address": e.address, "label": e.label, "isPec": e.is_pec }))
            .collect(),
    );
    data.insert(
        "contact_phones".into(),
        phones
            .iter()
            .map(|p| json!({ "number": p.number, "label": p.label }))
            .collect(),
    );
    let addresses = contacts::addresses_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    data.insert(
        "contact_addresses".into(),
        addresses
            .iter()
            .map(|a| {
                json!({ "label": a.label, "street": a.street, "postalCode": a.postal_code,
                        "city": a.city, "province": a.province, "country": a.country })
            })
            .collect(),
    );
    let tags = contacts::tags_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    data.insert("contact_tags".into(), tags.into());
    data.insert("affiliations".into(), affiliations_of(conn, contact_id)?);
    data.insert("matter_parties".into(), matters_of(conn, contact_id)?);
    data.insert(
        "communication_participants".into(),
        communications_of(conn, contact_id)?,
    );
    data.insert("deadlines".into(), deadlines_of(conn, contact_id)?);
    data.insert("contact_sources".into(), sources_of(conn, contact_id)?);
    data.insert(
        "consents".into(),
        consents_of(conn, contact_id, &mut used_purposes)?,
    );
    data.insert(
        "processing_grounds".into(),
        grounds_of(conn, contact_id, &mut used_purposes)?,
    );
    data.insert(
        "objections".into(),
        objections_of(conn, contact_id, &mut used_purposes)?,
    );
    data.insert(
        "contact_changes".into(),
        history::all_of(conn, contact_id)?
            .into_iter()
            .map(|c| {
                json!({ "changedAt": ts(c.changed_at), "changedBy": c.changed_by, "field": c.field,
                        "oldValue": c.old_value, "newValue": c.new_value })
            })
            .collect(),
    );
    data.insert(
        "subject_requests".into(),
        requests::of_contact(conn, contact_id)?
            .into_iter()
            .map(|r| request_json(&r))
            .collect(),
    );
    data.insert(
        "legal_holds".into(),
        holds::list(conn, Some(contact_id), None, true)?
            .into_iter()
            .map(|h| {
                json!({ "id": gid(NodeType::LegalHold, &h.id), "matter": opt_gid(NodeType::Matter, h.matter_id.as_deref()),
                        "reason": h.reason, "legalBasis": h.legal_basis, "until": h.until_on,
                        "createdAt": ts(h.created_at), "releasedAt": opt_ts(h.released_at) })
            })
            .collect(),
    );
    data.insert("erasure_log".into(), erasures_of(conn, contact_id)?);
    data.insert("breach_subjects".into(), breaches_of(conn, contact_id)?);
    let (recipients, links, reviews) = connector_rows_of(conn, contact_id)?;
    data.insert("data_recipients".into(), recipients);
    data.insert("sync_links".into(), links);
    data.insert("sync_review_items".into(), reviews);
    let (access_entries, access_summary) = access_log_of(conn, contact_id)?;
    data.insert("access_log_subject_sets".into(), access_entries);

    let purposes: Vec<String> = used_purposes.into_iter().collect();
    let holds = holds::of_contact(conn, contact_id, requests::today())?;
    Ok(json!({
        "format": FORMAT,
        "generatedAt": ts(crate::db::now()),
        "subject": contact_json(&contact),
        "data": data,
        "purposes": purposes,
        "recipients": data.get("data_recipients").cloned().unwrap_or(Value::Array(Vec::new())),
        "retention": {
            "contactCreatedAt": ts(contact.created_at),
            "policies": crate::gdpr::retention::applying_to(conn, contact_id)?,
            "holds": holds.reasons(),
        },
        "suppression": suppression_of(conn, hasher, &emails, &phones)?,
        "accessLogSummary": access_summary,
    }))
}

fn contact_json(c: &ContactRow) -> Value {
    json!({
        "id": gid(NodeType::Contact, &c.id),
        "kind": c.kind,
        "category": c.category,
        "displayName": c.display_name,
        "givenName": c.given_name,
        "familyName": c.family_name,
        "organizationName": c.organization_name,
        "codiceFiscale": c.codice_fiscale,
        "partitaIva": c.partita_iva,
        "notes": c.notes,
        "responsibleUser": opt_gid(NodeType::User, c.responsible_user_id.as_deref()),
        "createdAt": ts(c.created_at),
        "updatedAt": ts(c.updated_at),
        "restriction": c.restricted_at.map(|at| json!({ "restrictedAt": ts(at), "reason": c.restriction_reason })),
    })
}

pub fn request_json(r: &requests::SubjectRequestRow) -> Value {
    json!({
        "id": gid(NodeType::SubjectRequest, &r.id), "kind": r.kind, "status": r.status,
        "receivedAt": ts(r.received_at), "channel": r.channel, "requesterName": r.requester_name,
        "requesterContact": r.requester_contact, "identityVerifiedAt": opt_ts(r.identity_verified_at),
        "identityMethod": r.identity_method, "dueOn": r.effective_due_on(),
        "extensionReason": r.extension_reason, "refusalReason": r.refusal_reason,
        "executedAt": opt_ts(r.executed_at), "notes": r.notes,
    })
}

fn affiliations_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    let rows: Vec<(String, String, Option<String>)> = affiliations::table
        .filter(
            affiliations::person_id
                .eq(contact_id)
                .or(affiliations::organization_id.eq(contact_id)),
        )
        .select((
            affiliations::person_id,
            affiliations::organization_id,
            affiliations::job_title,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(person, org, title)| {
            json!({ "person": gid(NodeType::Contact, &person), "organization": gid(NodeType::Contact, &org), "jobTitle": title })
        })
        .collect())
}

fn matters_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        String,
    );
    let rows: Vec<Row> = matter_parties::table
        .inner_join(matters::table)
        .filter(matter_parties::contact_id.eq(contact_id))
        .select((
            matters::id,
            matters::reference,
            matters::title,
            matters::status,
            matters::opened_on,
            matters::closed_on,
            matter_parties::role,
        ))
        .order_by(matters::reference)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, reference, title, status, opened, closed, role)| {
            let kept_until = closed.and_then(|c| c.checked_add_months(Months::new(120)));
            json!({ "matter": gid(NodeType::Matter, &id), "reference": reference, "title": title,
                    "status": status, "openedOn": opened, "closedOn": closed, "role": role,
                    "retainedUntil": kept_until })
        })
        .collect())
}

fn communications_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    type Row = (
        String,
        String,
        String,
        NaiveDateTime,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = communication_participants::table
        .inner_join(communications::table)
        .filter(communication_participants::contact_id.eq(contact_id))
        .select((
            communications::id,
            communications::channel,
            communications::direction,
            communications::occurred_at,
            communications::subject,
            communications::summary,
            communications::matter_id,
        ))
        .order_by(communications::occurred_at)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, channel, direction, at, subject, summary, matter)| {
            json!({ "communication": gid(NodeType::Communication, &id), "channel": channel,
                    "direction": direction, "occurredAt": ts(at), "subject": subject,
                    "summary": summary, "matter": opt_gid(NodeType::Matter, matter.as_deref()) })
        })
        .collect())
}

fn deadlines_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    let rows: Vec<(
        String,
        String,
        String,
        NaiveDateTime,
        String,
        Option<String>,
    )> = deadlines::table
        .filter(deadlines::contact_id.eq(contact_id))
        .select((
            deadlines::id,
            deadlines::title,
            deadlines::kind,
            deadlines::due_at,
            deadlines::status,
            deadlines::matter_id,
        ))
        .order_by(deadlines::due_at)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, title, kind, due, status, matter)| {
            json!({ "deadline": gid(NodeType::Deadline, &id), "title": title, "kind": kind,
                    "dueAt": ts(due), "status": status, "matter": opt_gid(NodeType::Matter, matter.as_deref()) })
        })
        .collect())
}

fn sources_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        NaiveDateTime,
        Option<String>,
    );
    let rows: Vec<Row> = contact_sources::table
        .filter(contact_sources::contact_id.eq(contact_id))
        .select((
            contact_sources::kind,
            contact_sources::detail,
            contact_sources::connector,
            contact_sources::external_id,
            contact_sources::acquired_at,
            contact_sources::acquired_by,
        ))
        .order_by(contact_sources::acquired_at)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(kind, detail, connector, external_id, at, by)| {
            json!({ "kind": kind, "detail": detail, "connector": connector,
                    "externalId": external_id, "acquiredAt": ts(at), "acquiredBy": by })
        })
        .collect())
}

fn consents_of(
    conn: &mut AnyConnection,
    contact_id: &str,
    used: &mut BTreeSet<String>,
) -> Result<Value> {
    type Row = (
        String,
        NaiveDateTime,
        String,
        String,
        String,
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows: Vec<Row> = consents::table
        .filter(consents::contact_id.eq(contact_id))
        .select((
            consents::purpose_id,
            consents::given_at,
            consents::method,
            consents::notice_version,
            consents::collected_by,
            consents::proof_reference,
            consents::double_opt_in_at,
            consents::withdrawn_at,
            consents::withdrawal_method,
        ))
        .order_by(consents::given_at)
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (purpose, given, method, notice, collected_by, proof, opt_in, withdrawn, how) in rows {
        let purpose = purpose_key(conn, &purpose)?;
        used.insert(purpose.clone());
        out.push(json!({ "purpose": purpose, "givenAt": ts(given), "method": method,
            "noticeVersion": notice, "collectedBy": collected_by, "proofReference": proof,
            "doubleOptInAt": opt_ts(opt_in), "withdrawnAt": opt_ts(withdrawn), "withdrawalMethod": how }));
    }
    Ok(out.into())
}

fn grounds_of(
    conn: &mut AnyConnection,
    contact_id: &str,
    used: &mut BTreeSet<String>,
) -> Result<Value> {
    type Row = (
        String,
        String,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows: Vec<Row> = processing_grounds::table
        .filter(processing_grounds::contact_id.eq(contact_id))
        .select((
            processing_grounds::purpose_id,
            processing_grounds::legal_basis,
            processing_grounds::note,
            processing_grounds::started_at,
            processing_grounds::ended_at,
            processing_grounds::end_reason,
        ))
        .order_by(processing_grounds::started_at)
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (purpose, basis, note, started, ended, end_reason) in rows {
        let purpose = purpose_key(conn, &purpose)?;
        used.insert(purpose.clone());
        out.push(
            json!({ "purpose": purpose, "legalBasis": basis, "note": note,
            "startedAt": ts(started), "endedAt": opt_ts(ended), "endReason": end_reason }),
        );
    }
    Ok(out.into())
}

fn objections_of(
    conn: &mut AnyConnection,
    contact_id: &str,
    used: &mut BTreeSet<String>,
) -> Result<Value> {
    let rows: Vec<(Option<String>, NaiveDateTime, String, Option<String>)> = objections::table
        .filter(objections::contact_id.eq(contact_id))
        .select((
            objections::purpose_id,
            objections::received_at,
            objections::method,
            objections::note,
        ))
        .order_by(objections::received_at)
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (purpose, received, method, note) in rows {
        let purpose = match purpose {
            Some(p) => {
                let key = purpose_key(conn, &p)?;
                used.insert(key.clone());
                Value::String(key)
            }
            None => Value::String("all direct marketing".to_owned()),
        };
        out.push(json!({ "purpose": purpose, "receivedAt": ts(received), "method": method, "note": note }));
    }
    Ok(out.into())
}

fn erasures_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    let rows: Vec<ErasureLogRow> = erasure_log::table
        .filter(erasure_log::contact_id.eq(contact_id))
        .order_by(erasure_log::executed_at)
        .select(ErasureLogRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|e| {
            let request = e
                .request_id
                .as_deref()
                .map(|r| gid(NodeType::SubjectRequest, r));
            let policy = e
                .retention_policy_id
                .as_deref()
                .map(|p| gid(NodeType::RetentionPolicy, p));
            json!({ "request": request, "retentionPolicy": policy, "executedAt": ts(e.executed_at),
                    "erased": ErasureLogRow::list(&e.erased_categories),
                    "kept": ErasureLogRow::list(&e.kept_categories),
                    "holdReasons": ErasureLogRow::list(&e.hold_reasons) })
        })
        .collect())
}

fn suppression_of(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    emails: &[crate::contacts::EmailRow],
    phones: &[crate::contacts::PhoneRow],
) -> Result<Value> {
    let wanted = emails
        .iter()
        .map(|e| {
            (
                "email",
                e.address.clone(),
                hasher.hash(HashDomain::Email, &email_key(&e.address)),
            )
        })
        .chain(phones.iter().map(|p| {
            (
                "phone",
                p.number.clone(),
                hasher.hash(HashDomain::Phone, &p.number),
            )
        }));
    let mut out = Vec::new();
    for (channel, value, hash) in wanted {
        let purposes: Vec<Option<String>> = suppressions::table
            .filter(suppressions::channel.eq(channel))
            .filter(suppressions::value_hash.eq(&hash))
            .select(suppressions::purpose_id)
            .load(conn)?;
        let mut keys = Vec::new();
        for purpose in &purposes {
            keys.push(match purpose {
                Some(p) => purpose_key(conn, p)?,
                None => "all direct marketing".to_owned(),
            });
        }
        out.push(json!({ "channel": channel, "value": value, "suppressed": !purposes.is_empty(), "purposes": keys }));
    }
    Ok(out.into())
}

/// Every access-log entry that touched the person, and a summary: reads, writes, first and
/// last, by which principals.
fn access_log_of(conn: &mut AnyConnection, contact_id: &str) -> Result<(Value, Value)> {
    type Row = (i64, NaiveDateTime, String, String, String, String, String);
    let rows: Vec<Row> = access_log::table
        .inner_join(
            access_log_subject_sets::table
                .on(access_log_subject_sets::set_id.eq(access_log::subject_set)),
        )
        .filter(access_log_subject_sets::contact_id.eq(contact_id))
        .select((
            access_log::seq,
            access_log::occurred_at,
            access_log::principal_kind,
            access_log::principal_id,
            access_log::role,
            access_log::action,
            access_log::fields,
        ))
        .order_by(access_log::seq)
        .load(conn)?;
    let reads = rows.iter().filter(|r| r.5 == "read").count();
    let writes = rows.iter().filter(|r| r.5 == "write").count();
    let principals: BTreeSet<String> = rows.iter().map(|r| format!("{}:{}", r.2, r.3)).collect();
    let summary = json!({
        "reads": reads,
        "writes": writes,
        "first": rows.first().map(|r| ts(r.1)),
        "last": rows.last().map(|r| ts(r.1)),
        "principals": principals,
    });
    let entries = rows
        .into_iter()
        .map(|(seq, at, kind, id, role, action, fields)| {
            json!({ "seq": seq, "occurredAt": ts(at), "principal": format!("{kind}:{id}"),
                    "role": role, "action": action,
                    "fields": fields.split(',').filter(|f| !f.is_empty()).collect::<Vec<_>>() })
        })
        .collect();
    Ok((entries, summary))
}

/// The export as pretty-printed JSON text (for the CLI).
pub fn to_text(export: &Value) -> Result<String> {
    serde_json::to_string_pretty(export)
        .map_err(|e| Error::Internal(format!("cannot render the export: {e}")))
}

/// The personal-data breaches that affected the person (Art. 34), with the fields touched.
fn breaches_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    use crate::db::schema::{breach_subjects, breaches};
    let rows: Vec<(String, chrono::NaiveDateTime, String, String)> = breach_subjects::table
        .inner_join(breaches::table)
        .filter(breach_subjects::contact_id.eq(contact_id))
        .select((
            breaches::id,
            breaches::detected_at,
            breaches::description,
            breach_subjects::fields,
        ))
        .load(conn)?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|(id, detected_at, description, fields)| {
                json!({ "breach": gid(NodeType::Breach, &id), "detectedAt": ts(detected_at),
                        "description": description,
                        "fields": serde_json::from_str::<Value>(&fields).unwrap_or(Value::String(fields)) })
            })
            .collect(),
    ))
}

/// What connected systems hold or received about the person: the pushes of their data
/// (recipients, Art. 15(1)(c)), the records linked to them, and review-queue items resolved
/// onto them.
fn connector_rows_of(conn: &mut AnyConnection, contact_id: &str) -> Result<(Value, Value, Value)> {
    use crate::db::schema::{connector_instances, data_recipients, sync_links, sync_review_items};
    let pushes: Vec<(String, String, Option<String>, chrono::NaiveDateTime)> =
        data_recipients::table
            .filter(data_recipients::contact_id.eq(contact_id))
            .order_by(data_recipients::disclosed_at)
            .select((
                data_recipients::recipient,
                data_recipients::fields,
                data_recipients::external_id,
                data_recipients::disclosed_at,
            ))
            .load(conn)?;
    let links: Vec<(String, String, Option<chrono::NaiveDateTime>)> = sync_links::table
        .inner_join(connector_instances::table)
        .filter(sync_links::contact_id.eq(contact_id))
        .select((
            connector_instances::name,
            sync_links::external_id,
            sync_links::deleted_at,
        ))
        .load(conn)?;
    let reviews: Vec<(String, String, Option<String>)> = sync_review_items::table
        .filter(sync_review_items::contact_id.eq(contact_id))
        .select((
            sync_review_items::external_id,
            sync_review_items::origin,
            sync_review_items::resolution,
        ))
        .load(conn)?;
    let field_list =
        |text: String| serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    Ok((
        Value::Array(
            pushes
                .into_iter()
                .map(|(recipient, fields, external_id, at)| {
                    json!({ "recipient": recipient, "fields": field_list(fields), "externalId": external_id, "disclosedAt": ts(at) })
                })
                .collect(),
        ),
        Value::Array(
            links
                .into_iter()
                .map(|(connector, external_id, deleted_at)| {
                    json!({ "connector": connector, "externalId": external_id, "deletedAt": opt_ts(deleted_at) })
                })
                .collect(),
        ),
        Value::Array(
            reviews
                .into_iter()
                .map(|(external_id, origin, resolution)| {
                    json!({ "externalId": external_id, "origin": origin, "resolution": resolution })
                })
                .collect(),
        ),
    ))
}
