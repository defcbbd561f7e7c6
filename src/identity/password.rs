//! Passwords: argon2id hashes and a policy that tells the user why a password is refused.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{Error, Result};

pub const MIN_LENGTH: usize = 12;

/// Words an attacker of an Italian law firm tries first, given to the strength estimator
/// (zxcvbn) on top of its English dictionaries and lists of leaked passwords.
const LOCAL_WORDS: &[&str] = &[
    "avvocato",
    "avvocata",
    "avvocati",
    "avv",
    "studio",
    "studiolegale",
    "legale",
    "legali",
    "giustizia",
    "tribunale",
    "corte",
    "cassazione",
    "giudice",
    "sentenza",
    "causa",
    "cause",
    "diritto",
    "legge",
    "codice",
    "contratto",
    "cliente",
    "clienti",
    "pratica",
    "pratiche",
    "parcella",
    "notaio",
    "procura",
    "udienza",
    "ricorso",
    "appello",
    "penale",
    "civile",
    "lexgate",
    "segreto",
    "segreta",
    "chiave",
    "accesso",
    "entra",
    "benvenuto",
    "benvenuta",
    "ciao",
    "amore",
    "tesoro",
    "ufficio",
    "lavoro",
    "italia",
    "forza",
    "juventus",
    "milan",
    "inter",
    "roma",
    "napoli",
    "lazio",
    "milano",
    "torino",
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
    "estate",
    "inverno",
    "primavera",
    "autunno",
    "qwerty",
    "password",
];

/// zxcvbn's "safely unguessable" (about 10^10 guesses): resists an offline attack on a
/// slow hash, which argon2id is.
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Why `password` is not good enough for the user with `email` and `display_name`, if it is not.
pub fn policy_violations(password: &str, email: &str, display_name: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    let lower = password.to_lowercase();
    if password.chars().count() < MIN_LENGTH {
        reasons.push(format!("use at least {MIN_LENGTH} characters"));
    }
    let mut chars = lower.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            reasons.push("do not repeat one character".to_owned());
        }
    }
    let local_part = email.split('@').next().unwrap_or("").to_lowercase();
    let personal = std::iter::once(local_part.as_str())
        .chain(local_part.split(['.', '_', '-', '+']))
        .chain(display_name.split_whitespace())
        .map(str::to_lowercase)
        .filter(|part| part.chars().count() >= 3)
        .collect::<Vec<_>>();
    if personal.iter().any(|part| lower.contains(part.as_str())) {
        reasons.push("do not use your name or email address in the password".to_owned());
    }
    if reasons.is_empty() {
        let inputs: Vec<&str> = personal
            .iter()
            .map(String::as_str)
            .chain(LOCAL_WORDS.iter().copied())
            .collect();
        let estimate = zxcvbn::zxcvbn(password, &inputs);
        if estimate.score() < MIN_SCORE {
            let warning = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!(": {w}"))
                .unwrap_or_default();
            reasons.push(format!(
                "this password is too easy to guess, like common passwords and their \
                 variations{warning}; use several unrelated words"
            ));
        }
    }
    reasons
}

/// Refuses a weak password, naming `field` and every reason.
pub fn check_policy(field: &str, password: &str, email: &str, display_name: &str) -> Result<()> {
    let reasons = policy_violations(password, email, display_name);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(field, reasons.join("; ")))
    }
}

/// An argon2id hash with a fresh salt, in PHC string form.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_each_problem() {
        assert!(
            policy_violations("Tr0mbone-Giallo-42", "mario.rossi@studio.it", "Mario Rossi")
                .is_empty()
        );
        assert_eq!(policy_violations("short", "a@b.it", "A B").len(), 1);
        for weak in [
            "password1234",
            "Password123!",
            "Qwerty123456!",
            "Welcome12345!",
            "Avvocato2026!",
            "StudioLegale1!",
            "Giustizia2026",
        ] {
            assert!(
                policy_violations(weak, "a@b.it", "A B")
                    .iter()
                    .any(|r| r.contains("common passwords")),
                "{weak} passed"
            );
        }
        for strong in [
            "Ombrello-Verde-2026",
            "Sole-Mare-Vento-2026",
            "Nuovo-Ombrello-2027",
        ] {
            assert!(
                policy_violations(strong, "carla.neri@studio.it", "Carla Neri").is_empty(),
                "{strong} refused"
            );
        }
        assert!(policy_violations(
            "rossi-is-great-2026",
            "mario.rossi@studio.it",
            "Mario Rossi"
        )
        .iter()
        .any(|r| r.contains("name or email")));
        assert!(policy_violations("aaaaaaaaaaaaaa", "x@y.it", "X Y")
            .iter()
            .any(|r| r.contains("repeat")));
    }

    #[test]
    fn hashes_verify_and_differ() {
        let first = hash("Tr0mbone-Giallo-42").expect("hash");
        let second = hash("Tr0mbone-Giallo-42").expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "salted");
        assert!(verify("Tr0mbone-Giallo-42", &first));
        assert!(!verify("Tr0mbone-Giallo-43", &first));
        assert!(!verify("anything", "not a hash"));
    }
}
