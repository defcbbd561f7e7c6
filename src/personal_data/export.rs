//! The subject access export (Art. 15) and portability (Art. 20): everything the firm holds
//! about one person, as machine-readable JSON. It is driven by the personal-data catalogue:
//! every table naming contacts has a section under `data` (its declared heading), each row
//! with every column the catalogue exports, so a new table is in the export once it is in the
//! catalogue.
//!
//! Items that may carry other people's data (a matter's title naming the client in a
//! counterparty's export, a communication's summary) list those fields in `thirdPartyData`
//! (Art. 15(4) GDPR; art. 2-undecies Codice Privacy for data processed for defence in court),
//! so the DPO can withhold them; the redacted variant replaces their values with null.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use super::holds;
use crate::contacts;
use crate::db::schema::{access_log, access_log_subject_sets, purposes, suppressions};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::gdpr::catalogue::live::{self, literal, naming, quoted, ValueType};
use crate::gdpr::catalogue::{self, camel, Context, Export, TableRules};
use crate::gdpr::requests;
use crate::gdpr::{HashDomain, KeyedHasher};
use crate::ids::{self, NodeType};
use crate::validation::email_key;

/// Identifies the layout of the export for whoever reads it back.
const FORMAT: &str = "lexgate.subject-access-export/2";

/// Columns whose values are written as global IDs, as everywhere else in the API.
const NODE_COLUMNS: &[(&str, &str, NodeType)] = &[
    ("contacts", "id", NodeType::Contact),
    ("contacts", "responsible_user_id", NodeType::User),
    ("deadlines", "id", NodeType::Deadline),
    ("legal_holds", "id", NodeType::LegalHold),
    ("subject_requests", "id", NodeType::SubjectRequest),
    ("erasure_log", "request_id", NodeType::SubjectRequest),
    (
        "erasure_log",
        "retention_policy_id",
        NodeType::RetentionPolicy,
    ),
    ("consents", "id", NodeType::Consent),
    ("processing_grounds", "id", NodeType::ProcessingGround),
    ("processing_grounds", "consent_id", NodeType::Consent),
    ("processing_grounds", "assessment_id", NodeType::Assessment),
    ("objections", "id", NodeType::Objection),
    ("sync_review_items", "id", NodeType::SyncReviewItem),
    (
        "sync_review_items",
        "instance_id",
        NodeType::ConnectorInstance,
    ),
    ("sync_links", "instance_id", NodeType::ConnectorInstance),
    (
        "data_recipients",
        "instance_id",
        NodeType::ConnectorInstance,
    ),
    ("breach_subjects", "breach_id", NodeType::Breach),
];

/// Any `*_id` column naming a row of these kinds, in whichever table.
const NODE_REFERENCES: &[(&str, NodeType)] = &[
    ("matter_id", NodeType::Matter),
    ("communication_id", NodeType::Communication),
    ("person_id", NodeType::Contact),
    ("organization_id", NodeType::Contact),
];

fn node_type(table: &str, column: &str) -> Option<NodeType> {
    NODE_COLUMNS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, n)| *n)
        .or_else(|| {
            NODE_REFERENCES
                .iter()
                .find(|(c, _)| *c == column)
                .map(|(_, n)| *n)
        })
}

fn ts(t: NaiveDateTime) -> Value {
    Value::String(t.and_utc().to_rfc3339())
}

/// Reads rows for the export and renders their values.
struct Reader {
    types: HashMap<(String, String), ValueType>,
    /// Purpose IDs to their keys, which is how the export names purposes.
    purposes: HashMap<String, String>,
    used_purposes: BTreeSet<String>,
    redact: bool,
    third_party_items: usize,
}

impl Reader {
    fn value(&mut self, table: &TableRules, column: &str, text: Option<String>) -> Value {
        let Some(text) = text else {
            return Value::Null;
        };
        if column == "purpose_id" {
            let key = self.purposes.get(&text).cloned().unwrap_or(text);
            self.used_purposes.insert(key.clone());
            return Value::String(key);
        }
        if let Some(node) = node_type(table.table, column) {
            return Value::String(ids::encode(node, &text).to_string());
        }
        let value_type = self
            .types
            .get(&(table.table.to_owned(), column.to_owned()))
            .copied()
            .unwrap_or(ValueType::Text);
        if !table.is_personal(column) {
            if let Some(at) = timestamp(&text) {
                return ts(at);
            }
        }
        // Lists the application stores as JSON text read back as lists.
        if !table.is_personal(column) && (text.starts_with('[') || text.starts_with('{')) {
            if let Ok(parsed) = serde_json::from_str::<Value>(&text) {
                return parsed;
            }
        }
        value_type.json(text)
    }

