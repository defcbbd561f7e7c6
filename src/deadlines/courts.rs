//! The courts a term can be computed for, from the settings: each court's patron saint day
//! is a holiday in its own offices (a per-court setting, as holidays go by place).

use std::sync::Arc;

use serde::Deserialize;

use super::holidays::MonthDay;
use crate::error::{Error, Result};

/// One court, as the `[[courts]]` tables of the config file give it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Court {
    /// What clients name the court by in `rules.court`, e.g. `milano`.
    pub code: String,
    pub name: String,
    /// `MM-DD`, e.g. `12-07` for Sant'Ambrogio in Milan.
    pub patron_day: MonthDay,
}

/// The configured courts.
#[derive(Debug, Clone, Default)]
pub struct Courts(Arc<[Court]>);

impl Courts {
    pub fn new(courts: Vec<Court>) -> Courts {
        Courts(courts.into())
    }

    /// The court `code` names (case-insensitively); an unknown one is bad input at `field`.
    pub fn find(&self, field: &str, code: &str) -> Result<&Court> {
        self.0
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| Error::invalid(field, format!("no court `{code}` is configured")))
    }
}

impl TryFrom<String> for MonthDay {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<MonthDay, String> {
        text.parse()
    }
}
