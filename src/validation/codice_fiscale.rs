//! Italian codice fiscale: the 16-character code of natural persons, or the
//! 11-digit numeric code of companies and other entities.

use super::partita_iva::validate_numeric_code;
use super::ValidationError;

const PERSON_LENGTH: usize = 16;
const COMPANY_LENGTH: usize = 11;

/// Letters that replace digits in omocodic codes (0-9 in order), issued when
/// two people would otherwise get the same code.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";

/// Weights for characters at odd (1-based) positions, indexed by value
/// (digit d and the d-th letter share a value).
const ODD_WEIGHTS: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

const EXPECT_LETTER: &str = "a letter";
const EXPECT_DIGIT: &str = "a digit or omocodia letter (L, M, N, P, Q, R, S, T, U, V)";
const EXPECT_MONTH: &str = "a month letter (A, B, C, D, E, H, L, M, P, R, S, T)";
const EXPECT_CHECK: &str = "a letter (the check character)";

#[derive(Clone, Copy)]
enum Slot {
    Letter,
    Digit,
    Month,
}

/// Layout of the first 15 characters: surname (3), name (3), year (2),
/// month (1), day (2), birthplace letter (1) and number (3).
const LAYOUT: [Slot; 15] = {
    use Slot::{Digit, Letter, Month};
    [
        Letter, Letter, Letter, Letter, Letter, Letter, Digit, Digit, Month, Digit, Digit, Letter,
        Digit, Digit, Digit,
    ]
};

/// Validates a codice fiscale and returns it uppercased without spaces.
///
/// Accepts both the 16-character personal code (including omocodic variants)
/// and the 11-digit numeric code of legal entities.
pub fn normalize_codice_fiscale(input: &str) -> Result<String, ValidationError> {
    // ASCII-only uppercasing maps each char to exactly one char (unlike
    // `to_uppercase`, e.g. 'ß' -> "SS"), so positions and lengths stay honest.
    let code: Vec<char> = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code.is_empty() {
        return Err(ValidationError::Empty);
    }
    let all_digits = code.iter().all(char::is_ascii_digit);
    if all_digits && code.len() == COMPANY_LENGTH {
        let code: String = code.into_iter().collect();
        validate_numeric_code(&code)?;
        return Ok(code);
    }
    if code.len() != PERSON_LENGTH {
        return Err(ValidationError::InvalidLength {
            // An all-digit value was presumably meant as a company code.
            expected: if all_digits {
                COMPANY_LENGTH
            } else {
                PERSON_LENGTH
            },
            actual: code.len(),
        });
    }

    for (i, (&c, slot)) in code.iter().zip(LAYOUT).enumerate() {
        let (ok, expected) = match slot {
            Slot::Letter => (c.is_ascii_uppercase(), EXPECT_LETTER),
            Slot::Digit => (digit_value(c).is_some(), EXPECT_DIGIT),
            Slot::Month => (is_one_of(c, MONTHS), EXPECT_MONTH),
        };
        if !ok {
            return Err(ValidationError::InvalidCharacter {
                position: i + 1,
                found: c,
                expected,
            });
        }
    }
    let found = code[PERSON_LENGTH - 1];
    if !found.is_ascii_uppercase() {
        return Err(ValidationError::InvalidCharacter {
            position: PERSON_LENGTH,
            found,
            expected: EXPECT_CHECK,
        });
    }

    // Women have 40 added to the day of birth.
    // Both positions passed the layout check, so the fallback is never used.
    let day = digit_value(code[9])
        .zip(digit_value(code[10]))
        .map_or(0, |(tens, units)| tens * 10 + units);
    if !matches!(day, 1..=31 | 41..=71) {
        return Err(ValidationError::InvalidDay { found: day });
    }

    let expected = check_char(&code[..PERSON_LENGTH - 1]);
    if expected != found {
        return Err(ValidationError::CheckDigitMismatch { expected, found });
    }
    Ok(code.into_iter().collect())
}

/// Check character for the first 15 characters of a personal codice fiscale,
/// or `None` unless `first15` is exactly 15 ASCII letters/digits (any case).
/// The layout itself (month letter, day range...) is not validated.
#[must_use]
pub fn codice_fiscale_check_char(first15: &str) -> Option<char> {
    let chars: Vec<char> = first15.chars().map(|c| c.to_ascii_uppercase()).collect();
    if chars.len() != PERSON_LENGTH - 1 || !chars.iter().all(char::is_ascii_alphanumeric) {
        return None;
    }
    Some(check_char(&chars))
}

/// Caller guarantees uppercase ASCII alphanumerics.
fn check_char(chars: &[char]) -> char {
    let sum: u32 = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let value = char_value(c);
            // Index 0 is position 1, an odd position.
            if i % 2 == 0 {
                ODD_WEIGHTS[value as usize]
            } else {
                value
            }
        })
        .sum();
    // sum % 26 < 26, so this is always an uppercase letter.
    char::from(b'A' + (sum % 26) as u8)
}

/// 0-9 for digits, 0-25 for letters A-Z.
fn char_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A'..='Z' => c as u32 - 'A' as u32,
        _ => 0,
    }
}

/// Numeric value of a digit position, undoing omocodia substitution.
fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    let index = OMOCODIA.iter().position(|&l| char::from(l) == c)?;
    u8::try_from(index).ok()
}