    /// `columns` of `table`'s rows matching `filter`: each as a JSON object keyed by the
    /// columns' camelCase names, the fields holding third parties' data, and the raw row.
    fn objects(
        &mut self,
        conn: &mut AnyConnection,
        table: &TableRules,
        columns: &[&str],
        filter: &str,
    ) -> Result<Vec<Item>> {
        let rows = live::rows_where(conn, table, columns, filter)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut object = Map::new();
            let mut flagged = Vec::new();
            for (column, text) in columns.iter().zip(row.iter().cloned()) {
                let key = heading(table.table, column);
                let value = self.value(table, column, text);
                if table.third_party.contains(column) && !value.is_null() {
                    flagged.push(key.clone());
                    if self.redact {
                        object.insert(key, Value::Null);
                        continue;
                    }
                }
                object.insert(key, value);
            }
            out.push((object, flagged, row));
        }
        Ok(out)
    }

    /// The other rows a row's context names.
    fn context(
        &mut self,
        conn: &mut AnyConnection,
        ctx: &Context,
        key: Option<&str>,
        flagged: &mut Vec<String>,
    ) -> Result<Value> {
        let (Some(key), Some(other)) = (key, catalogue::find(ctx.table)) else {
            return Ok(Value::Null);
        };
        let filter = format!("{} = {}", quoted(ctx.key), literal(key));
        let rows = self.objects(conn, other, ctx.columns, &filter)?;
        let many = ctx.key != "id";
        let mut items = Vec::with_capacity(rows.len());
        for (object, fields, _) in rows {
            flagged.extend(fields.into_iter().map(|f| format!("{}.{f}", ctx.heading)));
            items.push(Value::Object(object));
        }
        Ok(if many {
            Value::Array(items)
        } else {
            items.into_iter().next().unwrap_or(Value::Null)
        })
    }

    /// One section: every row of `table` naming the subject, with its contexts.
    fn section(
        &mut self,
        conn: &mut AnyConnection,
        table: &TableRules,
        contact_id: &str,
    ) -> Result<Value> {
        let mut columns: Vec<&str> = table.exported().collect();
        // Context keys are read even where they are not shown.
        let extra: Vec<&str> = table
            .context
            .iter()
            .map(|c| c.column)
            .filter(|c| !columns.contains(c))
            .collect();
        columns.extend(&extra);
        let filter = naming(table.refers(), contact_id);
        let rows = self.objects(conn, table, &columns, &filter)?;
        let mut items = Vec::with_capacity(rows.len());
        for (mut object, mut flagged, raw) in rows {
            for hidden in &extra {
                object.remove(&heading(table.table, hidden));
            }
            for ctx in table.context {
                let at = columns.iter().position(|c| *c == ctx.column);
                let key = at.and_then(|i| raw[i].clone());
                // A link back to the subject itself says nothing new.
                if key.as_deref() == Some(contact_id) && ctx.table == "contacts" {
                    continue;
                }
                let mut value = self.context(conn, ctx, key.as_deref(), &mut flagged)?;
                // The row's own reference (a global ID) goes into what it names.
                if let (Some(id), Value::Object(named)) = (object.remove(ctx.heading), &mut value) {
                    named.insert("id".to_owned(), id);
                }
                object.insert(ctx.heading.to_owned(), value);
            }
            if !flagged.is_empty() {
                self.third_party_items += 1;
                object.insert("thirdPartyData".to_owned(), flagged.into());
            }
            items.push(Value::Object(object));
        }
        Ok(Value::Array(items))
    }
}

/// A row as the export writes it, the fields holding third parties' data, the raw values.
type Item = (Map<String, Value>, Vec<String>, Vec<Option<String>>);

/// The key a column is written under: camelCase, references named for what they name.
fn heading(table: &str, column: &str) -> String {
    let referenced =
        column == "purpose_id" || (column != "id" && node_type(table, column).is_some());
    camel(
        referenced
            .then(|| column.strip_suffix("_id"))
            .flatten()
            .unwrap_or(column),
    )
}

/// Timestamps as both backends write them as text, to RFC 3339 like the rest of the API.
fn timestamp(text: &str) -> Option<NaiveDateTime> {
    (text.len() >= 19 && text.as_bytes().get(10) == Some(&b' '))
        .then(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok())
        .flatten()
}

