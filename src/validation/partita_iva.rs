//! Italian partita IVA (VAT number): 11 digits, the last one a Luhn-like check
//! digit. Companies' numeric codice fiscale uses the same format.

use super::ValidationError;

const LENGTH: usize = 11;

/// Validates a partita IVA and returns its 11 digits.
///
/// Accepts surrounding/inner whitespace and an optional "IT" prefix (any case),
/// as printed on invoices.
pub fn normalize_partita_iva(input: &str) -> Result<String, ValidationError> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = match compact.get(..2) {
        Some(prefix) if prefix.eq_ignore_ascii_case("IT") => &compact[2..],
        _ => compact.as_str(),
    };
    if digits.is_empty() {
        return Err(ValidationError::Empty);
    }
    validate_numeric_code(digits)?;
    Ok(digits.to_owned())
}

/// Check digit for the first 10 digits of a partita IVA, or `None` unless
/// `first10` is exactly 10 ASCII digits.
#[must_use]
pub fn partita_iva_check_digit(first10: &str) -> Option<u8> {
    let bytes = first10.as_bytes();
    if bytes.len() != LENGTH - 1 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(check_digit(bytes.iter().map(|b| b - b'0')))
}

/// Validates an 11-digit numeric code (partita IVA or company codice fiscale).
/// Characters are checked before the length so that a stray letter or symbol is
/// reported where it is rather than as a confusing length error.
pub(super) fn validate_numeric_code(code: &str) -> Result<(), ValidationError> {
    if let Some((i, found)) = code.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(ValidationError::InvalidCharacter {
            position: i + 1,
            found,
            expected: "a digit",
        });
    }
    let actual = code.len(); // all ASCII here, so bytes == characters
    if actual != LENGTH {
        return Err(ValidationError::InvalidLength {
            expected: LENGTH,
            actual,
        });
    }
    let digits: Vec<u8> = code.bytes().map(|b| b - b'0').collect();
    let expected = check_digit(digits[..LENGTH - 1].iter().copied());
    let found = digits[LENGTH - 1];
    if expected != found {
        return Err(ValidationError::CheckDigitMismatch {
            expected: char::from(b'0' + expected),
            found: char::from(b'0' + found),
        });
    }
    Ok(())
}

/// Digits at odd (1-based) positions count as is; digits at even positions are
/// doubled, minus 9 when the result exceeds 9.
fn check_digit(digits: impl Iterator<Item = u8>) -> u8 {
    let sum: u32 = digits
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    // sum % 10 < 10, so the result always fits a decimal digit.
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_numbers() {
        for code in ["01114601006", "12345678903", "00488410010", "06363391001"] {
            assert_eq!(normalize_partita_iva(code).as_deref(), Ok(code));
        }
    }

    #[test]
    fn strips_prefix_and_spaces() {
        assert_eq!(
            normalize_partita_iva("  IT 011 146 010 06 ").as_deref(),
            Ok("01114601006")
        );
        assert_eq!(
            normalize_partita_iva("it01114601006").as_deref(),
            Ok("01114601006")
        );
    }

    #[test]
    fn rejects_wrong_check_digit() {
        assert_eq!(
            normalize_partita_iva("01114601007"),
            Err(ValidationError::CheckDigitMismatch {
                expected: '6',
                found: '7'
            })
        );
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(
            normalize_partita_iva("0111460100"),
            Err(ValidationError::InvalidLength {
                expected: 11,
                actual: 10
            })
        );
        assert_eq!(
            normalize_partita_iva("IT011146010060"),
            Err(ValidationError::InvalidLength {
                expected: 11,
                actual: 12
            })
        );
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(
            normalize_partita_iva("0111460100A"),
            Err(ValidationError::InvalidCharacter {
                position: 11,
                found: 'A',
                expected: "a digit"
            })
        );
        assert_eq!(
            normalize_partita_iva("0111-4601006"),
            Err(ValidationError::InvalidCharacter {
                position: 5,
                found: '-',
                expected: "a digit"
            })
        );
        // Multi-byte input must not panic on slicing.
        assert!(normalize_partita_iva("é0111460100").is_err());
        assert!(normalize_partita_iva("Iè").is_err());
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(normalize_partita_iva("   "), Err(ValidationError::Empty));
        assert_eq!(normalize_partita_iva("IT"), Err(ValidationError::Empty));
    }

    #[test]
    fn check_digit_helper() {
        assert_eq!(partita_iva_check_digit("0111460100"), Some(6));
        assert_eq!(partita_iva_check_digit("1234567890"), Some(3));
        assert_eq!(partita_iva_check_digit("123456789"), None);
        assert_eq!(partita_iva_check_digit("123456789A"), None);
        // Every generated number must round-trip through the validator.
        for n in 0..200u64 {
            let first10 = format!("{:010}", n * 48_271 % 10_000_000_000);
            let check = partita_iva_check_digit(&first10);
            assert!(check.is_some());
            let full = format!("{first10}{}", check.unwrap_or_default());
            assert_eq!(normalize_partita_iva(&full), Ok(full.clone()));
        }
    }
}
