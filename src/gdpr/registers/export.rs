//! The record of processing activities as a document: JSON for machines, Markdown for the
//! supervisory authority and the firm's files. Both say which optional personal fields data
//! minimisation keeps the firm from collecting.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::activities::{
    self, Activity, DataCategoryKind, PersonalDataCategory, PurposeRef, Transfer,
};
use crate::db::{now, text_enum, AnyConnection};
use crate::error::{Error, Result};

text_enum! {
    /// The format of the record-of-processing export.
    RegisterFormat {
        /// A JSON document, for tools.
        Json => "json",
        /// A Markdown document, for people and the authority.
        Markdown => "markdown",
    }
}

/// An optional contact field and whether the firm collects it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionalFieldStatus {
    pub field: &'static str,
    pub description: &'static str,
    pub collected: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ActivityDocument<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    purposes: &'a [PurposeRef],
    controller_contact: &'a str,
    joint_controller_contact: Option<&'a str>,
    representative_contact: Option<&'a str>,
    dpo_contact: Option<&'a str>,
    data_subject_categories: &'a [String],
    personal_data_categories: &'a [PersonalDataCategory],
    special_categories: bool,
    judicial_data: bool,
    recipient_categories: &'a [String],
    processors: &'a [String],
    third_country_transfers: &'a [Transfer],
    retention: &'a str,
    retention_months: Option<i32>,
    security_measures: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> From<&'a Activity> for ActivityDocument<'a> {
    fn from(a: &'a Activity) -> Self {
        ActivityDocument {
            id: &a.row.id,
            name: &a.row.name,
            description: a.row.description.as_deref(),
            purposes: &a.purposes,
            controller_contact: &a.row.controller_contact,
            joint_controller_contact: a.row.joint_controller_contact.as_deref(),
            representative_contact: a.row.representative_contact.as_deref(),
            dpo_contact: a.row.dpo_contact.as_deref(),
            data_subject_categories: &a.data_subject_categories,
            personal_data_categories: &a.personal_data_categories,
            special_categories: a.special_categories(),
            judicial_data: a.judicial_data(),
            recipient_categories: &a.recipient_categories,
            processors: &a.processors,
            third_country_transfers: &a.transfers,
            retention: &a.row.retention,
            retention_months: a.row.retention_months,
            security_measures: &a.row.security_measures,
            created_at: a.row.created_at,
            updated_at: a.row.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterDocument<'a> {
    title: &'static str,
    generated_at: NaiveDateTime,
    /// Data minimisation: the optional contact fields, collected or not.
    optional_contact_fields: Vec<OptionalFieldStatus>,
    activities: Vec<ActivityDocument<'a>>,
}

const TITLE: &str = "Record of processing activities (Art. 30 GDPR)";

/// The whole record in the format asked for.
pub fn export(
    conn: &mut AnyConnection,
    format: RegisterFormat,
    optional_contact_fields: Vec<OptionalFieldStatus>,
) -> Result<String> {
    let activities = activities::all(conn)?;
    let document = RegisterDocument {
        title: TITLE,
        generated_at: now(),
        optional_contact_fields,
        activities: activities.iter().map(ActivityDocument::from).collect(),
    };
    match format {
        RegisterFormat::Json => serde_json::to_string_pretty(&document)
            .map_err(|e| Error::Internal(format!("cannot write the register: {e}"))),
        RegisterFormat::Markdown => Ok(markdown(&document)),
    }
}

fn list_or_none(out: &mut String, items: impl IntoIterator<Item = String>) {
    let mut any = false;
    for item in items {
        out.push_str(&format!("- {}\n", one_line(&item)));
        any = true;
    }
    if !any {
        out.push_str("- none\n");
    }
    out.push('\n');
}

/// Text that stays on its Markdown line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn kind_label(kind: DataCategoryKind) -> &'static str {
    match kind {
        DataCategoryKind::Ordinary => "",
        DataCategoryKind::Special => " (special category, Art. 9)",
        DataCategoryKind::Judicial => " (criminal convictions and offences, Art. 10)",
    }
}

fn markdown(doc: &RegisterDocument<'_>) -> String {
    let mut out = format!(
        "# {}\n\nGenerated at {} UTC.\n\n## Data minimisation\n\n",
        doc.title,
        doc.generated_at.format("%Y-%m-%d %H:%M:%S")
    );
    list_or_none(
        &mut out,
        doc.optional_contact_fields.iter().map(|f| {
            let status = if f.collected {
                "collected"
            } else {
                "not collected (switched off by data minimisation)"
            };
            format!("`{}` ({}): {status}", f.field, f.description)
        }),
    );
    if doc.activities.is_empty() {
        out.push_str("No processing activities are recorded.\n");
    }
    for a in &doc.activities {
        activity_markdown(&mut out, a);
    }
    out
}

fn activity_markdown(out: &mut String, a: &ActivityDocument<'_>) {
    out.push_str(&format!("## {}\n\n", one_line(a.name)));
    if let Some(description) = a.description {
        out.push_str(&format!("{}\n\n", one_line(description)));
    }
    out.push_str("### Purposes\n\n");
    list_or_none(
        out,
        a.purposes
            .iter()
            .map(|p| format!("{} (`{}`)", p.name, p.key)),
    );
    out.push_str("### Controller and contacts\n\n");
    let contacts = [
        ("Controller", Some(a.controller_contact)),
        ("Joint controller", a.joint_controller_contact),
        ("Representative", a.representative_contact),
        ("Data protection officer", a.dpo_contact),
    ];
    list_or_none(
        out,
        contacts
            .iter()
            .filter_map(|(label, value)| value.map(|v| format!("{label}: {v}"))),
    );
    out.push_str("### Categories of data subjects\n\n");
    list_or_none(out, a.data_subject_categories.iter().cloned());
    out.push_str("### Categories of personal data\n\n");
    list_or_none(
        out,
        a.personal_data_categories
            .iter()
            .map(|c| format!("{}{}", c.name, kind_label(c.kind))),
    );
    out.push_str("### Recipients\n\n");
    list_or_none(
        out,
        a.recipient_categories
            .iter()
            .cloned()
            .chain(a.processors.iter().map(|p| format!("{p} (processor)"))),
    );
    out.push_str("### Transfers to third countries\n\n");
    list_or_none(
        out,
        a.third_country_transfers.iter().map(|t| {
            let detail = t
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            format!(
                "{} to {}, safeguard {}{detail}",
                t.country,
                t.recipient,
                t.safeguard.as_str()
            )
        }),
    );
    out.push_str("### Retention\n\n");
    let months = a
        .retention_months
        .map(|m| format!(" ({m} months)"))
        .unwrap_or_default();
    out.push_str(&format!("{}{months}\n\n", one_line(a.retention)));
    out.push_str("### Security measures\n\n");
    out.push_str(&format!("{}\n\n", one_line(a.security_measures)));
}
