//! Phone numbers, validated against libphonenumber metadata and stored in
//! E.164 form so that the same number always compares equal.

use phonenumber::country;
use phonenumber::Mode;

use super::ValidationError;

/// Validates a phone number and returns it in E.164 form (e.g. "+390212345678").
///
/// Numbers without an international prefix are read as numbers of
/// `default_region` (ISO 3166 alpha-2, e.g. "IT"); an empty `default_region`
/// accepts international numbers only.
pub fn normalize_phone(input: &str, default_region: &str) -> Result<String, ValidationError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ValidationError::Empty);
    }
    let region_code = default_region.trim().to_ascii_uppercase();
    let region = if region_code.is_empty() {
        None
    } else {
        let id = region_code
            .parse::<country::Id>()
            .map_err(|_| ValidationError::UnknownRegion(default_region.trim().to_owned()))?;
        Some(id)
    };

    let number = phonenumber::parse(region, input).map_err(|e| {
        ValidationError::InvalidPhone(format!("'{input}' cannot be read as a phone number ({e})"))
    })?;
    // E.164 has no room for an extension; refuse rather than silently drop it.
    if number.extension().is_some() {
        return Err(ValidationError::InvalidPhone(format!(
            "'{input}' has an extension, which cannot be stored; enter the main number only"
        )));
    }
    if !phonenumber::is_valid(&number) {
        let hint = match region {
            Some(_) => format!(
                "check the digits; numbers without a leading '+' are read as {region_code} numbers"
            ),
            None => "check the digits and the country code".to_owned(),
        };
        return Err(ValidationError::InvalidPhone(format!(
            "'{input}' is not a valid phone number ({hint})"
        )));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str, region: &str) -> Result<String, ValidationError> {
        normalize_phone(input, region)
    }

    fn ok(s: &str) -> Result<String, ValidationError> {
        Ok(s.to_owned())
    }

    #[test]
    fn italian_numbers_with_default_region() {
        assert_eq!(e164("02 1234 5678", "IT"), ok("+390212345678"));
        assert_eq!(e164(" 02-1234-5678 ", "it"), ok("+390212345678"));
        assert_eq!(e164("06 6982 1234", "IT"), ok("+390669821234"));
        assert_eq!(e164("347 123 4567", "IT"), ok("+393471234567"));
        assert_eq!(e164("0039 02 1234 5678", "IT"), ok("+390212345678"));
        assert_eq!(e164("+39 (02) 1234.5678", "IT"), ok("+390212345678"));
    }

    #[test]
    fn international_numbers() {
        assert_eq!(e164("+44 20 7946 0958", "IT"), ok("+442079460958"));
        assert_eq!(e164("020 7946 0958", "GB"), ok("+442079460958"));
        assert_eq!(e164("+1 650-253-0000", "IT"), ok("+16502530000"));
        assert_eq!(e164("+39 02 1234 5678", ""), ok("+390212345678"));
    }

    #[test]
    fn rejects_invalid_numbers() {
        for input in [
            "12",
            "abc",
            "+39 123",
            "+44 20 7946 095",
            "+999 123456789",
            "02 1234 5678 9999 9999",
            "  2 22#:",
        ] {
            assert!(
                matches!(e164(input, "IT"), Err(ValidationError::InvalidPhone(_))),
                "{input:?} should be rejected, got {:?}",
                e164(input, "IT")
            );
        }
        // Without a region a national number is ambiguous.
        assert!(matches!(
            e164("02 1234 5678", ""),
            Err(ValidationError::InvalidPhone(_))
        ));
    }

    #[test]
    fn invalid_message_explains_region() {
        let err = e164("+44 20 7946 095", "IT").map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(
                "invalid phone number: '+44 20 7946 095' is not a valid phone number \
                 (check the digits; numbers without a leading '+' are read as IT numbers)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let long = "1".repeat(300);
        for input in [
            "+",
            "++39",
            "#",
            "*21#",
            "(((((",
            "tel:",
            "\u{662}\u{660}\u{661}",
            long.as_str(),
        ] {
            assert!(e164(input, "IT").is_err(), "{input:?} should be rejected");
        }
    }

    #[test]
    fn rejects_extensions() {
        assert!(matches!(
            e164("+39 02 1234 5678 ext. 12", "IT"),
            Err(ValidationError::InvalidPhone(r)) if r.contains("extension")
        ));
    }

    #[test]
    fn rejects_empty_and_unknown_region() {
        assert_eq!(e164("  ", "IT"), Err(ValidationError::Empty));
        assert_eq!(
            e164("02 1234 5678", "XX"),
            Err(ValidationError::UnknownRegion("XX".to_owned()))
        );
        assert_eq!(
            e164("02 1234 5678", "Italy"),
            Err(ValidationError::UnknownRegion("Italy".to_owned()))
        );
    }
}
