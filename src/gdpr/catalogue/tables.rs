//! The catalogue's entries: every table of the database, what each column holds and what the
//! access export, erasure, merge, retention and the anonymised export do with it (see the
//! module above for what each declaration means). A table that names contacts and lacks a
//! declaration fails the catalogue's tests, which name the table and what is missing.

use super::{table, Context, Erasure, Export, Held, MatterRef, Merge, Retention, Rule, TableRules};
use crate::gdpr::anonymized_export::Kind;

/// Tables left out whole, and why.
pub const OMITTED_TABLES: &[(&str, &str)] = &[
    ("instance_keys", "the instance's secret keys"),
    (
        "oauth_pending",
        "authorisations in progress: hashed states and sealed PKCE verifiers",
    ),
    (
        "__diesel_schema_migrations",
        "migration bookkeeping, not data",
    ),
];

const K: Rule = Rule::Keep;
const OMIT: Rule = Rule::Omit;
const NAME: Rule = Rule::Pseudonym(Kind::Name);
const EMAIL: Rule = Rule::Pseudonym(Kind::Email);
const TEXT: Rule = Rule::Pseudonym(Kind::Text);

pub const TABLES: &[TableRules] = &[
    table(
        "users",
        &[
            ("id", K),
            ("email", EMAIL),
            ("display_name", NAME),
            ("role", K),
            ("active", K),
            ("created_at", K),
            ("updated_at", K),
            ("password_hash", OMIT),
        ],
        &[],
    )
    .retention(Retention::Firm),
    table(
        "sessions",
        &[
            ("id", K),
            ("user_id", K),
            ("refresh_token_hash", OMIT),
            ("created_at", K),
            ("expires_at", K),
            ("revoked_at", K),
        ],
        &[],
    ),
    table(
        "retired_refresh_tokens",
        &[("token_hash", OMIT), ("session_id", K), ("retired_at", K)],
        &[],
    ),
    table(
        "api_keys",
        &[
            ("id", K),
            ("name", K),
            ("role", K),
            ("prefix", OMIT),
            ("key_hash", OMIT),
            ("created_by", K),
            ("created_at", K),
            ("expires_at", K),
            ("revoked_at", K),
            ("last_used_at", K),
        ],
        &[],
    ),
    table(
        "login_failures",
        &[
            ("id", K),
            ("email", EMAIL),
            ("address", Rule::Pseudonym(Kind::IpAddress)),
            ("occurred_at", K),
        ],
        &[],
    )
    .retention(Retention::Accountability),
    table(
        "teams",
        &[
            ("id", K),
            ("name", K),
            ("description", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    ),
    table("team_members", &[("team_id", K), ("user_id", K)], &[]),
    table(
        "contacts",
        &[
            ("id", K),
            ("kind", K),
            ("given_name", NAME),
            ("family_name", NAME),
            ("organization_name", NAME),
            ("display_name", NAME),
            ("sort_name", NAME),
            ("category", K),
            ("codice_fiscale", Rule::Pseudonym(Kind::TaxCode)),
            ("partita_iva", Rule::Pseudonym(Kind::VatNumber)),
            ("notes", TEXT),
            ("responsible_user_id", K),
            ("created_at", K),
            ("updated_at", K),
            ("restricted_at", K),
            ("restriction_reason", TEXT),
            ("birth_date", Rule::Pseudonym(Kind::Date)),
            ("personal_interests", TEXT),
            ("family_details", TEXT),
        ],
        &["id"],
    )
    .special(&[])
    .erasure(Erasure::Subject, Held::AsFull)
    // The case file needs the identity: who the client or counterparty was.
    .hold_keeps(&[
        "given_name",
        "family_name",
        "organization_name",
        "display_name",
        "sort_name",
        "codice_fiscale",
        "partita_iva",
        // Why the remainder is restricted (Art. 18).
        "restriction_reason",
    ])
    .export(Export::Subject)
    .merge(Merge::Subject)
    .retention(Retention::Relationship),
    table(
        "contact_emails",
        &[
            ("id", K),
            ("contact_id", K),
            ("position", K),
            ("address", EMAIL),
            ("address_key", EMAIL),
            ("label", K),
            ("is_pec", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("emails"))
    .export_skip(&["id", "position"])
    .merge(Merge::ByHand)
    .retention(Retention::Relationship),
    table(
        "contact_phones",
        &[
            ("id", K),
            ("contact_id", K),
            ("position", K),
            ("number", Rule::Pseudonym(Kind::Phone)),
            ("label", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("phones"))
    .export_skip(&["id", "position"])
    .merge(Merge::ByHand)
    .retention(Retention::Relationship),
    table(
        "contact_addresses",
        &[
            ("id", K),
            ("contact_id", K),
            ("position", K),
            ("label", K),
            ("street", Rule::Pseudonym(Kind::Street)),
            ("postal_code", Rule::Pseudonym(Kind::PostalCode)),
            ("city", Rule::Pseudonym(Kind::City)),
            ("province", K),
            ("country", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("addresses"))
    .export_skip(&["id", "position"])
    .merge(Merge::ByHand)
    .retention(Retention::Relationship),
    table(
        "contact_tags",
        &[("contact_id", K), ("tag", K)],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("tags"))
    .merge(Merge::ByHand)
    .retention(Retention::Relationship),
    table(
        "affiliations",
        &[
            ("id", K),
            ("person_id", K),
            ("organization_id", K),
            ("job_title", TEXT),
        ],
        &["person_id", "organization_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("affiliations"))
    .export_skip(&["id"])
    .context(&[
        Context {
            column: "person_id",
            table: "contacts",
            key: "id",
            heading: "person",
            columns: &["display_name"],
        },
        Context {
            column: "organization_id",
            table: "contacts",
            key: "id",
            heading: "organization",
            columns: &["display_name"],
        },
    ])
    .merge(Merge::ByHand)
    .retention(Retention::Relationship),
    table(
        "matters",
        &[
            ("id", K),
            ("reference", K),
            ("title", TEXT),
            ("practice_area", K),
            ("status", K),
            ("description", TEXT),
            ("responsible_user_id", K),
            ("opened_on", K),
            ("closed_on", K),
            ("created_at", K),
            ("updated_at", K),
            ("criminal_proceedings_notes", TEXT),
            ("health_details", TEXT),
            ("retention_applied_at", K),
        ],
        &[],
    )
    .matter(MatterRef::Column("id"))
    .special(&["criminal_proceedings_notes", "health_details"])
    // A matter is about its client and its counterparties alike.
    .third_party(&[
        "title",
        "description",
        "criminal_proceedings_notes",
        "health_details",
    ])
    .retention(Retention::MatterFile),
    table(
        "matter_parties",
        &[("matter_id", K), ("contact_id", K), ("role", K)],
        &["contact_id"],
    )
    .matter(MatterRef::Column("matter_id"))
    .erasure(Erasure::Delete, Held::KeepHeldMatters)
    .export(Export::Section("matters"))
    .context(&[Context {
        column: "matter_id",
        table: "matters",
        key: "id",
        heading: "matter",
        columns: &[
            "reference",
            "title",
            "practice_area",
            "status",
            "description",
            "opened_on",
            "closed_on",
            "criminal_proceedings_notes",
            "health_details",
        ],
    }])
    .merge(Merge::ByHand)
    .retention(Retention::MatterFile),
    table(
        "matter_team_members",
        &[("matter_id", K), ("user_id", K), ("role", K)],
        &[],
    ),
    table(
        "matter_events",
        &[
            ("id", K),
            ("matter_id", K),
            ("occurred_at", K),
            ("kind", K),
            ("summary", TEXT),
            ("actor_user_id", K),
        ],
        &[],
    )
    .retention(Retention::MatterFile),
    table(
        "communications",
        &[
            ("id", K),
            ("channel", K),
            ("direction", K),
            ("occurred_at", K),
            ("subject", TEXT),
            ("summary", TEXT),
            ("matter_id", K),
            ("author_user_id", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .matter(MatterRef::Column("matter_id"))
    // What was said with several people, or about others.
    .third_party(&["subject", "summary"])
    .retention(Retention::MatterFile),
    table(
        "communication_participants",
        &[("communication_id", K), ("contact_id", K)],
        &["contact_id"],
    )
    .matter(MatterRef::Via {
        column: "communication_id",
        table: "communications",
        matter: "matter_id",
    })
    .erasure(Erasure::Delete, Held::KeepHeldMatters)
    .export(Export::Section("communications"))
    .context(&[Context {
        column: "communication_id",
        table: "communications",
        key: "id",
        heading: "communication",
        columns: &[
            "channel",
            "direction",
            "occurred_at",
            "subject",
            "summary",
            "matter_id",
        ],
    }])
    .merge(Merge::ByHand)
    .retention(Retention::MatterFile),
    // Imported mail (issue 15, migration 2026-12-06-000501).
    table(
        "communication_imports",
        &[
            ("communication_id", K),
            // Message-IDs often carry a sender's host or address.
            ("message_id", Rule::Pseudonym(Kind::Opaque)),
            ("instance_id", K),
            ("body", TEXT),
            ("imported_at", K),
        ],
        &[],
    )
    // Part of the communication it belongs to: kept as long as the matter file.
    .retention(Retention::MatterFile),
    table(
        "communication_attachments",
        &[
            ("id", K),
            ("communication_id", K),
            ("position", K),
            ("name", TEXT),
            ("content_type", K),
            ("size_bytes", K),
            // A content hash would confirm a guess of the document.
            ("sha256", OMIT),
        ],
        &[],
    )
    // Part of the communication it belongs to: kept as long as the matter file.
    .retention(Retention::MatterFile),
    table(
        "sync_message_links",
        &[
            ("instance_id", K),
            ("external_id", Rule::Pseudonym(Kind::Opaque)),
            ("communication_id", K),
            ("seen_generation", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    // Part of the communication it belongs to: kept as long as the matter file.
    .retention(Retention::MatterFile),
    table(
        "deadlines",
        &[
            ("id", K),
            ("title", TEXT),
            ("kind", K),
            ("description", TEXT),
            ("due_at", K),
            ("status", K),
            ("completed_at", K),
            ("matter_id", K),
            ("contact_id", Rule::ContactLink),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .links(&["contact_id"])
    .matter(MatterRef::Column("matter_id"))
    .third_party(&["title", "description"])
    .erasure(Erasure::Unlink, Held::UnlinkUnlessHeldMatter)
    .export(Export::Section("deadlines"))
    .merge(Merge::Move)
    .retention(Retention::MatterFile),
    // Case-file documents (issue 17, migration 2026-12-08-000401): metadata only.
    table(
        "documents",
        &[
            ("id", K),
            ("matter_id", K),
            // File names and paths often name the parties.
            ("title", TEXT),
            ("href", TEXT),
            ("content_type", K),
            ("etag", K),
            ("size_bytes", K),
            // A content hash would confirm a guess of the document.
            ("sha256", OMIT),
            ("created_by", NAME),
            ("modified_by", NAME),
            ("created_at", K),
            ("modified_at", K),
            ("instance_id", K),
            ("external_id", TEXT),
            ("status", K),
            ("deleted_at", K),
            ("moved_from", TEXT),
            ("moved_at", K),
            ("seen_generation", K),
            ("imported_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .matter(MatterRef::Column("matter_id"))
    .third_party(&["title", "href", "created_by", "modified_by", "moved_from"])
    .retention(Retention::MatterFile),
    table(
        "time_entries",
        &[
            ("id", K),
            ("matter_id", K),
            ("user_id", K),
            ("work_date", K),
            ("minutes", K),
            ("task_code", K),
            ("activity_code", K),
            ("narrative", TEXT),
            ("billable", K),
            ("rate_cents", K),
            ("invoice_id", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .matter(MatterRef::Column("matter_id"))
    .retention(Retention::MatterFile),
    // Invoices keep the client's details as invoiced: ten years of accounting records
    // (art. 2220 c.c.), which hold an erasure of the client until they run out.
    table(
        "invoices",
        &[
            ("id", K),
            ("kind", K),
            ("status", K),
            ("fiscal_year", K),
            ("number", K),
            ("client_contact_id", Rule::ContactLink),
            ("client_name", NAME),
            ("client_codice_fiscale", Rule::Pseudonym(Kind::TaxCode)),
            ("client_partita_iva", Rule::Pseudonym(Kind::VatNumber)),
            ("client_street", Rule::Pseudonym(Kind::Street)),
            ("client_postal_code", Rule::Pseudonym(Kind::PostalCode)),
            ("client_city", Rule::Pseudonym(Kind::City)),
            ("client_province", K),
            ("client_country", K),
            ("recipient_code", K),
            ("recipient_pec", EMAIL),
            ("issue_date", K),
            ("due_date", K),
            ("net_cents", K),
            ("cassa_rate_bp", K),
            ("cassa_cents", K),
            ("vat_rate_bp", K),
            ("vat_cents", K),
            ("withholding_rate_bp", K),
            ("withholding_cents", K),
            ("paid_cents", K),
            ("notes", TEXT),
            ("created_by", K),
            ("paid_at", K),
            ("cancelled_at", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .links(&["client_contact_id"])
    .erasure(Erasure::ClearPersonal, Held::KeepHoldColumns)
    .hold_keeps(&[
        "client_contact_id",
        "client_name",
        "client_codice_fiscale",
        "client_partita_iva",
        "client_street",
        "client_postal_code",
        "client_city",
        "recipient_pec",
        "notes",
    ])
    .export(Export::Section("invoices"))
    .export_skip(&["created_by"])
    .merge(Merge::Move)
    .retention(Retention::Accounting),
    table(
        "invoice_matters",
        &[("invoice_id", K), ("matter_id", K)],
        &[],
    ),
    table(
        "invoice_lines",
        &[
            ("id", K),
            ("invoice_id", K),
            ("position", K),
            ("time_entry_id", K),
            ("matter_id", K),
            ("user_id", K),
            ("work_date", K),
            ("description", TEXT),
            ("task_code", K),
            ("activity_code", K),
            ("minutes", K),
            ("rate_cents", K),
            ("amount_cents", K),
        ],
        &[],
    )
    .matter(MatterRef::Column("matter_id"))
    .retention(Retention::Accounting),
    // An invoice's identifiers in other systems: the seller (the firm) and the number.
    table(
        "invoice_external_ids",
        &[
            ("source", K),
            ("external_id", K),
            ("invoice_id", K),
            ("created_at", K),
        ],
        &[],
    ),
    table(
        "invoice_payments",
        &[
            ("id", K),
            ("invoice_id", K),
            ("amount_cents", K),
            ("paid_on", K),
            ("method", K),
            ("reference", K),
            ("recorded_by", K),
            ("created_at", K),
        ],
        &[],
    ),
    table(
        "deadline_reminders",
        &[("deadline_id", K), ("minutes_before", K), ("remind_at", K)],
        &[],
    ),
    table(
        "deadline_user_assignees",
        &[("deadline_id", K), ("user_id", K)],
        &[],
    ),
    table(
        "deadline_team_assignees",
        &[("deadline_id", K), ("team_id", K)],
        &[],
    ),
    table(
        "campaigns",
        &[
            ("id", K),
            ("name", K),
            ("purpose", K),
            ("status", K),
            ("description", K),
            // A stored filter's search text can be a person's name.
            ("audience_filter", TEXT),
            ("scheduled_at", K),
            ("created_at", K),
            ("updated_at", K),
            ("analogous_services", K),
        ],
        &[],
    )
    .retention(Retention::Firm),
    table(
        "roles",
        &[
            ("name", K),
            ("description", K),
            ("base_role", K),
            ("denied_fields", K),
            ("built_in", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    ),
    table(
        "access_log",
        &[
            ("seq", K),
            ("occurred_at", K),
            ("principal_kind", K),
            ("principal_id", K),
            ("role", K),
            ("operation_name", K),
            ("client_address", Rule::Pseudonym(Kind::IpAddress)),
            ("user_agent", Rule::Pseudonym(Kind::UserAgent)),
            ("action", K),
            ("fields", K),
            ("subject_count", K),
            // The chain hashes cover the original addresses and agents: they would let a
            // reader check guesses of them.
            ("prev_hash", OMIT),
            ("hash", OMIT),
            // A digest of the entry's contact ids, which `access_log_subject_sets` holds.
            ("subject_set", K),
        ],
        &[],
    )
    .retention(Retention::Accountability),
    table(
        "access_log_subject_sets",
        &[("set_id", K), ("contact_id", K)],
        &["contact_id"],
    )
    .erasure(Erasure::Keep, Held::AsFull)
    .export(Export::Section("accessLog"))
    .context(&[Context {
        column: "set_id",
        table: "access_log",
        key: "subject_set",
        heading: "entries",
        columns: &[
            "seq",
            "occurred_at",
            "principal_kind",
            "principal_id",
            "role",
            "operation_name",
            "action",
            "fields",
        ],
    }])
    // An entry names everyone it touched at once: the record stays as it was.
    .merge(Merge::Keep)
    .retention(Retention::Accountability),
    table(
        "access_log_head",
        &[("id", K), ("seq", K), ("hash", OMIT)],
        &[],
    ),
    table(
        "purposes",
        &[
            ("id", K),
            ("key", K),
            ("name", K),
            ("description", K),
            ("marketing", K),
            ("built_in", K),
            ("created_at", K),
            ("updated_at", K),
            ("profiling", K),
        ],
        &[],
    ),
    table(
        "contact_sources",
        &[
            ("id", K),
            ("contact_id", K),
            ("kind", K),
            ("detail", TEXT),
            ("connector", K),
            ("external_id", Rule::Pseudonym(Kind::Opaque)),
            ("acquired_at", K),
            ("acquired_by", K),
            ("recorded_at", K),
            ("recorded_by", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("sources"))
    .export_skip(&["id"])
    .merge(Merge::Move)
    .retention(Retention::Evidence),
    table(
        "assessments",
        &[
            ("id", K),
            ("kind", K),
            ("title", K),
            ("outcome", K),
            ("summary", TEXT),
            ("assessed_on", K),
            ("owner_id", K),
            ("review_on", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .retention(Retention::Firm),
    table(
        "assessment_purposes",
        &[("assessment_id", K), ("purpose_id", K)],
        &[],
    ),
    table(
        "consents",
        &[
            ("id", K),
            ("contact_id", K),
            ("purpose_id", K),
            ("given_at", K),
            ("method", K),
            ("notice_version", K),
            ("collected_by", TEXT),
            ("proof_reference", TEXT),
            ("double_opt_in_at", K),
            ("withdrawn_at", K),
            ("withdrawal_method", K),
            ("recorded_at", K),
            ("recorded_by", K),
            ("double_opt_in_requested_at", K),
            // The confirming click's evidence: the person's address and browser.
            (
                "double_opt_in_client_address",
                Rule::Pseudonym(Kind::Opaque),
            ),
            ("double_opt_in_user_agent", TEXT),
            ("lifts_suppression", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("consents"))
    .merge(Merge::Move)
    .retention(Retention::Evidence),
    table(
        "processing_grounds",
        &[
            ("id", K),
            ("contact_id", K),
            ("purpose_id", K),
            ("legal_basis", K),
            ("consent_id", K),
            ("assessment_id", K),
            ("note", TEXT),
            ("started_at", K),
            ("ended_at", K),
            ("end_reason", TEXT),
            ("recorded_at", K),
            ("recorded_by", K),
            ("basis_evidence", TEXT),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::KeepHoldColumns)
    // The matter-handling basis continues; why the others ended is its evidence.
    .hold_keeps(&["end_reason"])
    .export(Export::Section("processingGrounds"))
    .merge(Merge::Move)
    .retention(Retention::Evidence),
    table(
        "objections",
        &[
            ("id", K),
            ("contact_id", K),
            ("purpose_id", K),
            ("received_at", K),
            ("method", K),
            ("note", TEXT),
            ("recorded_at", K),
            ("recorded_by", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("objections"))
    .merge(Merge::Move)
    .retention(Retention::Evidence),
    table(
        "suppressions",
        &[
            ("id", K),
            ("channel", K),
            ("value_hash", Rule::Pseudonym(Kind::Opaque)),
            ("purpose_id", K),
            ("reason", TEXT),
            ("created_at", K),
            ("created_by", K),
        ],
        &[],
    )
    .retention(Retention::Evidence),
    table(
        "processing_activities",
        &[
            ("id", K),
            ("name", K),
            ("description", K),
            ("controller_contact", TEXT),
            ("joint_controller_contact", TEXT),
            ("representative_contact", TEXT),
            ("dpo_contact", TEXT),
            ("data_subject_categories", K),
            ("personal_data_categories", K),
            ("recipient_categories", K),
            ("processors", K),
            ("transfers", K),
            ("retention", K),
            ("retention_months", K),
            ("security_measures", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .retention(Retention::Firm),
    table(
        "processing_activity_purposes",
        &[("activity_id", K), ("purpose_id", K)],
        &[],
    ),
    table(
        "breaches",
        &[
            ("id", K),
            ("detected_at", K),
            ("natures", K),
            ("description", TEXT),
            ("subject_categories", K),
            ("approximate_subjects", K),
            ("record_categories", K),
            ("approximate_records", K),
            ("likely_consequences", TEXT),
            ("measures", TEXT),
            ("authority_notification_required", K),
            ("no_notification_reason", TEXT),
            ("authority_notified_at", K),
            ("subjects_notification_required", K),
            ("subjects_notified_at", K),
            ("dpo_notes", TEXT),
            ("closed_at", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .third_party(&[
        "description",
        "likely_consequences",
        "measures",
        "dpo_notes",
    ])
    .retention(Retention::Accountability),
    table(
        "breach_subjects",
        &[("breach_id", K), ("contact_id", K), ("fields", K)],
        &["contact_id"],
    )
    .erasure(Erasure::Keep, Held::AsFull)
    .export(Export::Section("breaches"))
    .context(&[Context {
        column: "breach_id",
        table: "breaches",
        key: "id",
        heading: "breach",
        columns: &[
            "detected_at",
            "natures",
            "description",
            "likely_consequences",
            "measures",
        ],
    }])
    .merge(Merge::Keep)
    .retention(Retention::Accountability),
    table(
        "subject_requests",
        &[
            ("id", K),
            ("kind", K),
            ("status", K),
            ("contact_id", K),
            ("received_at", K),
            ("channel", K),
            ("requester_name", NAME),
            ("requester_contact", TEXT),
            ("identity_verified_at", K),
            ("identity_verified_by", K),
            ("identity_method", TEXT),
            ("due_on", K),
            ("extended_due_on", K),
            ("extension_reason", TEXT),
            ("refusal_reason", TEXT),
            ("executed_at", K),
            ("notes", TEXT),
            ("handled_by", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::ClearPersonal, Held::AsFull)
    .export(Export::Section("subjectRequests"))
    .merge(Merge::ByHand)
    .retention(Retention::Accountability),
    table(
        "contact_changes",
        &[
            ("id", K),
            ("contact_id", K),
            ("changed_at", K),
            ("changed_by", K),
            ("field", K),
            ("old_value", TEXT),
            ("new_value", TEXT),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::ClearPersonal, Held::AsFull)
    .export(Export::Section("changeHistory"))
    .export_skip(&["id"])
    .merge(Merge::ByHand)
    .retention(Retention::Accountability),
    table(
        "legal_holds",
        &[
            ("id", K),
            ("contact_id", K),
            ("matter_id", K),
            ("reason", TEXT),
            ("legal_basis", K),
            ("until_on", K),
            ("created_by", K),
            ("created_at", K),
            ("released_at", K),
            ("released_by", K),
        ],
        &["contact_id"],
    )
    .matter(MatterRef::Column("matter_id"))
    .third_party(&["reason"])
    .erasure(Erasure::Delete, Held::KeepHoldColumns)
    // A hold's reason is what keeps the rest: it stays while the hold does.
    .hold_keeps(&["reason"])
    .export(Export::Section("legalHolds"))
    .merge(Merge::Move)
    .retention(Retention::Accountability),
    table(
        "erasure_log",
        &[
            ("id", K),
            ("request_id", K),
            ("retention_policy_id", K),
            ("contact_id", K),
            ("executed_at", K),
            ("executed_by", K),
            ("contact_deleted", K),
            ("erased_categories", K),
            ("kept_categories", K),
            ("hold_reasons", TEXT),
        ],
        &[],
    )
    .links(&["contact_id"])
    .erasure(Erasure::Keep, Held::AsFull)
    .export(Export::Section("erasures"))
    .merge(Merge::Keep)
    .retention(Retention::Accountability),
    table(
        "tombstones",
        &[
            ("id", K),
            ("kind", K),
            ("value_hash", Rule::Pseudonym(Kind::Opaque)),
            ("connector", K),
            ("request_id", K),
            ("erased_at", K),
        ],
        &[],
    )
    .retention(Retention::Accountability),
    table(
        "retention_policies",
        &[
            ("id", K),
            ("name", K),
            ("category", K),
            ("purpose_id", K),
            ("months", K),
            ("renew_on_contact", K),
            ("description", K),
            ("active", K),
            ("created_at", K),
            ("updated_at", K),
            ("purpose_category", K),
        ],
        &[],
    ),
    table(
        "retention_runs",
        &[
            ("id", K),
            ("started_at", K),
            ("finished_at", K),
            ("dry_run", K),
            ("triggered_by", K),
            ("grounds_ended", K),
            ("contacts_erased", K),
            ("contacts_partly_kept", K),
            ("matters_anonymised", K),
        ],
        &[],
    ),
    table(
        "connector_instances",
        &[
            ("id", K),
            ("name", K),
            ("kind", K),
            ("base_url", K),
            ("settings", K),
            ("credentials", OMIT),
            ("webhook_secret", OMIT),
            ("provenance", K),
            ("schedule_minutes", K),
            ("enabled", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    ),
    table(
        "sync_cursors",
        &[
            ("instance_id", K),
            ("stream", K),
            ("cursor", K),
            ("generation", K),
            ("full_sync", K),
            ("updated_at", K),
        ],
        &[],
    ),
    table(
        "sync_links",
        &[
            ("instance_id", K),
            ("external_id", Rule::Pseudonym(Kind::Opaque)),
            ("contact_id", K),
            ("seen_generation", K),
            ("deleted_at", K),
            ("created_at", K),
            ("updated_at", K),
            ("record_hash", Rule::Omit),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Unlink, Held::AsFull)
    .export(Export::Section("connectorLinks"))
    .merge(Merge::Move)
    .retention(Retention::Connector),
    table(
        "sync_runs",
        &[
            ("id", K),
            ("instance_id", K),
            ("trigger", K),
            ("holder", K),
            ("status", K),
            ("full_sync", K),
            ("started_at", K),
            ("finished_at", K),
            ("created", K),
            ("updated", K),
            ("linked", K),
            ("deleted", K),
            ("skipped", K),
            ("review", K),
            ("failed", K),
            ("errors", K),
            ("pushed", K),
            ("push_removed", K),
            ("push_conflicts", K),
        ],
        &[],
    ),
    // What lexgate left in a calendar for a deadline: the provider's href and version and a
    // digest, no personal data (the deadline's own text stays in `deadlines`).
    table(
        "deadline_pushes",
        &[
            ("instance_id", K),
            ("deadline_id", K),
            ("external_id", K),
            ("uid", K),
            ("etag", K),
            ("digest", K),
            ("outcome", K),
            ("pushed_at", K),
        ],
        &[],
    ),
    // What lexgate sent a practice-management system for a time entry: ids, a digest and a
    // time, no personal data (the entry's narrative stays in `time_entries`).
    table(
        "time_entry_pushes",
        &[
            ("instance_id", K),
            ("time_entry_id", K),
            ("external_id", K),
            ("digest", K),
            ("pushed_at", K),
        ],
        &[],
    ),
    // A matter's case-file folder still to make (or made) in a document store: ids, times and
    // the store's error message, no personal data (the matter's reference and title stay in
    // `matters`).
    table(
        "matter_folder_requests",
        &[
            ("instance_id", K),
            ("matter_id", K),
            ("requested_at", K),
            ("attempts", K),
            ("last_error", K),
            ("claimed_by", K),
            ("not_before", K),
            ("made_at", K),
        ],
        &[],
    ),
    // The webhooks kept at a provider: ids, status, times and the provider's error, no
    // personal data; the handshake's secret (sealed) and the hash of the URL's token are never
    // exported.
    table(
        "connector_webhooks",
        &[
            ("instance_id", K),
            ("model", K),
            ("remote_id", K),
            ("status", K),
            ("secret", OMIT),
            ("token_hash", OMIT),
            ("expires_at", K),
            ("attempts", K),
            ("last_error", K),
            ("claimed_by", K),
            ("not_before", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    ),
    // Which billing-system record each imported invoice is: ids and sync bookkeeping only
    // (the invoice's client is in `invoices`).
    table(
        "sync_invoice_links",
        &[
            ("instance_id", K),
            ("external_id", K),
            ("invoice_id", K),
            ("seen_generation", K),
            ("removed_at", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    ),
    // Which practice-management record each imported matter, deadline or time entry is: ids,
    // a digest and sync bookkeeping (the records' text stays in their own tables); the
    // provider's id of a matter's client points at a person, so the anonymised export replaces
    // it.
    table(
        "sync_record_links",
        &[
            ("instance_id", K),
            ("stream", K),
            ("external_id", K),
            ("record_id", K),
            ("digest", K),
            ("client_external_id", Rule::Pseudonym(Kind::Opaque)),
            ("seen_generation", K),
            ("removed_at", K),
            ("created_at", K),
            ("updated_at", K),
        ],
        &[],
    )
    .retention(Retention::Connector),
    // Time pushed to a billing system: keys, amounts and the provider's ids; the customer's
    // id at the provider points at a person, so the anonymised export replaces it.
    table(
        "billing_pushes",
        &[
            ("idempotency_key", K),
            ("bill_key", K),
            ("kind", K),
            ("instance_id", K),
            ("matter_id", K),
            ("time_entry_id", K),
            ("customer", Rule::Pseudonym(Kind::Opaque)),
            ("amount_cents", K),
            ("remote_id", K),
            ("created_at", K),
            ("completed_at", K),
        ],
        &[],
    )
    .matter(MatterRef::Column("matter_id"))
    .retention(Retention::Connector),
    table(
        "sync_leases",
        &[("instance_id", K), ("holder", K), ("expires_at", K)],
        &[],
    ),
    table(
        "sync_review_items",
        &[
            ("id", K),
            ("instance_id", K),
            ("external_id", Rule::Pseudonym(Kind::Opaque)),
            ("origin", K),
            ("record", TEXT),
            ("reason", K),
            ("created_at", K),
            ("updated_at", K),
            ("resolved_at", K),
            ("resolution", K),
            ("resolved_by", K),
            ("contact_id", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("connectorReviewItems"))
    .merge(Merge::Move)
    .retention(Retention::Connector),
    table(
        "webhook_events",
        &[("instance_id", K), ("event_id", K), ("received_at", K)],
        &[],
    ),
    table(
        "data_recipients",
        &[
            ("id", K),
            ("contact_id", K),
            ("instance_id", K),
            ("recipient", K),
            ("fields", K),
            ("external_id", Rule::Pseudonym(Kind::Opaque)),
            ("disclosed_at", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("recipients"))
    .export_skip(&["id"])
    .merge(Merge::Move)
    .retention(Retention::Accountability),
    table(
        "role_generation",
        &[("id", K), ("generation", K), ("credentials", K)],
        &[],
    ),
    table(
        "calendar_feeds",
        &[
            ("id", K),
            ("user_id", K),
            ("token_hash", OMIT),
            ("created_at", K),
            ("revoked_at", K),
            ("last_used_at", K),
        ],
        &[],
    ),
    table(
        "daily_digests",
        &[
            ("user_id", K),
            ("enabled", K),
            ("hour", K),
            ("time_zone", K),
            ("days_ahead", K),
            ("updated_at", K),
        ],
        &[],
    ),
    table(
        "outbox_messages",
        &[
            ("id", K),
            ("kind", K),
            // Built from IDs and times only.
            ("dedup_key", K),
            ("reference_id", K),
            ("recipient", EMAIL),
            ("user_id", K),
            ("contact_id", K),
            // A deadline's title or a message to a person names people.
            ("subject", TEXT),
            ("body", TEXT),
            ("status", K),
            ("attempts", K),
            ("next_attempt_at", K),
            ("claimed_by", K),
            ("claimed_until", K),
            // SMTP replies often quote the recipient's address.
            ("last_error", TEXT),
            ("created_at", K),
            ("sent_at", K),
            // A one-click unsubscribe URL: whoever holds it can unsubscribe the person.
            ("list_unsubscribe", OMIT),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("messages"))
    .export_skip(&[
        "id",
        "dedup_key",
        "claimed_by",
        "claimed_until",
        "list_unsubscribe",
    ])
    .merge(Merge::Move)
    // A confirmation message is the evidence of a double opt-in.
    .retention(Retention::Evidence),
    table(
        "campaign_deliveries",
        &[
            ("id", K),
            ("campaign_id", K),
            ("contact_id", K),
            ("outbox_message_id", K),
            ("recipient", EMAIL),
            ("basis", K),
            ("ground_id", K),
            ("consent_id", K),
            ("assessment_id", K),
            ("queued_at", K),
            ("unsubscribed_at", K),
        ],
        &["contact_id"],
    )
    .erasure(Erasure::Delete, Held::AsFull)
    .export(Export::Section("campaignDeliveries"))
    .export_skip(&["id", "outbox_message_id"])
    .context(&[Context {
        column: "campaign_id",
        table: "campaigns",
        key: "id",
        heading: "campaign",
        columns: &["name", "purpose", "description"],
    }])
    .merge(Merge::Move)
    // What was sent to the person, and on which basis: evidence while the relationship lasts.
    .retention(Retention::Evidence),
];
