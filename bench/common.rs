//! What the sync-engine benchmarks (`sync_import.rs`, `mail_import.rs`) share: the sealing key
//! of their throw-away database, the LIA the imported contacts' legitimate interest cites, and
//! the rate they report.

use std::collections::HashMap;

use chrono::NaiveDate;
use lexgate::db::AnyConnection;
use lexgate::gdpr::assessments::{self, AssessmentKind, AssessmentOutcome, CreateAssessmentInput};
use lexgate_connectors::secrets::SecretBox;

pub fn secret_box() -> anyhow::Result<SecretBox> {
    // 32 bytes of 0x2a: a key for this throw-away benchmark database only.
    let keys = HashMap::from([(
        "bench".to_owned(),
        "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=".to_owned(),
    )]);
    Ok(SecretBox::new(&keys, "bench")?)
}

/// The approved LIA for matter handling that an imported correspondent's basis cites.
pub fn approve_correspondents_lia(conn: &mut AnyConnection) -> lexgate::error::Result<()> {
    assessments::create(
        conn,
        CreateAssessmentInput {
            kind: AssessmentKind::Lia,
            title: "Correspondents of matters".to_owned(),
            outcome: AssessmentOutcome::Approved,
            summary: None,
            assessed_on: NaiveDate::from_ymd_opt(2026, 1, 10).unwrap_or_default(),
            owner_id: None,
            review_on: None,
            purposes: vec!["matter_handling".to_owned()],
        },
    )?;
    Ok(())
}

/// Items per second, to one decimal.
pub fn per_second(count: usize, seconds: f64) -> f64 {
    (count as f64 / seconds * 10.0).round() / 10.0
}
