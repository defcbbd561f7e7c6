//! Normalisation and validation of user-supplied identifiers and contact data:
//! Italian codice fiscale and partita IVA, phone numbers (E.164) and e-mail
//! addresses.
//!
//! Every `normalize_*` function returns the canonical form to store, or a
//! [`ValidationError`] whose message can be shown to the user as is.

mod codice_fiscale;
mod email;
mod input;
mod partita_iva;
mod phone;

pub use codice_fiscale::{codice_fiscale_check_char, normalize_codice_fiscale};
pub use email::{email_key, normalize_email};
pub use input::{apply_change, non_blank};
pub use partita_iva::{normalize_partita_iva, partita_iva_check_digit};
pub use phone::normalize_phone;

/// Why a value was rejected. Positions are 1-based and refer to the value
/// after normalisation (spaces removed, any "IT" prefix stripped), because
/// that is how users count characters in a printed code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Nothing but whitespace was given.
    #[error("the value is empty")]
    Empty,

    /// The code has the wrong number of characters.
    #[error("must be {expected} characters long, but is {actual}")]
    InvalidLength { expected: usize, actual: usize },

    /// A character is not allowed at this position.
    #[error("character {position} should be {expected}, but is '{found}'")]
    InvalidCharacter {
        position: usize,
        found: char,
        /// What the position accepts, phrased for the user (e.g. "a digit").
        expected: &'static str,
    },

    /// The day of birth in a codice fiscale (characters 10-11) is out of range.
    #[error("day of birth must be 01-31 (men) or 41-71 (women), but is {found:02}")]
    InvalidDay { found: u8 },

    /// The final check character does not match the rest of the code.
    #[error("check character should be '{expected}' but is '{found}'")]
    CheckDigitMismatch { expected: char, found: char },

    /// The e-mail address is malformed; the string says how.
    #[error("invalid e-mail address: {0}")]
    InvalidEmail(String),

    /// The phone number cannot be parsed or is not a valid number.
    #[error("invalid phone number: {0}")]
    InvalidPhone(String),

    /// The region passed as phone default is not a known ISO 3166 code.
    #[error("unknown region '{0}' (expected a two-letter code such as \"IT\")")]
    UnknownRegion(String),
}

#[cfg(test)]
mod tests {
    use super::ValidationError;

    #[test]
    fn messages_are_human_readable() {
        let e = ValidationError::CheckDigitMismatch {
            expected: 'X',
            found: 'Y',
        };
        assert_eq!(e.to_string(), "check character should be 'X' but is 'Y'");

        let e = ValidationError::InvalidCharacter {
            position: 7,
            found: 'A',
            expected: "a digit",
        };
        assert_eq!(e.to_string(), "character 7 should be a digit, but is 'A'");

        let e = ValidationError::InvalidLength {
            expected: 16,
            actual: 15,
        };
        assert_eq!(e.to_string(), "must be 16 characters long, but is 15");

        assert_eq!(
            ValidationError::InvalidDay { found: 5 }.to_string(),
            "day of birth must be 01-31 (men) or 41-71 (women), but is 05"
        );
    }
}
