//! Who a campaign may reach: contacts the audience filter selects that are not restricted,
//! have a valid ground for the campaign's purpose (or, for clients and analogous services, the
//! soft-spam exception), have not objected, and have an address that is not suppressed.
//! Every rule is checked again here, so a ground recorded under older rules, a consent
//! withdrawn or an assessment later rejected stops counting at once.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::CampaignRow;
use crate::access_policy::Scope;
use crate::contacts::{self, ContactQuery, ContactRules, TextSearchScope};
use crate::db::schema::{
    affiliations, assessments, consents, contact_emails, matter_parties, objections,
    processing_grounds,
};
use crate::db::{text_enum, AnyConnection};
use crate::error::Result;
use crate::gdpr::assessments::{AssessmentKind, AssessmentOutcome};
use crate::gdpr::grounds::{business_marketing_allowed, LegalBasis};
use crate::gdpr::purposes::{self, PurposeRow};
use crate::gdpr::suppression::{self, SuppressionChannel};
use crate::gdpr::GdprContext;

/// Contacts per round trip: well within SQLite's bound on query parameters.
const CHUNK: usize = 2000;

text_enum! {
    /// Why a recipient may receive a campaign.
    AudienceBasis {
        /// The contact consented to the campaign's purpose.
        Consent => "consent",
        /// A business contact, on the firm's legitimate interest backed by an approved LIA.
        LegitimateInterest => "legitimate_interest",
        /// An existing client, for services analogous to those bought (art. 130(4) Codice Privacy).
        SoftSpam => "soft_spam",
        /// A non-marketing purpose the contact has an active ground for (a notice to clients).
        OtherGround => "other_ground",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub contact_id: String,
    pub basis: AudienceBasis,
    /// The processing ground relied on (none for soft spam).
    pub ground_id: Option<String>,
    /// The consent that ground rests on, for a consent.
    pub consent_id: Option<String>,
    /// The legitimate-interest assessment that ground rests on, for a legitimate interest.
    pub assessment_id: Option<String>,
    /// The addresses the campaign may use: those not suppressed.
    pub emails: Vec<String>,
}

/// An active ground of a candidate, with what decides whether it still holds.
#[derive(Debug, Clone, Queryable)]
struct ActiveGround {
    contact_id: String,
    id: String,
    basis: String,
    consent_id: Option<String>,
    assessment_id: Option<String>,
}

/// Everything the rules need about one chunk of candidates.
#[derive(Default)]
struct Evidence {
    grounds: HashMap<String, Vec<ActiveGround>>,
    live_consents: HashSet<String>,
    supporting_lias: HashSet<String>,
    job_titles: HashMap<String, Vec<String>>,
    objected: HashSet<String>,
    clients: HashSet<String>,
    emails: HashMap<String, Vec<String>>,
}

/// The campaign's recipients, in name order.
pub fn recipients(
    conn: &mut AnyConnection,
    scope: &Scope,
    gdpr: &GdprContext,
    campaign: &CampaignRow,
    contact_rules: &ContactRules,
) -> Result<Vec<Recipient>> {
    let Some(purpose) = purposes::find(conn, &campaign.purpose)? else {
        return Ok(Vec::new());
    };
    let query =
        ContactQuery::new(campaign.audience()?)?.searching(TextSearchScope::NAMES_AND_EMAILS);
    let candidates = contacts::unrestricted_matches(conn, scope, &query, contact_rules)?;
    let suppressed = suppression::suppressed_for(conn, &purpose.id)?;
    let soft_spam = gdpr.rules.soft_spam && campaign.analogous_services && purpose.marketing;
    let mut found = Vec::new();
    for chunk in candidates.chunks(CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|(id, _, _)| id.clone()).collect();
        let evidence = gather(conn, &ids, &purpose, soft_spam)?;
        for (id, kind, category) in chunk {
            let Some((basis, ground)) =
                basis_for(gdpr, &purpose, &evidence, id, kind, category, soft_spam)
            else {
                continue;
            };
            let emails: Vec<String> = evidence
                .emails
                .get(id)
                .into_iter()
                .flatten()
                .filter(|address| {
                    let hash = suppression::hash_email(&gdpr.hasher, address);
                    !suppressed.contains(&(SuppressionChannel::Email.as_str().to_owned(), hash))
                })
                .cloned()
                .collect();
            if !emails.is_empty() {
                found.push(Recipient {
                    contact_id: id.clone(),
                    basis,
                    ground_id: ground.map(|g| g.id.clone()),
                    consent_id: ground.and_then(|g| {
                        (basis == AudienceBasis::Consent)
                            .then(|| g.consent_id.clone())
                            .flatten()
                    }),
                    assessment_id: ground.and_then(|g| {
                        (basis == AudienceBasis::LegitimateInterest)
                            .then(|| g.assessment_id.clone())
                            .flatten()
                    }),
                    emails,
                });
            }
        }
    }
    Ok(found)
}

