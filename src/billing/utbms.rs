//! UTBMS codes (Uniform Task-Based Management System, ABA/ACCA/LEDES): the task codes of the
//! litigation and counseling code sets and the activity codes, which classify time entries
//! and travel into LEDES exports.

/// Task codes and their names: the litigation code set (L100-L500) and the counseling code
/// set (C100-C400).
pub const TASK_CODES: &[(&str, &str)] = &[
    ("L110", "Fact Investigation/Development"),
    ("L120", "Analysis/Strategy"),
    ("L130", "Experts/Consultants"),
    ("L140", "Document/File Management"),
    ("L150", "Budgeting"),
    ("L160", "Settlement/Non-Binding ADR"),
    (
        "L190",
        "Other Case Assessment, Development and Administration",
    ),
    ("L210", "Pleadings"),
    ("L220", "Preliminary Injunctions/Provisional Remedies"),
    ("L230", "Court Mandated Conferences"),
    ("L240", "Dispositive Motions"),
    ("L250", "Other Written Motions and Submissions"),
    ("L260", "Class Action Certification and Notice"),
    ("L310", "Written Discovery"),
    ("L320", "Document Production"),
    ("L330", "Depositions"),
    ("L340", "Expert Discovery"),
    ("L350", "Discovery Motions"),
    ("L390", "Other Discovery"),
    ("L410", "Fact Witnesses"),
    ("L420", "Expert Witnesses"),
    ("L430", "Written Motions and Submissions"),
    ("L440", "Other Trial Preparation and Support"),
    ("L450", "Trial and Hearing Attendance"),
    ("L460", "Post-Trial Motions and Submissions"),
    ("L470", "Enforcement"),
    ("L510", "Appellate Motions and Submissions"),
    ("L520", "Appellate Briefs"),
    ("L530", "Oral Argument"),
    ("C100", "Fact Gathering"),
    ("C200", "Researching Law"),
    ("C300", "Analysis and Advice"),
    ("C400", "Third Party Communication"),
];

/// Activity codes and their names.
pub const ACTIVITY_CODES: &[(&str, &str)] = &[
    ("A101", "Plan and prepare for"),
    ("A102", "Research"),
    ("A103", "Draft/revise"),
    ("A104", "Review/analyze"),
    ("A105", "Communicate (in firm)"),
    ("A106", "Communicate (with client)"),
    ("A107", "Communicate (other outside counsel)"),
    ("A108", "Communicate (other external)"),
    ("A109", "Appear for/attend"),
    ("A110", "Manage data/files"),
    ("A111", "Other"),
];

/// The code as stored (upper case, trimmed) if it is a known task code.
pub fn task(code: &str) -> Option<&'static str> {
    find(TASK_CODES, code)
}

/// The code as stored (upper case, trimmed) if it is a known activity code.
pub fn activity(code: &str) -> Option<&'static str> {
    find(ACTIVITY_CODES, code)
}

fn find(set: &'static [(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    let code = code.trim().to_ascii_uppercase();
    set.iter().map(|(c, _)| *c).find(|c| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_are_found_whatever_the_case() {
        assert_eq!(task("l120"), Some("L120"));
        assert_eq!(task(" C300 "), Some("C300"));
        assert_eq!(activity("A106"), Some("A106"));
        assert_eq!(task("L999"), None);
        assert_eq!(task("A101"), None, "an activity code is not a task code");
        assert_eq!(activity("L110"), None);
    }
}
