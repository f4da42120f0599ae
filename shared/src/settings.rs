//! Per-tenant behaviour: eligibility, personal-data mode and the offer field mapping.

use crate::normalize::mapping::FieldMappingOverrides;
use serde::Deserialize;

/// What a tenant configures in the `settings` object of its secret. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Offers are read only for opportunities that reached this stage (or a later one).
    /// Absent: every opportunity is eligible.
    #[serde(default)]
    pub min_stage_id: Option<String>,
    /// Non-hired archive reasons that still make an opportunity eligible (e.g. "Offer declined").
    #[serde(default)]
    pub offer_archive_reason_ids: Vec<String>,
    /// Overrides the deployment-wide PII mode.
    #[serde(default)]
    pub pii_mode: Option<PiiMode>,
    /// Merged over the built-in field mapping.
    #[serde(default)]
    pub field_mapping: FieldMappingOverrides,
}

/// How candidates are referenced in stored records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiMode {
    /// A keyed HMAC of the Lever contact id.
    #[default]
    Pseudonymize,
    /// No candidate reference at all.
    Omit,
}

impl std::str::FromStr for PiiMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pseudonymize" => Ok(PiiMode::Pseudonymize),
            "omit" => Ok(PiiMode::Omit),
            other => Err(format!(
                "PII mode must be pseudonymize or omit, not {other:?}"
            )),
        }
    }
}