fn basis_for<'e>(
    gdpr: &GdprContext,
    purpose: &PurposeRow,
    evidence: &'e Evidence,
    id: &str,
    kind: &str,
    category: &str,
    soft_spam: bool,
) -> Option<(AudienceBasis, Option<&'e ActiveGround>)> {
    if evidence.objected.contains(id) {
        return None;
    }
    let no_titles = Vec::new();
    let titles = evidence.job_titles.get(id).unwrap_or(&no_titles);
    let business = business_marketing_allowed(&gdpr.rules, kind == "organization", titles);
    for ground in evidence.grounds.get(id).into_iter().flatten() {
        let valid = match LegalBasis::from_db(&ground.basis).ok()? {
            LegalBasis::Consent => ground
                .consent_id
                .as_ref()
                .is_some_and(|c| evidence.live_consents.contains(c))
                .then_some(AudienceBasis::Consent),
            LegalBasis::LegitimateInterest => (ground
                .assessment_id
                .as_ref()
                .is_some_and(|a| evidence.supporting_lias.contains(a))
                && (!purpose.marketing || business))
                .then_some(AudienceBasis::LegitimateInterest),
            _ if purpose.marketing => None,
            _ => Some(AudienceBasis::OtherGround),
        };
        if let Some(basis) = valid {
            return Some((basis, Some(ground)));
        }
    }
    let is_client = category == "client" || evidence.clients.contains(id);
    (soft_spam && is_client).then_some((AudienceBasis::SoftSpam, None))
}

fn gather(
    conn: &mut AnyConnection,
    ids: &[String],
    purpose: &PurposeRow,
    soft_spam: bool,
) -> Result<Evidence> {
    let mut evidence = Evidence::default();
    let grounds: Vec<ActiveGround> = processing_grounds::table
        .filter(processing_grounds::contact_id.eq_any(ids))
        .filter(processing_grounds::purpose_id.eq(&purpose.id))
        .filter(processing_grounds::ended_at.is_null())
        .order_by(processing_grounds::started_at)
        .select((
            processing_grounds::contact_id,
            processing_grounds::id,
            processing_grounds::legal_basis,
            processing_grounds::consent_id,
            processing_grounds::assessment_id,
        ))
        .load(conn)?;
    let consent_ids: Vec<String> = grounds
        .iter()
        .filter_map(|g| g.consent_id.clone())
        .collect();
    let assessment_ids: Vec<String> = grounds
        .iter()
        .filter_map(|g| g.assessment_id.clone())
        .collect();
    for ground in grounds {
        evidence
            .grounds
            .entry(ground.contact_id.clone())
            .or_default()
            .push(ground);
    }
    evidence.live_consents = consents::table
        .filter(consents::id.eq_any(&consent_ids))
        .filter(consents::withdrawn_at.is_null())
        // A consent waiting for its double opt-in does not count yet.
        .filter(
            consents::double_opt_in_requested_at
                .is_null()
                .or(consents::double_opt_in_at.is_not_null()),
        )
        .select(consents::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let outcomes: Vec<(String, String, String)> = assessments::table
        .filter(assessments::id.eq_any(&assessment_ids))
        .select((assessments::id, assessments::kind, assessments::outcome))
        .load(conn)?;
    evidence.supporting_lias = outcomes
        .into_iter()
        .filter(|(_, kind, outcome)| {
            AssessmentKind::from_db(kind).ok() == Some(AssessmentKind::Lia)
                && AssessmentOutcome::from_db(outcome).is_ok_and(|o| o.supports_processing())
        })
        .map(|(id, _, _)| id)
        .collect();
    let titles: Vec<(String, Option<String>)> = affiliations::table
        .filter(affiliations::person_id.eq_any(ids))
        .select((affiliations::person_id, affiliations::job_title))
        .load(conn)?;
    for (person, title) in titles {
        if let Some(title) = title {
            evidence.job_titles.entry(person).or_default().push(title);
        }
    }
    let mut objecting = objections::table
        .filter(objections::contact_id.eq_any(ids))
        .into_boxed();
    objecting = if purpose.marketing {
        objecting.filter(
            objections::purpose_id
                .eq(purpose.id.clone())
                .or(objections::purpose_id.is_null()),
        )
    } else {
        objecting.filter(objections::purpose_id.eq(purpose.id.clone()))
    };
    let objected: Vec<(String, chrono::NaiveDateTime)> = objecting
        .select((objections::contact_id, objections::received_at))
        .load(conn)?;
    // A re-consent confirmed after an objection answers it, for its purpose.
    let reconsented: Vec<(String, Option<chrono::NaiveDateTime>)> = consents::table
        .filter(consents::contact_id.eq_any(ids))
        .filter(consents::purpose_id.eq(&purpose.id))
        .filter(consents::lifts_suppression.eq(true))
        .filter(consents::withdrawn_at.is_null())
        .filter(consents::double_opt_in_at.is_not_null())
        .select((consents::contact_id, consents::double_opt_in_at))
        .load(conn)?;
    let mut latest_reconsent: HashMap<String, chrono::NaiveDateTime> = HashMap::new();
    for (contact, confirmed) in reconsented {
        if let Some(confirmed) = confirmed {
            let latest = latest_reconsent.entry(contact).or_insert(confirmed);
            *latest = (*latest).max(confirmed);
        }
    }
    evidence.objected = objected
        .into_iter()
        .filter(|(contact, received)| {
            latest_reconsent
                .get(contact)
                .is_none_or(|confirmed| received > confirmed)
        })
        .map(|(contact, _)| contact)
        .collect();
    if soft_spam {
        evidence.clients = matter_parties::table
            .filter(matter_parties::contact_id.eq_any(ids))
            .filter(matter_parties::role.eq("client"))
            .select(matter_parties::contact_id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
    }
    let emails: Vec<(String, String)> = contact_emails::table
        .filter(contact_emails::contact_id.eq_any(ids))
        .order_by((contact_emails::contact_id, contact_emails::position))
        .select((contact_emails::contact_id, contact_emails::address))
        .load(conn)?;
    for (contact, address) in emails {
        evidence.emails.entry(contact).or_default().push(address);
    }
    Ok(evidence)
}
