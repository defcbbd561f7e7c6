//! Pragmatic e-mail address validation: catches typos and pasted garbage, not a
//! full RFC 5322 parser (quoted local parts and IP literals are rejected).

use super::ValidationError;

const MAX_TOTAL: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;
/// Characters that are only legal inside a quoted local part, which we do not
/// support; seeing one usually means a display name was pasted along.
const LOCAL_FORBIDDEN: &str = "()<>[]:;,\\\"";

/// Validates an e-mail address and returns it trimmed with the domain
/// lowercased. The local part is kept as given because servers may treat it
/// case-sensitively.
pub fn normalize_email(input: &str) -> Result<String, ValidationError> {
    let address = input.trim();
    if address.is_empty() {
        return Err(ValidationError::Empty);
    }
    // Lengths are in bytes, as RFC 5321 counts octets; for ASCII that equals
    // characters.
    if address.len() > MAX_TOTAL {
        return Err(invalid(format!(
            "it is too long ({} characters, at most {MAX_TOTAL} allowed)",
            address.len()
        )));
    }
    if address.chars().any(char::is_whitespace) {
        return Err(invalid("it must not contain spaces"));
    }
    if address.chars().any(char::is_control) {
        return Err(invalid("it contains an invisible control character"));
    }
    let (local, domain) = match address.matches('@').count() {
        0 => return Err(invalid("it has no '@'")),
        1 => address.split_once('@').unwrap_or_default(),
        n => {
            return Err(invalid(format!(
                "it must contain exactly one '@', found {n}"
            )))
        }
    };
    check_local(local)?;
    check_domain(domain)?;
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Fully lowercased address, used to detect duplicates regardless of how the
/// user capitalised it.
#[must_use]
pub fn email_key(address: &str) -> String {
    address.trim().to_lowercase()
}

fn check_local(local: &str) -> Result<(), ValidationError> {
    if local.is_empty() {
        return Err(invalid("there is nothing before the '@'"));
    }
    if local.len() > MAX_LOCAL {
        return Err(invalid(format!(
            "the part before the '@' is too long ({} characters, at most {MAX_LOCAL} allowed)",
            local.len()
        )));
    }
    if let Some(c) = local.chars().find(|&c| LOCAL_FORBIDDEN.contains(c)) {
        return Err(invalid(format!(
            "the part before the '@' contains '{c}', which is not allowed"
        )));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(invalid(
            "the part before the '@' must not start or end with a dot or have two dots in a row",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), ValidationError> {
    if domain.is_empty() {
        return Err(invalid("there is nothing after the '@'"));
    }
    if !domain.contains('.') {
        return Err(invalid(format!(
            "the domain '{domain}' must contain a dot (e.g. example.com)"
        )));
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(invalid(format!(
                "the domain '{domain}' has an empty part (a leading, trailing or doubled dot)"
            )));
        }
        // Non-ASCII domains must be given in their punycode (xn--) form.
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(invalid(format!(
                "the domain contains '{c}'; only letters, digits, hyphens and dots are allowed"
            )));
        }
        if label.len() > MAX_LABEL {
            return Err(invalid(format!(
                "the domain part '{label}' is too long (at most {MAX_LABEL} characters)"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(format!(
                "the domain part '{label}' must not start or end with a hyphen"
            )));
        }
    }
    // An all-numeric top-level domain means an IP address, which we don't accept.
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "the domain '{domain}' must end in a name such as .it or .com"
        )));
    }
    Ok(())
}

fn invalid(reason: impl Into<String>) -> ValidationError {
    ValidationError::InvalidEmail(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(input: &str) -> String {
        match normalize_email(input) {
            Err(ValidationError::InvalidEmail(r)) => r,
            other => panic!("expected InvalidEmail for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_and_normalises_good_addresses() {
        let cases = [
            (
                "  Mario.Rossi@Studio-Legale.IT ",
                "Mario.Rossi@studio-legale.it",
            ),
            (
                "avv.bianchi+pec@pec.ordineavvocati.MI.it",
                "avv.bianchi+pec@pec.ordineavvocati.mi.it",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            ("info@xn--mller-kva.de", "info@xn--mller-kva.de"),
            ("a@b.co", "a@b.co"),
            ("user_1@mail-2.example.com", "user_1@mail-2.example.com"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_email(input).as_deref(), Ok(expected), "{input}");
        }
        let max_local = format!("{}@example.com", "a".repeat(64));
        assert_eq!(normalize_email(&max_local), Ok(max_local.clone()));
    }

    #[test]
    fn key_is_fully_lowercase() {
        assert_eq!(email_key("Mario.Rossi@Studio.IT"), "mario.rossi@studio.it");
        assert_eq!(
            email_key(" Mario.Rossi@studio.it"),
            email_key("mario.rossi@STUDIO.it ")
        );
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(normalize_email("   "), Err(ValidationError::Empty));
    }

    #[test]
    fn rejects_bad_addresses() {
        assert_eq!(reason("plainaddress"), "it has no '@'");
        assert_eq!(
            reason("a@b@c.it"),
            "it must contain exactly one '@', found 2"
        );
        assert_eq!(reason("@example.com"), "there is nothing before the '@'");
        assert_eq!(reason("user@"), "there is nothing after the '@'");
        assert_eq!(
            reason("user@localhost"),
            "the domain 'localhost' must contain a dot (e.g. example.com)"
        );
        assert_eq!(
            reason("user name@example.com"),
            "it must not contain spaces"
        );
        assert_eq!(reason("user@exa mple.com"), "it must not contain spaces");
        assert_eq!(
            reason("user@\u{7}example.com"),
            "it contains an invisible control character"
        );
        assert!(reason("user@example..com").contains("empty part"));
        assert!(reason("user@example.com.").contains("empty part"));
        assert!(reason("user@-example.com").contains("hyphen"));
        assert!(reason("user@exa_mple.com").contains("'_'"));
        assert!(reason("user@müller.de").contains("'ü'"));
        assert!(reason("user@192.168.1.1").contains("must end in a name"));
        assert!(reason(".user@example.com").contains("dot"));
        assert!(reason("us..er@example.com").contains("two dots"));
        assert!(reason("Mario<m@example.com>").contains("'<'"));
        assert!(reason(&format!("{}@example.com", "a".repeat(65))).contains("at most 64"));
        assert!(reason(&format!("a@{}.example.com", "b".repeat(64))).contains("at most 63"));
        let long = format!("a@{}.com", vec!["b".repeat(60); 5].join("."));
        assert!(reason(&long).contains("at most 254"));
    }

    #[test]
    fn error_message_is_prefixed() {
        assert_eq!(
            normalize_email("nobody").map_err(|e| e.to_string()),
            Err("invalid e-mail address: it has no '@'".to_owned())
        );
    }
}
