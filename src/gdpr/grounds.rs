//! Processing grounds: for each contact and purpose, the legal basis under Art. 6(1) the firm
//! relies on, with its evidence (consent record or legitimate-interest assessment). Grounds and
//! consents are never overwritten: they end, and the history stays.

use std::collections::HashMap;

use async_graphql::{InputObject, ID};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::assessments::{self, AssessmentKind, AssessmentOutcome};
use super::purposes::{self, PurposeRow};
use super::suppression::{self, SuppressionReason};
use super::{Actor, BasisRules, GdprContext};
use crate::db::schema::{
    affiliations, assessment_purposes, consents, contacts, processing_grounds,
};
use crate::db::{insert_batch, new_id, now, text_enum, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::group_by_key;
use crate::validation::non_blank;

text_enum! {
    /// The legal bases of Art. 6(1) GDPR.
    LegalBasis {
        /// (a) the person consented to the purpose.
        Consent => "consent",
        /// (b) a contract with the person, or steps they asked for before one.
        Contract => "contract",
        /// (c) a legal obligation of the firm (anti-money-laundering checks, tax records).
        LegalObligation => "legal_obligation",
        /// (d) the vital interests of the person or of another.
        VitalInterests => "vital_interests",
        /// (e) a task in the public interest.
        PublicTask => "public_task",
        /// (f) the legitimate interest of the firm or a third party, backed by an assessment.
        LegitimateInterest => "legitimate_interest",
    }
}

text_enum! {
    /// How consent was given.
    ConsentMethod {
        /// Ticking a box on a web form.
        WebForm => "web_form",
        /// Signing a paper form.
        SignedPaper => "signed_paper",
        /// Writing an email.
        Email => "email",
        /// On a recorded phone call.
        RecordedCall => "recorded_call",
        /// In person, noted by the firm's staff.
        InPerson => "in_person",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = processing_grounds, treat_none_as_default_value = false)]
pub struct GroundRow {
    pub id: String,
    pub contact_id: String,
    pub purpose_id: String,
    pub legal_basis: String,
    pub consent_id: Option<String>,
    pub assessment_id: Option<String>,
    pub note: Option<String>,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub recorded_by: Option<String>,
    /// What shows the date the basis arose, when it was given (`started_at`).
    pub basis_evidence: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub id: String,
    pub contact_id: String,
    pub purpose_id: String,
    pub given_at: NaiveDateTime,
    pub method: String,
    pub notice_version: String,
    pub collected_by: String,
    pub proof_reference: Option<String>,
    pub double_opt_in_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub withdrawal_method: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub recorded_by: Option<String>,
    /// When lexgate asked the person to confirm (double opt-in); until `double_opt_in_at`
    /// the consent does not count.
    pub double_opt_in_requested_at: Option<NaiveDateTime>,
    /// Evidence of the confirmation: the client's address and user agent.
    pub double_opt_in_client_address: Option<String>,
    pub double_opt_in_user_agent: Option<String>,
    /// A re-consent of someone on the suppression list: confirming it lifts the suppression
    /// for its purpose.
    pub lifts_suppression: bool,
}

/// The evidence of a consent: what an authority asks to see (Art. 7(1)).
#[derive(Debug, Clone, InputObject)]
pub struct ConsentEvidenceInput {
    /// When the person consented (ISO 8601).
    pub given_at: DateTime<Utc>,
    /// How the person consented.
    pub method: ConsentMethod,
    /// The version of the privacy notice the person was shown.
    pub notice_version: String,
    /// Who collected it: a person's name, or the form or system that did.
    pub collected_by: String,
    /// Where the proof is kept: a signed form's file number, a form submission ID, a recording.
    pub proof_reference: Option<String>,
    /// When the person confirmed the address, where double opt-in is used.
    pub double_opt_in_at: Option<DateTime<Utc>>,
}

/// A legal basis for processing a contact's data for one purpose, with the evidence the basis
/// needs.
#[derive(Debug, Clone, InputObject)]
pub struct ProcessingGroundInput {
    /// The purpose's key, e.g. `client_relationship` or `newsletter`.
    pub purpose: String,
    /// The basis under Art. 6(1) GDPR.
    pub legal_basis: LegalBasis,
    /// Required for the consent basis, refused for the others.
    pub consent: Option<ConsentEvidenceInput>,
    /// The legitimate-interest assessment the basis relies on; required for that basis.
    pub assessment_id: Option<ID>,
    /// Free-text notes on the basis.
    pub note: Option<String>,
    /// When the basis arose, if before it is recorded (a contract's date; an import of older
    /// records): the ground's retention clock starts then. Needs `basisEvidence`. A consent
    /// basis arises at the consent's `givenAt`.
    pub basis_arose_at: Option<DateTime<Utc>>,
    /// What shows that date, e.g. the contract's reference.
    pub basis_evidence: Option<String>,
}

/// A ground to record for a contact, for `recordProcessingGround`.
#[derive(Debug, Clone, InputObject)]
pub struct RecordProcessingGroundInput {
    /// The `Contact` ID.
    pub contact_id: ID,
    /// The basis, its purpose and its evidence.
    pub ground: ProcessingGroundInput,
}

/// A new, documented consent of someone who objected or is on the suppression list.
#[derive(Debug, Clone, InputObject)]
pub struct RecordReconsentInput {
    /// The `Contact` who consents again.
    pub contact_id: ID,
    /// The marketing purpose's key.
    pub purpose: String,
    /// The new consent's evidence; the person confirms it through the link lexgate mails.
    pub consent: ConsentEvidenceInput,
}

/// A ground to end and why, for `endProcessingGround`.
#[derive(Debug, Clone, InputObject)]
pub struct EndProcessingGroundInput {
    /// The `ProcessingGround` ID.
    pub id: ID,
    /// Why it ends, e.g. "contract ended".
    pub reason: String,
}

/// A consent the person withdrew, for `withdrawConsent`.
#[derive(Debug, Clone, InputObject)]
pub struct WithdrawConsentInput {
    /// The `Consent` ID.
    pub consent_id: ID,
    /// When the person withdrew (ISO 8601).
    pub withdrawn_at: DateTime<Utc>,
    /// How the person withdrew, e.g. "unsubscribe link", "email to the DPO".
    pub method: String,
}

/// What the basis rules need to know about a contact.
struct ContactProfile {
    organization: bool,
    job_titles: Vec<String>,
}

fn profile(conn: &mut AnyConnection, contact_id: &str) -> Result<ContactProfile> {
    let kind: String = contacts::table
        .find(contact_id)
        .select(contacts::kind)
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Contact", contact_id))?;
    let job_titles: Vec<Option<String>> = affiliations::table
        .filter(affiliations::person_id.eq(contact_id))
        .select(affiliations::job_title)
        .load(conn)?;
    Ok(ContactProfile {
        organization: kind == "organization",
        job_titles: job_titles.into_iter().flatten().collect(),
    })
}

/// Whether a business contact's role is one marketing may address on legitimate interest.
/// Organisations are business contacts by definition; private people (no affiliation, or a
/// role off the list) never are.
pub fn business_marketing_allowed(
    rules: &BasisRules,
    organization: bool,
    job_titles: &[String],
) -> bool {
    organization
        || job_titles.iter().any(|title| {
            let title = title_words(title);
            rules
                .marketing_job_titles
                .iter()
                .any(|allowed| holds_role(&title, &title_words(allowed)))
        })
}

/// A job title as lower-case words: punctuation and spacing do not matter, and a role
/// matches only whole words ("COO" is not in "Coordinatore").
fn title_words(title: &str) -> Vec<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Words that, before a role, make the title someone else's support role: "Assistant to the
/// CEO", "Segretaria dell'Amministratore Delegato", "Assistant Company Secretary".
const SUBORDINATE_WORDS: &[&str] = &[
    "to",
    "for",
    "of",
    "assistant",
    "assistente",
    "segretaria",
    "segretario",
    "secretary",
    "del",
    "dello",
    "della",
    "dell",
    "al",
    "allo",
    "alla",
    "all",
    "ai",
    "agli",
    "alle",
    "di",
    "staff",
    "support",
    "supporto",
];

/// Whether the title names the role itself: its words appear in a row, and no word before
/// them makes the holder someone who works for the role rather than holds it.
fn holds_role(title: &[String], role: &[String]) -> bool {
    !role.is_empty()
        && title.windows(role.len()).enumerate().any(|(at, words)| {
            words == role
                && !title[..at]
                    .iter()
                    .any(|w| SUBORDINATE_WORDS.contains(&w.as_str()))
        })
}

/// Checks a legitimate-interest basis: an approved LIA covering the purpose and, for
/// marketing, a business contact in an allowed role.
fn check_legitimate_interest(
    conn: &mut AnyConnection,
    v: &mut Validator,
    at: &str,
    purpose: &PurposeRow,
    assessment_id: Option<&ID>,
    profile: &ContactProfile,
    rules: &BasisRules,
) -> Result<Option<String>> {
    if purpose.marketing
        && !business_marketing_allowed(rules, profile.organization, &profile.job_titles)
    {
        v.add(
            format!("{at}.legalBasis"),
            "legitimate interest is no basis for marketing to a private person or to a business \
             contact whose role is not on the firm's list; ask for consent instead",
        );
    }
    check_assessment(
        conn,
        v,
        &format!("{at}.assessmentId"),
        purpose,
        assessment_id,
    )
}

/// Checks that a legitimate-interest basis cites (`id`) an approved legitimate-interest
/// assessment covering `purpose`; returns its key when it exists (the validator holds any
/// objection, under `field`).
pub fn check_assessment(
    conn: &mut AnyConnection,
    v: &mut Validator,
    field: &str,
    purpose: &PurposeRow,
    id: Option<&ID>,
) -> Result<Option<String>> {
    let Some(id) = id else {
        v.add(
            field,
            "a legitimate-interest basis must cite its legitimate-interest assessment",
        );
        return Ok(None);
    };
    let Some(key) = v.check(field, ids::decode(NodeType::Assessment, id, field)) else {
        return Ok(None);
    };
    let Some(assessment) = assessments::get_many(conn, std::slice::from_ref(&key))?.remove(&key)
    else {
        v.add(field, "no such assessment");
        return Ok(None);
    };
    let covers: i64 = assessment_purposes::table
        .filter(assessment_purposes::assessment_id.eq(&key))
        .filter(assessment_purposes::purpose_id.eq(&purpose.id))
        .count()
        .get_result(conn)?;
    if AssessmentKind::from_db(&assessment.kind)? != AssessmentKind::Lia {
        v.add(
            field,
            "cite a legitimate-interest assessment (LIA), not a DPIA",
        );
    } else if !AssessmentOutcome::from_db(&assessment.outcome)?.supports_processing() {
        v.add(
            field,
            "the assessment did not find that the interest prevails",
        );
    } else if covers == 0 {
        v.add(
            field,
            format!(
                "the assessment does not cover the purpose `{}`",
                purpose.key
            ),
        );
    }
    Ok(Some(key))
}

fn check_consent(v: &mut Validator, at: &str, evidence: &ConsentEvidenceInput) -> (String, String) {
    let notice = v.required(
        &format!("{at}.consent.noticeVersion"),
        &evidence.notice_version,
    );
    let collected_by = v.required(&format!("{at}.consent.collectedBy"), &evidence.collected_by);
    let given_at = evidence.given_at.naive_utc();
    if given_at > now() + chrono::TimeDelta::minutes(5) {
        v.add(format!("{at}.consent.givenAt"), "cannot lie in the future");
    }
    if evidence
        .double_opt_in_at
        .is_some_and(|d| d.naive_utc() < given_at)
    {
        v.add(
            format!("{at}.consent.doubleOptInAt"),
            "the confirmation cannot come before the consent",
        );
    }
    (notice, collected_by)
}

/// Records a ground for a contact (and its consent evidence) after checking it against the
/// basis rules; errors name fields under `at` (e.g. `input.grounds[0]`).
pub fn record(
    conn: &mut AnyConnection,
    at: &str,
    contact_id: &str,
    input: ProcessingGroundInput,
    rules: &BasisRules,
    actor: &Actor,
) -> Result<GroundRow> {
    let mut v = Validator::new();
    let purpose = purposes::named(conn, &input.purpose, &format!("{at}.purpose"))?;
    let profile = profile(conn, contact_id)?;
    let basis = input.legal_basis;
    if purpose.marketing && !matches!(basis, LegalBasis::Consent | LegalBasis::LegitimateInterest) {
        v.add(
            format!("{at}.legalBasis"),
            format!(
                "direct marketing (`{}`) rests on consent or legitimate interest only",
                purpose.key
            ),
        );
    }
    let consent = match (basis, &input.consent) {
        (LegalBasis::Consent, Some(evidence)) => Some(check_consent(&mut v, at, evidence)),
        (LegalBasis::Consent, None) => {
            v.add(
                format!("{at}.consent"),
                "a consent basis needs its evidence",
            );
            None
        }
        (_, Some(_)) => {
            v.add(
                format!("{at}.consent"),
                "consent evidence belongs to the consent basis",
            );
            None
        }
        (_, None) => None,
    };
    let assessment_id = match basis {
        LegalBasis::LegitimateInterest => check_legitimate_interest(
            conn,
            &mut v,
            at,
            &purpose,
            input.assessment_id.as_ref(),
            &profile,
            rules,
        )?,
        _ if input.assessment_id.is_some() => {
            v.add(
                format!("{at}.assessmentId"),
                "only a legitimate-interest basis cites an assessment",
            );
            None
        }
        _ => None,
    };
    let arose = basis_arose(&mut v, at, basis, &input);
    v.finish()?;
    if basis != LegalBasis::Consent && has_active(conn, contact_id, &purpose.id, basis)? {
        return Err(Error::Conflict {
            field: Some(format!("{at}.legalBasis")),
            message: format!(
                "the contact already has an active {} basis for `{}`",
                basis.as_str(),
                purpose.key
            ),
        });
    }
    let timestamp = now();
    // The retention clock starts when the basis arose, not when it was entered.
    let started_at = match (&input.consent, &arose) {
        (Some(evidence), _) => evidence.given_at.naive_utc().min(timestamp),
        (None, Some((date, _))) => *date,
        (None, None) => timestamp,
    };
    let consent_id = match (consent, input.consent) {
        (Some((notice_version, collected_by)), Some(evidence)) => {
            let row = ConsentRow {
                id: new_id(),
                contact_id: contact_id.to_owned(),
                purpose_id: purpose.id.clone(),
                given_at: evidence.given_at.naive_utc(),
                method: evidence.method.as_str().to_owned(),
                notice_version,
                collected_by,
                proof_reference: non_blank(evidence.proof_reference),
                double_opt_in_at: evidence.double_opt_in_at.map(|d| d.naive_utc()),
                withdrawn_at: None,
                withdrawal_method: None,
                recorded_at: timestamp,
                recorded_by: Some(actor.label.clone()),
                // Confirmed already (evidence of an earlier confirmation), or not required:
                // nothing to ask.
                double_opt_in_requested_at: (evidence.double_opt_in_at.is_none()
                    && rules.requires_double_opt_in(&purpose.key))
                .then_some(timestamp),
                double_opt_in_client_address: None,
                double_opt_in_user_agent: None,
                lifts_suppression: false,
            };
            diesel::insert_into(consents::table)
                .values(&row)
                .execute(conn)?;
            Some(row.id)
        }
        _ => None,
    };
    let row = GroundRow {
        consent_id,
        ..new_row(
            contact_id,
            purpose.id,
            basis,
            assessment_id,
            input.note,
            started_at,
            timestamp,
            actor,
            arose.map(|(_, evidence)| evidence),
        )
    };
    diesel::insert_into(processing_grounds::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// An open ground without consent evidence.
#[allow(clippy::too_many_arguments)]
fn new_row(
    contact_id: &str,
    purpose_id: String,
    basis: LegalBasis,
    assessment_id: Option<String>,
    note: Option<String>,
    started_at: NaiveDateTime,
    recorded_at: NaiveDateTime,
    actor: &Actor,
    basis_evidence: Option<String>,
) -> GroundRow {
    GroundRow {
        id: new_id(),
        contact_id: contact_id.to_owned(),
        purpose_id,
        legal_basis: basis.as_str().to_owned(),
        consent_id: None,
        assessment_id,
        note: non_blank(note),
        started_at,
        ended_at: None,
        end_reason: None,
        recorded_at,
        recorded_by: Some(actor.label.clone()),
        basis_evidence,
    }
}

/// One ground (purpose, basis, assessment) to record for many contacts, as an import records
/// its rule's ground for every contact of a page: what [`record`] checks about the purpose
/// and the assessment is checked once ([`GroundPlan::new`]), what it checks about the
/// contact and the dates per contact ([`GroundPlan::row`]), and the rows are written
/// together ([`insert_rows`]).
pub struct GroundPlan {
    purpose: PurposeRow,
    basis: LegalBasis,
    assessment_id: Option<String>,
}

impl GroundPlan {
    /// The plan, or `None` when [`record`]'s checks depend on the contact or need consent
    /// evidence (a marketing purpose, a consent basis): such grounds are recorded one by one.
    /// Errors are those [`record`] would give every contact.
    pub fn new(
        conn: &mut AnyConnection,
        at: &str,
        purpose_key: &str,
        basis: LegalBasis,
        assessment: Option<&ID>,
    ) -> Result<Option<GroundPlan>> {
        let purpose = purposes::named(conn, purpose_key, &format!("{at}.purpose"))?;
        if purpose.marketing || basis == LegalBasis::Consent {
            return Ok(None);
        }
        let mut v = Validator::new();
        let assessment_id = match basis {
            LegalBasis::LegitimateInterest => check_assessment(
                conn,
                &mut v,
                &format!("{at}.assessmentId"),
                &purpose,
                assessment,
            )?,
            _ if assessment.is_some() => {
                v.add(
                    format!("{at}.assessmentId"),
                    "only a legitimate-interest basis cites an assessment",
                );
                None
            }
            _ => None,
        };
        v.finish()?;
        Ok(Some(GroundPlan {
            purpose,
            basis,
            assessment_id,
        }))
    }

    pub fn purpose_id(&self) -> &str {
        &self.purpose.id
    }

    pub fn basis(&self) -> LegalBasis {
        self.basis
    }

    /// The ground of one contact that has no active ground of this purpose and basis (the
    /// caller knows: [`record`] asks the database), checked as [`record`] checks it.
    pub fn row(
        &self,
        at: &str,
        contact_id: &str,
        note: Option<String>,
        basis_arose_at: Option<DateTime<Utc>>,
        basis_evidence: Option<String>,
        actor: &Actor,
    ) -> Result<GroundRow> {
        let mut v = Validator::new();
        let input = ProcessingGroundInput {
            purpose: self.purpose.key.clone(),
            legal_basis: self.basis,
            consent: None,
            assessment_id: None,
            note,
            basis_arose_at,
            basis_evidence,
        };
        let arose = basis_arose(&mut v, at, self.basis, &input);
        v.finish()?;
        let timestamp = now();
        Ok(new_row(
            contact_id,
            self.purpose.id.clone(),
            self.basis,
            self.assessment_id.clone(),
            input.note,
            arose.as_ref().map_or(timestamp, |(date, _)| *date),
            timestamp,
            actor,
            arose.map(|(_, evidence)| evidence),
        ))
    }
}

/// Writes grounds made by [`GroundPlan::row`] with multi-row inserts.
pub fn insert_rows(conn: &mut AnyConnection, rows: &[GroundRow]) -> Result<()> {
    insert_batch(conn, processing_grounds::table, rows, GROUND_COLUMNS)?;
    Ok(())
}

/// The columns of [`GroundRow`], for the bound-parameter limit of multi-row inserts.
const GROUND_COLUMNS: usize = 13;

/// Records a re-consent: a consent ground whose consent waits for the person's double opt-in
/// whatever the purpose's setting, and whose confirmation lifts the suppression for its
/// purpose (only). Refused unless the person is suppressed or objected for the purpose.
pub fn record_reconsent(
    conn: &mut AnyConnection,
    gdpr: &GdprContext,
    contact_id: &str,
    input: RecordReconsentInput,
    actor: &Actor,
) -> Result<GroundRow> {
    let purpose = purposes::named(conn, &input.purpose, "input.purpose")?;
    let mut v = Validator::new();
    if !purpose.marketing {
        v.add(
            "input.purpose",
            "only marketing purposes have a suppression list to leave",
        );
    }
    if input.consent.double_opt_in_at.is_some() {
        v.add(
            "input.consent.doubleOptInAt",
            "the person confirms a re-consent through the link lexgate mails them: leave \
             doubleOptInAt out",
        );
    }
    v.finish()?;
    let emails: Vec<String> = crate::db::schema::contact_emails::table
        .filter(crate::db::schema::contact_emails::contact_id.eq(contact_id))
        .select(crate::db::schema::contact_emails::address)
        .load(conn)?;
    if emails.is_empty() {
        return Err(Error::invalid(
            "input.contactId",
            "the contact has no e-mail address to confirm the consent from",
        ));
    }
    let suppressed = suppression::suppressed_for(conn, &purpose.id)?;
    let on_list = emails.iter().any(|e| {
        suppressed.contains(&(
            suppression::SuppressionChannel::Email.as_str().to_owned(),
            suppression::hash_email(&gdpr.hasher, e),
        ))
    });
    let objected: i64 = crate::db::schema::objections::table
        .filter(crate::db::schema::objections::contact_id.eq(contact_id))
        .filter(
            crate::db::schema::objections::purpose_id
                .eq(&purpose.id)
                .or(crate::db::schema::objections::purpose_id.is_null()),
        )
        .count()
        .get_result(conn)?;
    if !on_list && objected == 0 {
        return Err(Error::invalid(
            "input.contactId",
            format!(
                "the contact is neither suppressed nor objected for `{}`: record the consent \
                 with recordProcessingGround",
                purpose.key
            ),
        ));
    }
    let mut rules = gdpr.rules.clone();
    rules.double_opt_in_purposes.push(purpose.key.clone());
    let ground = record(
        conn,
        "input",
        contact_id,
        ProcessingGroundInput {
            purpose: purpose.key,
            legal_basis: LegalBasis::Consent,
            consent: Some(input.consent),
            assessment_id: None,
            note: Some("re-consent after an objection or suppression".to_owned()),
            basis_arose_at: None,
            basis_evidence: None,
        },
        &rules,
        actor,
    )?;
    if let Some(consent) = &ground.consent_id {
        diesel::update(consents::table.find(consent))
            .set(consents::lifts_suppression.eq(true))
            .execute(conn)?;
    }
    Ok(ground)
}

/// The date a non-consent basis arose and its evidence, when the input gives one; both
/// together or neither, and never in the future.
fn basis_arose(
    v: &mut Validator,
    at: &str,
    basis: LegalBasis,
    input: &ProcessingGroundInput,
) -> Option<(NaiveDateTime, String)> {
    let evidence = non_blank(input.basis_evidence.clone());
    match (input.basis_arose_at, evidence) {
        (Some(_), _) if basis == LegalBasis::Consent => {
            v.add(
                format!("{at}.basisAroseAt"),
                "a consent basis arose when the consent was given: set consent.givenAt",
            );
            None
        }
        (Some(date), Some(evidence)) => {
            if date.naive_utc() > now() {
                v.add(format!("{at}.basisAroseAt"), "cannot lie in the future");
            }
            Some((date.naive_utc(), evidence))
        }
        (Some(_), None) => {
            v.add(
                format!("{at}.basisEvidence"),
                "say what shows the date the basis arose, e.g. the contract's reference",
            );
            None
        }
        (None, Some(_)) => {
            v.add(
                format!("{at}.basisEvidence"),
                "evidence goes with the date it shows: set basisAroseAt",
            );
            None
        }
        (None, None) => None,
    }
}

fn has_active(
    conn: &mut AnyConnection,
    contact_id: &str,
    purpose_id: &str,
    basis: LegalBasis,
) -> Result<bool> {
    let count: i64 = processing_grounds::table
        .filter(processing_grounds::contact_id.eq(contact_id))
        .filter(processing_grounds::purpose_id.eq(purpose_id))
        .filter(processing_grounds::legal_basis.eq(basis.as_str()))
        .filter(processing_grounds::ended_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<GroundRow> {
    processing_grounds::table
        .find(id)
        .select(GroundRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("ProcessingGround", id))
}

/// Ends a ground (the processing stops; the record stays).
pub fn end(conn: &mut AnyConnection, input: EndProcessingGroundInput) -> Result<GroundRow> {
    let id = ids::decode(NodeType::ProcessingGround, &input.id, "input.id")?;
    let mut v = Validator::new();
    let reason = v.required("input.reason", &input.reason);
    v.finish()?;
    let ground = get(conn, &id)?;
    if ground.ended_at.is_some() {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: "this ground has already ended".to_owned(),
        });
    }
    end_grounds(conn, std::slice::from_ref(&id), &reason)?;
    get(conn, &id)
}

/// Ends the given grounds that are still active, with the reason given.
pub(crate) fn end_grounds(conn: &mut AnyConnection, ids: &[String], reason: &str) -> Result<usize> {
    Ok(diesel::update(
        processing_grounds::table
            .filter(processing_grounds::id.eq_any(ids))
            .filter(processing_grounds::ended_at.is_null()),
    )
    .set((
        processing_grounds::ended_at.eq(now()),
        processing_grounds::end_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// The active grounds of a contact, of the given purposes and bases.
pub(crate) fn active_ids(
    conn: &mut AnyConnection,
    contact_id: &str,
    purpose_ids: &[String],
    bases: &[LegalBasis],
) -> Result<Vec<String>> {
    let bases: Vec<&str> = bases.iter().map(|b| b.as_str()).collect();
    Ok(processing_grounds::table
        .filter(processing_grounds::contact_id.eq(contact_id))
        .filter(processing_grounds::purpose_id.eq_any(purpose_ids))
        .filter(processing_grounds::legal_basis.eq_any(bases))
        .filter(processing_grounds::ended_at.is_null())
        .select(processing_grounds::id)
        .load(conn)?)
}

pub fn get_consent(conn: &mut AnyConnection, id: &str) -> Result<ConsentRow> {
    consents::table
        .find(id)
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Consent", id))
}

/// Withdraws a consent (Art. 7(3)): the consent records when and how, its grounds end, and the
/// person's addresses go on the suppression list for the purpose. Withdrawing twice is refused.
pub fn withdraw_consent(
    conn: &mut AnyConnection,
    gdpr: &GdprContext,
    input: WithdrawConsentInput,
    actor: &Actor,
) -> Result<ConsentRow> {
    let id = ids::decode(NodeType::Consent, &input.consent_id, "input.consentId")?;
    let mut v = Validator::new();
    let method = v.required("input.method", &input.method);
    let consent = get_consent(conn, &id)?;
    let withdrawn_at = input.withdrawn_at.naive_utc();
    if withdrawn_at < consent.given_at {
        v.add(
            "input.withdrawnAt",
            "a consent cannot be withdrawn before it was given",
        );
    }
    v.finish()?;
    if consent.withdrawn_at.is_some() {
        return Err(Error::Conflict {
            field: Some("input.consentId".to_owned()),
            message: "this consent was already withdrawn".to_owned(),
        });
    }
    diesel::update(consents::table.find(&id))
        .set((
            consents::withdrawn_at.eq(withdrawn_at),
            consents::withdrawal_method.eq(&method),
        ))
        .execute(conn)?;
    let grounds: Vec<String> = processing_grounds::table
        .filter(processing_grounds::consent_id.eq(&id))
        .select(processing_grounds::id)
        .load(conn)?;
    end_grounds(conn, &grounds, "consent withdrawn")?;
    let purpose = purposes::by_ids(conn, std::slice::from_ref(&consent.purpose_id))?;
    if purpose.iter().any(|p| p.marketing) {
        suppression::suppress_contact(
            conn,
            &gdpr.hasher,
            &consent.contact_id,
            Some(&consent.purpose_id),
            SuppressionReason::Withdrawal,
            actor,
        )?;
    }
    get_consent(conn, &id)
}

/// The grounds of each contact, newest first.
pub fn of_contacts(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<GroundRow>>> {
    let rows = processing_grounds::table
        .filter(processing_grounds::contact_id.eq_any(ids))
        .order_by((
            processing_grounds::contact_id,
            processing_grounds::started_at.desc(),
            processing_grounds::id.desc(),
        ))
        .select(GroundRow::as_select())
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}

/// The consents of each contact, newest first.
pub fn consents_of_contacts(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<ConsentRow>>> {
    let rows = consents::table
        .filter(consents::contact_id.eq_any(ids))
        .order_by((
            consents::contact_id,
            consents::given_at.desc(),
            consents::id.desc(),
        ))
        .select(ConsentRow::as_select())
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}

/// Consents by ID.
pub fn consents_by_id(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, ConsentRow>> {
    let rows = consents::table
        .filter(consents::id.eq_any(ids))
        .select(ConsentRow::as_select())
        .load::<ConsentRow>(conn)?;
    Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legitimate_interest_marketing_is_for_business_roles_only() {
        let rules = BasisRules::default();
        assert!(business_marketing_allowed(&rules, true, &[]));
        assert!(business_marketing_allowed(
            &rules,
            false,
            &["Group CFO".to_owned()]
        ));
        assert!(business_marketing_allowed(
            &rules,
            false,
            &["responsabile legale".to_owned()]
        ));
        assert!(!business_marketing_allowed(&rules, false, &[]));
        assert!(!business_marketing_allowed(
            &rules,
            false,
            &["Stagista".to_owned()]
        ));
        for title in [
            "Coordinatore Acquisti",
            "Assistant to the CEO",
            "Executive Assistant CEO",
            "Segretaria dell'Amministratore Delegato",
            "Assistant Company Secretary",
            "CFOs' liaison",
        ] {
            assert!(
                !business_marketing_allowed(&rules, false, &[title.to_owned()]),
                "{title}"
            );
        }
        for title in [
            "CEO",
            "ceo, Acme SpA",
            "Head of Legal",
            "Head of Legal EMEA",
            "Amministratore delegato di Acme",
            "Giurista d'impresa",
        ] {
            assert!(
                business_marketing_allowed(&rules, false, &[title.to_owned()]),
                "{title}"
            );
        }
        let narrow = BasisRules {
            marketing_job_titles: vec!["General Counsel".to_owned()],
            soft_spam: false,
            double_opt_in_purposes: Vec::new(),
        };
        assert!(!business_marketing_allowed(
            &narrow,
            false,
            &["CFO".to_owned()]
        ));
    }
}
