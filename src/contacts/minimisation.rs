//! Data minimisation (Art. 5(1)(c) GDPR): optional personal fields of a contact that a firm
//! which does not need them switches off (`disabled_contact_fields`). A switched-off field
//! refuses writes, reads as null, and the record of processing lists it as not collected.

use chrono::NaiveDate;

use crate::error::Validator;
use crate::gdpr::registers::export::OptionalFieldStatus;

/// An optional personal field of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionalContactField {
    BirthDate,
    PersonalInterests,
    FamilyDetails,
}

impl OptionalContactField {
    pub const ALL: [OptionalContactField; 3] = [
        OptionalContactField::BirthDate,
        OptionalContactField::PersonalInterests,
        OptionalContactField::FamilyDetails,
    ];

    /// The field's name in the API and in the settings.
    pub fn name(self) -> &'static str {
        match self {
            OptionalContactField::BirthDate => "birthDate",
            OptionalContactField::PersonalInterests => "personalInterests",
            OptionalContactField::FamilyDetails => "familyDetails",
        }
    }

    /// What the field holds, for the record of processing.
    pub fn description(self) -> &'static str {
        match self {
            OptionalContactField::BirthDate => "date of birth",
            OptionalContactField::PersonalInterests => "personal interests",
            OptionalContactField::FamilyDetails => "family details",
        }
    }

    /// Every optional field with whether it is collected, as the record of processing
    /// (Art. 30) lists them.
    pub fn statuses(disabled: &[OptionalContactField]) -> Vec<OptionalFieldStatus> {
        Self::ALL
            .into_iter()
            .map(|f| OptionalFieldStatus {
                field: f.name(),
                description: f.description(),
                collected: !disabled.contains(&f),
            })
            .collect()
    }

    pub fn parse(name: &str) -> Option<OptionalContactField> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Refuses a value for a switched-off field, naming the input field.
pub(super) fn refuse_if_disabled(
    v: &mut Validator,
    disabled: &[OptionalContactField],
    field: OptionalContactField,
    given: bool,
) {
    if given && disabled.contains(&field) {
        v.add(
            format!("input.{}", field.name()),
            format!(
                "{} is disabled by data minimisation (disabled_contact_fields): the firm does not collect it",
                field.name()
            ),
        );
    }
}

/// A birth date must lie in the past and within a plausible lifetime.
pub(super) fn check_birth_date(v: &mut Validator, date: Option<NaiveDate>) -> Option<NaiveDate> {
    let date = date?;
    let today = chrono::Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if date > today || date < earliest {
        v.add(
            "input.birthDate",
            "must be a past date not before 1900-01-01",
        );
    }
    Some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for field in OptionalContactField::ALL {
            assert_eq!(OptionalContactField::parse(field.name()), Some(field));
        }
        assert_eq!(OptionalContactField::parse("birth_date"), None);
    }
}
