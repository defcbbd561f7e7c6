//! The field policy and the catalogue agree on what is personal: every GraphQL field of a
//! type backed by a catalogue table that the policy classes personal maps to a personal column
//! (or to a table naming contacts), and every field mapping to a personal column is classed
//! personal (special categories as special). Differences are listed once, with why.

use std::collections::BTreeSet;

use super::{camel, find};
use crate::access_policy::policy::{DataClass, POLICY};

/// GraphQL object types backed by one catalogue table; fields whose camelCase name is a
/// column map to it; `fields` maps the others to a column of the table, `relations` to the
/// table they list.
struct Backed {
    type_name: &'static str,
    table: &'static str,
    fields: &'static [(&'static str, &'static str)],
    relations: &'static [(&'static str, &'static str)],
}

const BACKED: &[Backed] = &[
    Backed {
        type_name: "Contact",
        table: "contacts",
        fields: &[("restriction", "restriction_reason")],
        relations: &[
            ("emails", "contact_emails"),
            ("pec", "contact_emails"),
            ("phones", "contact_phones"),
            ("addresses", "contact_addresses"),
            ("tags", "contact_tags"),
            ("organizations", "affiliations"),
            ("members", "affiliations"),
            ("responsible", "users"),
            ("matters", "matter_parties"),
            ("communications", "communication_participants"),
            ("changeHistory", "contact_changes"),
            ("sources", "contact_sources"),
            ("processingGrounds", "processing_grounds"),
            ("consents", "consents"),
            ("objections", "objections"),
        ],
    },
    Backed {
        type_name: "ContactSource",
        table: "contact_sources",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "ProcessingGround",
        table: "processing_grounds",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "Consent",
        table: "consents",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "Objection",
        table: "objections",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "Affiliation",
        table: "affiliations",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "Matter",
        table: "matters",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "Communication",
        table: "communications",
        fields: &[],
        relations: &[("body", "communication_imports")],
    },
    Backed {
        type_name: "Document",
        table: "documents",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "Deadline",
        table: "deadlines",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "TimeEntry",
        table: "time_entries",
        fields: &[("date", "work_date")],
        relations: &[],
    },
    Backed {
        type_name: "Invoice",
        table: "invoices",
        fields: &[],
        relations: &[("lines", "invoice_lines"), ("payments", "invoice_payments")],
    },
    Backed {
        type_name: "InvoiceLine",
        table: "invoice_lines",
        fields: &[("date", "work_date")],
        relations: &[],
    },
    Backed {
        type_name: "SubjectRequest",
        table: "subject_requests",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "ContactChange",
        table: "contact_changes",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "LegalHold",
        table: "legal_holds",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "ErasureLogEntry",
        table: "erasure_log",
        fields: &[],
        relations: &[],
    },
    Backed {
        type_name: "User",
        table: "users",
        fields: &[],
        relations: &[],
    },
];

/// (type, field) where the two disagree on purpose or pending a decision, with why. The test
/// fails on any difference not listed here, and on a listed one that no longer differs.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "Deadline",
        "contact",
        "the link returns a Contact, whose fields the policy classes one by one",
    ),
    (
        "User",
        "displayName",
        "the firm's staff: pseudonymised in dumps, reading a colleague's name is not logged",
    ),
    (
        "Matter",
        "title",
        "titles can name the client; the catalogue pseudonymises and flags them as third-party \
         data, the policy does not yet log their reads",
    ),
    (
        "Deadline",
        "title",
        "free text the firm writes, which may name people; not access-logged",
    ),
    (
        "Deadline",
        "description",
        "free text the firm writes, which may name people; not access-logged",
    ),
    (
        "SubjectRequest",
        "extensionReason",
        "the firm's own reasons; pseudonymised because free text may name people",
    ),
    (
        "SubjectRequest",
        "refusalReason",
        "the firm's own reasons; pseudonymised because free text may name people",
    ),
    (
        "ProcessingGround",
        "endReason",
        "a reason the firm records; pseudonymised because free text may name people",
    ),
    (
        "ContactSource",
        "externalId",
        "another system's record ID: pseudonymised in dumps, shown to whoever sees the source",
    ),
    (
        "LegalHold",
        "reason",
        "the firm's reason for a hold; pseudonymised because free text may name people",
    ),
    (
        "ErasureLogEntry",
        "holdReasons",
        "the firm's reasons (matter references); pseudonymised because they may name people",
    ),
];

fn problems() -> Vec<String> {
    let mut problems = Vec::new();
    let mut differences = BTreeSet::new();
    for backed in BACKED {
        let Some(table) = find(backed.table) else {
            problems.push(format!(
                "{}: no catalogue table {}",
                backed.type_name, backed.table
            ));
            continue;
        };
        let fields: Vec<(&str, DataClass)> = POLICY
            .entries()
            .filter(|(t, _, _)| *t == backed.type_name)
            .map(|(_, f, rule)| (f, rule.class))
            .collect();
        if fields.is_empty() {
            problems.push(format!("the policy has no type {}", backed.type_name));
        }
        for (field, class) in fields {
            let personal_field = class != DataClass::Plain;
            if let Some((_, other)) = backed.relations.iter().find(|(f, _)| *f == field) {
                let target = find(other);
                let personal =
                    target.is_some_and(|t| t.names_contacts() || t.personal().next().is_some());
                if personal != personal_field {
                    problems.push(format!(
                        "{}.{field} lists {other}, which {} personal data, but the policy classes it {class:?}",
                        backed.type_name,
                        if personal { "holds" } else { "holds no" }
                    ));
                }
                continue;
            }
            let column = backed
                .fields
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, c)| (*c).to_owned())
                .or_else(|| {
                    table
                        .columns
                        .iter()
                        .map(|(c, _)| *c)
                        .find(|c| {
                            camel(c) == field || camel(c.strip_suffix("_id").unwrap_or(c)) == field
                        })
                        .map(str::to_owned)
                });
            let Some(column) = column else {
                if personal_field {
                    problems.push(format!(
                        "{}.{field} is personal in the policy but maps to no column of {} (map it in BACKED)",
                        backed.type_name, backed.table
                    ));
                }
                continue;
            };
            let personal_column = table.is_personal(&column);
            let special_column = table.is_special(&column);
            let agrees = personal_column == personal_field
                && special_column == (class == DataClass::Special);
            if !agrees {
                differences.insert((backed.type_name, field));
                if !KNOWN_DIFFERENCES
                    .iter()
                    .any(|(t, f, _)| *t == backed.type_name && *f == field)
                {
                    problems.push(format!(
                        "{}.{field} is {class:?} in the policy but {}.{column} is {} in the catalogue",
                        backed.type_name,
                        backed.table,
                        if special_column {
                            "special"
                        } else if personal_column {
                            "personal"
                        } else {
                            "not personal"
                        }
                    ));
                }
            }
        }
    }
    for (t, f, _) in KNOWN_DIFFERENCES {
        if !differences.contains(&(*t, *f)) {
            problems.push(format!(
                "{t}.{f} is listed as a difference but the two agree: drop it"
            ));
        }
    }
    problems
}

#[test]
fn the_policy_and_the_catalogue_agree_on_personal_fields() {
    let problems = problems();
    assert!(problems.is_empty(), "{problems:#?}");
}
