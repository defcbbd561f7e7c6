//! The firm as it appears on its invoices (the FatturaPA cedente/prestatore and the LEDES law
//! firm ID), from the `[firm]` table of the config file.

use serde::Deserialize;

/// The firm's invoicing details. Exports that need them say which is missing.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FirmProfile {
    /// The name invoices carry (Denominazione), e.g. "Studio Legale Rossi".
    pub name: Option<String>,
    /// The firm's partita IVA (11 digits).
    pub partita_iva: Option<String>,
    /// The firm's codice fiscale, when it differs from the partita IVA.
    pub codice_fiscale: Option<String>,
    /// The tax regime (RegimeFiscale), RF01 (ordinary) unless configured.
    pub regime_fiscale: Option<String>,
    /// Street and number of the firm's seat.
    pub street: Option<String>,
    /// Its postal code (CAP).
    pub postal_code: Option<String>,
    /// Its municipality.
    pub city: Option<String>,
    /// Its province code, e.g. "MI".
    pub province: Option<String>,
    /// ISO 3166-1 alpha-2 country code; IT unless configured.
    pub country: Option<String>,
    /// The LAW_FIRM_ID of LEDES exports; the partita IVA unless configured.
    pub ledes_id: Option<String>,
}

impl FirmProfile {
    pub fn regime(&self) -> &str {
        self.regime_fiscale.as_deref().unwrap_or("RF01")
    }

    pub fn country_code(&self) -> &str {
        self.country.as_deref().unwrap_or("IT")
    }

    pub fn ledes_firm_id(&self) -> &str {
        self.ledes_id
            .as_deref()
            .or(self.partita_iva.as_deref())
            .unwrap_or("")
    }
}