fn is_one_of(c: char, set: &[u8]) -> bool {
    set.iter().any(|&l| char::from(l) == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(code: &str) -> Result<String, ValidationError> {
        Ok(code.to_owned())
    }

    #[test]
    fn accepts_valid_personal_codes() {
        for code in ["RSSMRA85T10A562S", "MRTMTT25D09F205Z", "BNCLRA90A41H501F"] {
            assert_eq!(normalize_codice_fiscale(code), ok(code));
        }
    }

    #[test]
    fn normalises_case_and_spaces() {
        assert_eq!(
            normalize_codice_fiscale("  rss mra 85t10 a562s\t"),
            ok("RSSMRA85T10A562S")
        );
    }

    #[test]
    fn accepts_women_day_offset() {
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T50A562W"),
            ok("RSSMRA85T50A562W")
        );
    }

    #[test]
    fn accepts_omocodia() {
        // Last digit replaced (2 -> N).
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T10A56NH"),
            ok("RSSMRA85T10A56NH")
        );
        // Every digit position replaced; day "ML" = 10.
        assert_eq!(
            normalize_codice_fiscale("RSSMRAURTMLARSNL"),
            ok("RSSMRAURTMLARSNL")
        );
        // Day units replaced: "1L" = 10.
        assert_eq!(
            normalize_codice_fiscale("rssmra85t1la562v"),
            ok("RSSMRA85T1LA562V")
        );
    }

    #[test]
    fn accepts_company_numeric_code() {
        for code in ["01114601006", "80078750587"] {
            assert_eq!(normalize_codice_fiscale(code), ok(code));
        }
        assert_eq!(
            normalize_codice_fiscale("80078750588"),
            Err(ValidationError::CheckDigitMismatch {
                expected: '7',
                found: '8'
            })
        );
    }

    #[test]
    fn rejects_wrong_check_character() {
        let err = normalize_codice_fiscale("RSSMRA85T10A562X");
        assert_eq!(
            err,
            Err(ValidationError::CheckDigitMismatch {
                expected: 'S',
                found: 'X'
            })
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("check character should be 'S' but is 'X'".to_owned())
        );
        // A typo in the body is caught by the check character.
        assert!(matches!(
            normalize_codice_fiscale("RSSMRA86T10A562S"),
            Err(ValidationError::CheckDigitMismatch { found: 'S', .. })
        ));
        // A digit where the check letter belongs.
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T10A5621"),
            Err(ValidationError::InvalidCharacter {
                position: 16,
                found: '1',
                expected: EXPECT_CHECK
            })
        );
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T10A562"),
            Err(ValidationError::InvalidLength {
                expected: 16,
                actual: 15
            })
        );
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T10A562SS"),
            Err(ValidationError::InvalidLength {
                expected: 16,
                actual: 17
            })
        );
        assert_eq!(
            normalize_codice_fiscale("0111460100"),
            Err(ValidationError::InvalidLength {
                expected: 11,
                actual: 10
            })
        );
        assert_eq!(
            normalize_codice_fiscale(" \t "),
            Err(ValidationError::Empty)
        );
    }

    #[test]
    fn rejects_bad_structure() {
        assert_eq!(
            normalize_codice_fiscale("R5SMRA85T10A562S"),
            Err(ValidationError::InvalidCharacter {
                position: 2,
                found: '5',
                expected: EXPECT_LETTER
            })
        );
        assert_eq!(
            normalize_codice_fiscale("RSSMRA8AT10A562S"),
            Err(ValidationError::InvalidCharacter {
                position: 8,
                found: 'A',
                expected: EXPECT_DIGIT
            })
        );
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85F10A562S"),
            Err(ValidationError::InvalidCharacter {
                position: 9,
                found: 'F',
                expected: EXPECT_MONTH
            })
        );
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T10A5-2S"),
            Err(ValidationError::InvalidCharacter {
                position: 14,
                found: '-',
                expected: EXPECT_DIGIT
            })
        );
        // Non-ASCII input is reported, never panics.
        assert!(matches!(
            normalize_codice_fiscale("RSSMRÀ85T10A562S"),
            Err(ValidationError::InvalidCharacter {
                position: 6,
                found: 'À',
                ..
            })
        ));
    }

    #[test]
    fn rejects_impossible_day() {
        // Check character is correct, so only the day is wrong.
        assert_eq!(
            normalize_codice_fiscale("RSSMRA85T32A562Y"),
            Err(ValidationError::InvalidDay { found: 32 })
        );
        let first15 = "RSSMRA85T00A562";
        let code = format!(
            "{first15}{}",
            codice_fiscale_check_char(first15).unwrap_or('?')
        );
        assert_eq!(
            normalize_codice_fiscale(&code),
            Err(ValidationError::InvalidDay { found: 0 })
        );
    }

    #[test]
    fn check_char_helper() {
        assert_eq!(codice_fiscale_check_char("RSSMRA85T10A562"), Some('S'));
        assert_eq!(codice_fiscale_check_char("mrtmtt25d09f205"), Some('Z'));
        assert_eq!(codice_fiscale_check_char("RSSMRA85T10A56"), None);
        assert_eq!(codice_fiscale_check_char("RSSMRA85T10A56-"), None);
        assert_eq!(codice_fiscale_check_char("RSSMRA85T10A56é"), None);
    }
}
