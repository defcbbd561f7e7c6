//! Passwords: argon2id hashes and a policy that tells the user why a password is refused.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{Error, Result};

pub const MIN_LENGTH: usize = 12;

/// Passwords attackers try first (the head of public breach lists), lower-case.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "qwertyuiop12",
    "password1234",
    "password12345",
    "passwordpassword",
    "iloveyou1234",
    "qwertyqwerty",
    "abcdefghijkl",
    "111111111111",
    "000000000000",
    "123123123123",
    "letmein12345",
    "welcome12345",
    "administrator",
    "changeme1234",
    "passw0rd1234",
    "password2024",
    "password2025",
    "password2026",
    "avvocato1234",
    "studiolegale",
    "giustizia123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "zaq12wsxcde3",
    "trustno11234",
    "football1234",
    "baseball1234",
    "superman1234",
];

/// Why `password` is not good enough for the user with `email` and `display_name`, if it is not.
pub fn policy_violations(password: &str, email: &str, display_name: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    let lower = password.to_lowercase();
    if password.chars().count() < MIN_LENGTH {
        reasons.push(format!("use at least {MIN_LENGTH} characters"));
    }
    if COMMON.contains(&lower.as_str()) {
        reasons.push("this password is on lists of common passwords".to_owned());
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
        assert!(policy_violations("password1234", "a@b.it", "A B")
            .iter()
            .any(|r| r.contains("common")));
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
