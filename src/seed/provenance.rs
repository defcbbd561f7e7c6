//! Where seeded contacts came from and on what basis the firm holds them: every contact gets
//! an acquisition source and grounds that pass the GDPR rules, derived from its serial number
//! and category (no random draws, so the rest of the data set stays as it was).

use async_graphql::ID;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::seeder::Seeder;
use crate::contacts::ContactCategory::{self, *};
use crate::db::AnyConnection;
use crate::error::Result;
use crate::gdpr::assessments::{self, AssessmentKind, AssessmentOutcome, CreateAssessmentInput};
use crate::gdpr::grounds::{
    ConsentEvidenceInput, ConsentMethod, LegalBasis, ProcessingGroundInput,
};
use crate::gdpr::provenance::{ContactSourceInput, SourceKind};
use crate::ids::{self, NodeType};

/// Acquisitions are spread over the years before this day.
const ACQUIRED_BEFORE: NaiveDate = super::seeder::date(2026, 1, 1);

const PROSPECT_SOURCES: [(SourceKind, &str); 4] = [
    (SourceKind::Event, "Convegno \"Diritto d'impresa\", Milano"),
    (SourceKind::WebForm, "Modulo contatti del sito dello studio"),
    (SourceKind::Referral, "Segnalato da un cliente dello studio"),
    (
        SourceKind::LeadGeneration,
        "Campagna LinkedIn sponsorizzata",
    ),
];

impl Seeder {
    /// The firm's legitimate-interest assessment the seeded grounds cite.
    pub fn create_assessment(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let row = assessments::create(
            conn,
            CreateAssessmentInput {
                kind: AssessmentKind::Lia,
                title: "Gestione di controparti, corrispondenti e contatti professionali".to_owned(),
                outcome: AssessmentOutcome::Approved,
                summary: Some(
                    "Interesse legittimo dello studio a tutelare i diritti dei clienti in giudizio \
                     e a mantenere i rapporti professionali; dati minimi, nessuna profilazione."
                        .to_owned(),
                ),
                assessed_on: super::seeder::date(2024, 3, 1),
                owner_id: None,
                review_on: Some(super::seeder::date(2027, 3, 1)),
                purposes: vec!["matter_handling".to_owned(), "client_relationship".to_owned()],
            },
        )?;
        self.assessment = Some(ids::encode(NodeType::Assessment, &row.id));
        Ok(())
    }

    pub fn source(&self, serial: u64, category: ContactCategory) -> ContactSourceInput {
        let (kind, detail) = match category {
            Client => (SourceKind::ClientIntake, "Conferimento d'incarico"),
            Prospect => PROSPECT_SOURCES[(serial % 4) as usize],
            Counterparty => (SourceKind::Email, "Corrispondenza relativa a una pratica"),
            Court => (
                SourceKind::PublicRegister,
                "Elenco uffici giudiziari (giustizia.it)",
            ),
            Expert | Partner => (SourceKind::Referral, "Rete professionale dello studio"),
            Other => (SourceKind::ManualEntry, "Inserito dalla segreteria"),
        };
        ContactSourceInput {
            kind,
            detail: detail.to_owned(),
            connector: None,
            external_id: None,
            acquired_at: acquired_at(serial),
            acquired_by_id: None,
        }
    }

    /// The grounds for a contact: its relationship with the firm, plus consent to the
    /// newsletter or to events for those tagged so.
    pub fn grounds(
        &self,
        serial: u64,
        category: ContactCategory,
        tags: &[String],
    ) -> Vec<ProcessingGroundInput> {
        let ground =
            |purpose: &str, basis: LegalBasis, assessment: Option<ID>| ProcessingGroundInput {
                purpose: purpose.to_owned(),
                legal_basis: basis,
                consent: None,
                assessment_id: assessment,
                note: None,
                basis_arose_at: None,
                basis_evidence: None,
            };
        let lia = || self.assessment.clone();
        let mut grounds = vec![match category {
            Client | Prospect | Expert | Partner => {
                ground("client_relationship", LegalBasis::Contract, None)
            }
            Counterparty => ground("matter_handling", LegalBasis::LegitimateInterest, lia()),
            Court => ground("matter_handling", LegalBasis::LegalObligation, None),
            Other => ground("client_relationship", LegalBasis::LegitimateInterest, lia()),
        }];
        for (tag, purpose) in [("newsletter", "newsletter"), ("events", "events")] {
            if tags.iter().any(|t| t == tag) {
                grounds.push(ProcessingGroundInput {
                    consent: Some(web_form_consent(serial, purpose)),
                    ..ground(purpose, LegalBasis::Consent, None)
                });
            }
        }
        grounds
    }
}

fn acquired_at(serial: u64) -> DateTime<Utc> {
    let days_before = i64::try_from(serial % 3650).unwrap_or(0) + 1;
    (ACQUIRED_BEFORE - TimeDelta::days(days_before))
        .and_hms_opt(10, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

fn web_form_consent(serial: u64, purpose: &str) -> ConsentEvidenceInput {
    let given_at = acquired_at(serial);
    ConsentEvidenceInput {
        given_at,
        method: ConsentMethod::WebForm,
        notice_version: "informativa-2024-01".to_owned(),
        collected_by: "Modulo di iscrizione del sito dello studio".to_owned(),
        proof_reference: Some(format!("form-{purpose}-{serial}")),
        double_opt_in_at: Some(given_at + TimeDelta::minutes(12)),
    }
}