/// The export of `contact_id`, restricted contacts included; with `redact`, third parties'
/// data is withheld (the items still say which fields were).
pub fn subject_access_export(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact_id: &str,
    redact: bool,
) -> Result<Value> {
    let contact = contacts::get(conn, contact_id)?;
    let mut reader = Reader {
        types: live::value_types(conn)?,
        purposes: purposes::table
            .select((purposes::id, purposes::key))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect(),
        used_purposes: BTreeSet::new(),
        redact,
        third_party_items: 0,
    };
    let mut subject = Value::Null;
    let mut data = Map::new();
    let mut sections = Map::new();
    for table in catalogue::naming_contacts() {
        match table.export {
            Export::Subject => {
                let columns: Vec<&str> = ["id"].into_iter().chain(table.exported()).collect();
                let filter = naming(table.refers(), contact_id);
                let (object, _, _) = reader
                    .objects(conn, table, &columns, &filter)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::not_found("Contact", contact_id))?;
                subject = Value::Object(object);
            }
            Export::Section(heading) => {
                data.insert(heading.to_owned(), reader.section(conn, table, contact_id)?);
                sections.insert(
                    heading.to_owned(),
                    json!({ "table": table.table, "retentionCategory": format!("{:?}", table.retention) }),
                );
            }
            // The catalogue test refuses a table naming contacts without a heading.
            Export::Undeclared => {}
        }
    }

    let ids = [contact_id.to_owned()];
    let emails = contacts::emails_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    let phones = contacts::phones_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    let holds = holds::of_contact(conn, contact_id, requests::today())?;
    let purposes: Vec<String> = reader.used_purposes.iter().cloned().collect();
    Ok(json!({
        "format": FORMAT,
        "generatedAt": ts(crate::db::now()),
        "redacted": redact,
        "thirdPartyItems": reader.third_party_items,
        "subject": subject,
        "data": data,
        "sections": sections,
        "purposes": purposes,
        "recipients": data.get("recipients").cloned().unwrap_or(Value::Array(Vec::new())),
        "retention": {
            "contactCreatedAt": ts(contact.created_at),
            "policies": crate::personal_data::retention::applying_to(conn, contact_id)?,
            "holds": holds.reasons(),
        },
        "suppression": suppression_of(conn, hasher, &emails, &phones, &reader.purposes)?,
        "accessLogSummary": access_log_summary(conn, contact_id)?,
    }))
}

fn suppression_of(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    emails: &[crate::contacts::EmailRow],
    phones: &[crate::contacts::PhoneRow],
    purpose_keys: &HashMap<String, String>,
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
        let keys: Vec<String> = purposes
            .iter()
            .map(|p| match p {
                Some(p) => purpose_keys.get(p).cloned().unwrap_or_else(|| p.clone()),
                None => "all direct marketing".to_owned(),
            })
            .collect();
        out.push(json!({ "channel": channel, "value": value, "suppressed": !purposes.is_empty(), "purposes": keys }));
    }
    Ok(out.into())
}

/// A summary of the access-log entries that touched the person (the entries themselves are
/// the `accessLog` section): reads, writes, first and last, by which principals.
fn access_log_summary(conn: &mut AnyConnection, contact_id: &str) -> Result<Value> {
    let rows: Vec<(NaiveDateTime, String, String, String)> = access_log::table
        .inner_join(
            access_log_subject_sets::table
                .on(access_log_subject_sets::set_id.eq(access_log::subject_set)),
        )
        .filter(access_log_subject_sets::contact_id.eq(contact_id))
        .select((
            access_log::occurred_at,
            access_log::principal_kind,
            access_log::principal_id,
            access_log::action,
        ))
        .order_by(access_log::seq)
        .load(conn)?;
    let reads = rows.iter().filter(|r| r.3 == "read").count();
    let writes = rows.iter().filter(|r| r.3 == "write").count();
    let principals: BTreeSet<String> = rows.iter().map(|r| format!("{}:{}", r.1, r.2)).collect();
    Ok(json!({
        "reads": reads,
        "writes": writes,
        "first": rows.first().map(|r| ts(r.0)),
        "last": rows.last().map(|r| ts(r.0)),
        "principals": principals,
    }))
}

/// The export as pretty-printed JSON text (for the CLI).
pub fn to_text(export: &Value) -> Result<String> {
    serde_json::to_string_pretty(export)
        .map_err(|e| Error::Internal(format!("cannot render the export: {e}")))
}
