//! Consistent pseudonyms shaped like what they replace: the same value always gives the same
//! pseudonym (a keyed hash in the `Pseudonym` domain), so joins on values still line up, and
//! an email still looks like an email to whatever reads the dump.

use chrono::{Days, NaiveDate};

use crate::gdpr::{HashDomain, KeyedHasher};
use crate::validation::{codice_fiscale_check_char, partita_iva_check_digit};

/// The kind of personal value a column holds, which decides the pseudonym's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A person's or organisation's name.
    Name,
    Email,
    /// E.164 phone number.
    Phone,
    /// Codice fiscale: 16 characters for people, 11 digits for organisations.
    TaxCode,
    /// Partita IVA: 11 digits.
    VatNumber,
    /// Free text that can carry personal data.
    Text,
    Street,
    PostalCode,
    City,
    /// An ISO date (birth dates).
    Date,
    IpAddress,
    UserAgent,
    /// Identifiers and hashes from elsewhere, replaced by an opaque token.
    Opaque,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Name => "name",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::TaxCode => "tax-code",
            Kind::VatNumber => "vat-number",
            Kind::Text => "text",
            Kind::Street => "street",
            Kind::PostalCode => "postal-code",
            Kind::City => "city",
            Kind::Date => "date",
            Kind::IpAddress => "ip-address",
            Kind::UserAgent => "user-agent",
            Kind::Opaque => "opaque",
        }
    }
}

pub struct Pseudonymizer {
    hasher: KeyedHasher,
}

impl Pseudonymizer {
    pub fn new(hasher: KeyedHasher) -> Pseudonymizer {
        Pseudonymizer { hasher }
    }

    /// The pseudonym of `value` as a `kind`.
    pub fn pseudonym(&self, kind: Kind, value: &str) -> String {
        let hex = self
            .hasher
            .hash(HashDomain::Pseudonym, &format!("{}\0{value}", kind.tag()));
        let digits = Digits::of(&hex);
        match kind {
            Kind::Name => format!("Anon {}", capitalised(&hex[..10])),
            Kind::Email => format!("user-{}@example.com", &hex[..16]),
            Kind::Phone => format!("+393{}", digits.take(9)),
            Kind::TaxCode if value.chars().count() == 16 => tax_code(&hex, digits),
            Kind::TaxCode | Kind::VatNumber => vat_number(digits),
            Kind::Text => format!("[pseudonymised text {}]", &hex[..16]),
            Kind::Street => format!("Via {} {}", capitalised(&hex[..8]), 1 + digits.number(3)),
            Kind::PostalCode => digits.take(5),
            Kind::City => format!("Città {}", capitalised(&hex[..8])),
            Kind::Date => date(digits),
            Kind::IpAddress => format!("2001:db8::{}:{}", &hex[..4], &hex[4..8]),
            Kind::UserAgent => format!("agent-{}", &hex[..16]),
            Kind::Opaque => hex[..32].to_owned(),
        }
    }
}

/// Decimal digits drawn from a hex digest.
#[derive(Clone, Copy)]
struct Digits<'a>(&'a str);

impl<'a> Digits<'a> {
    fn of(hex: &'a str) -> Digits<'a> {
        Digits(hex)
    }

    /// `n` digits (at most 32), each from one byte of the digest.
    fn take(self, n: usize) -> String {
        self.0
            .as_bytes()
            .chunks(2)
            .take(n)
            .map(|pair| {
                let byte =
                    u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0);
                char::from(b'0' + byte % 10)
            })
            .collect()
    }

    fn number(self, n: usize) -> u64 {
        self.take(n).parse().unwrap_or(0)
    }
}

fn capitalised(hex: &str) -> String {
    // Hex digits as letters (0 -> a ... f -> p), so the name reads as a word.
    let letters: String = hex
        .chars()
        .map(|c| char::from(b'a' + c.to_digit(16).unwrap_or(0) as u8))
        .collect();
    let mut chars = letters.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A personal codice fiscale's layout (6 letters, 2 digits, letter, 2 digits, letter,
/// 3 digits) with a correct check character.
fn tax_code(hex: &str, digits: Digits<'_>) -> String {
    let letters: Vec<char> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let byte =
                u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0);
            char::from(b'A' + byte % 26)
        })
        .collect();
    let d = digits.take(5);
    let month_letters = ['A', 'B', 'C', 'D', 'E', 'H', 'L', 'M', 'P', 'R', 'S', 'T'];
    let month = month_letters[letters[9] as usize % month_letters.len()];
    let day = 1 + digits.number(8) % 28;
    let surname_and_name: String = letters[..6].iter().collect();
    let first15 = format!(
        "{surname_and_name}{}{month}{day:02}{}{}",
        &d[..2],
        letters[10],
        &d[2..5]
    );
    let check = codice_fiscale_check_char(&first15).unwrap_or('X');
    format!("{first15}{check}")
}

/// Eleven digits with a correct partita IVA check digit.
fn vat_number(digits: Digits<'_>) -> String {
    let first10 = digits.take(10);
    let check = partita_iva_check_digit(&first10).unwrap_or(0);
    format!("{first10}{check}")
}

/// A date between 1940 and 2000.
fn date(digits: Digits<'_>) -> String {
    let start = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or(NaiveDate::MIN);
    let day = start
        .checked_add_days(Days::new(digits.number(6) % (60 * 365)))
        .unwrap_or(start);
    day.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::{normalize_codice_fiscale, normalize_email, normalize_partita_iva};

    fn pseudonymizer() -> Pseudonymizer {
        Pseudonymizer::new(KeyedHasher::new(b"test key"))
    }

    #[test]
    fn pseudonyms_are_consistent_and_shaped_like_the_original() {
        let p = pseudonymizer();
        let email = p.pseudonym(Kind::Email, "giulia@example.it");
        assert_eq!(email, p.pseudonym(Kind::Email, "giulia@example.it"));
        assert_ne!(email, p.pseudonym(Kind::Email, "marco@example.it"));
        assert!(normalize_email(&email).is_ok(), "{email}");
        assert!(email.ends_with("@example.com"));

        let phone = p.pseudonym(Kind::Phone, "+393471234567");
        assert!(phone.starts_with("+393") && phone.len() == 13, "{phone}");
        assert!(phone[1..].chars().all(|c| c.is_ascii_digit()));

        let cf = p.pseudonym(Kind::TaxCode, "RSSMRA80A01H501U");
        assert_eq!(cf.len(), 16);
        assert!(normalize_codice_fiscale(&cf).is_ok(), "{cf}");
        let org_cf = p.pseudonym(Kind::TaxCode, "01234567897");
        assert_eq!(org_cf.len(), 11);

        let piva = p.pseudonym(Kind::VatNumber, "01234567897");
        assert!(normalize_partita_iva(&piva).is_ok(), "{piva}");

        let date = p.pseudonym(Kind::Date, "1980-05-17");
        assert!(
            NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok(),
            "{date}"
        );
        assert_eq!(p.pseudonym(Kind::PostalCode, "20121").len(), 5);
    }
}
