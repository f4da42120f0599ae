//! Which offer-form identifiers mean which pay element, per tenant.
//!
//! The built-in mapping covers Lever's standard identifiers and common custom ones; a tenant's
//! document (`settings.field_mapping` in its secret) is merged over it and may override any
//! entry. The document format is in `docs/data-model.md`.

use crate::record::{PayKind, PayUnit, Period};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Standard identifiers read by name rather than through `offer_fields`.
pub const SALARY_AMOUNT: &str = "salary_amount";
pub const SALARY_INTERVAL: &str = "salary_interval";
pub const CURRENCY: &str = "compensation_currency";
pub const JOB_POSTING: &str = "job_posting";
pub const REQUISITION: &str = "requisition";
pub const START_DATE: &str = "anticipated_start_date";
pub const JOB_TITLE: &str = "job_title";
/// Always dropped: the candidate's name on the offer form.
pub const CANDIDATE_NAME: &str = "candidate_name";

/// How one offer field becomes a pay element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayFieldRule {
    pub kind: PayKind,
    #[serde(default)]
    pub unit: PayUnit,
    /// Defaults by kind: one-time for signing bonus, relocation and equity; yearly otherwise.
    #[serde(default)]
    pub period: Option<Period>,
}

impl PayFieldRule {
    fn new(kind: PayKind, unit: PayUnit) -> Self {
        PayFieldRule {
            kind,
            unit,
            period: None,
        }
    }

    /// The period this rule pays in.
    pub fn period(&self) -> Period {
        self.period.unwrap_or(match self.kind {
            PayKind::SigningBonus | PayKind::Relocation | PayKind::Equity => Period::OneTime,
            _ => Period::Year,
        })
    }
}

/// Requisition custom-field ids that carry job family, level and location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RequisitionFieldIds {
    pub job_family: Option<String>,
    pub level: Option<String>,
    pub location: Option<String>,
}

/// The effective mapping of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    pub offer_fields: BTreeMap<String, PayFieldRule>,
    pub personal_fields: BTreeSet<String>,
    pub allow_text_fields: BTreeSet<String>,
    pub requisition_fields: RequisitionFieldIds,
    pub annualization: BTreeMap<Period, Decimal>,
    pub default_currency: Option<String>,
}

/// A tenant's document: every part optional, merged over [`FieldMapping::default`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMappingOverrides {
    #[serde(default)]
    pub offer_fields: BTreeMap<String, PayFieldRule>,
    #[serde(default)]
    pub personal_fields: BTreeSet<String>,
    #[serde(default)]
    pub allow_text_fields: BTreeSet<String>,
    #[serde(default)]
    pub requisition_fields: Option<RequisitionFieldIds>,
    #[serde(default)]
    pub annualization: BTreeMap<Period, Decimal>,
    #[serde(default)]
    pub default_currency: Option<String>,
}

impl Default for FieldMapping {
    fn default() -> Self {
        use PayKind::*;
        use PayUnit::*;
        let offer_fields = [
            (
                "custom_signing_bonus",
                PayFieldRule::new(SigningBonus, Currency),
            ),
            (
                "custom_signon_bonus",
                PayFieldRule::new(SigningBonus, Currency),
            ),
            ("custom_equity", PayFieldRule::new(Equity, Shares)),
            ("custom_equity_value", PayFieldRule::new(Equity, Currency)),
            ("custom_equity_percent", PayFieldRule::new(Equity, Percent)),
            (
                "custom_target_bonus",
                PayFieldRule::new(TargetBonus, Currency),
            ),
            (
                "custom_target_bonus_percent",
                PayFieldRule::new(TargetBonus, Percent),
            ),
            ("custom_commission", PayFieldRule::new(Commission, Currency)),
            ("custom_ote", PayFieldRule::new(Commission, Currency)),
            ("custom_relocation", PayFieldRule::new(Relocation, Currency)),
            (
                "custom_relocation_bonus",
                PayFieldRule::new(Relocation, Currency),
            ),
        ];
        let annualization = [
            (Period::Year, Decimal::ONE),
            (Period::Month, Decimal::from(12)),
            (Period::Week, Decimal::from(52)),
            (Period::Hour, Decimal::from(2080)),
        ];

        FieldMapping {
            offer_fields: offer_fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            personal_fields: BTreeSet::new(),
            allow_text_fields: BTreeSet::new(),
            requisition_fields: RequisitionFieldIds {
                job_family: Some("job_family".into()),
                level: Some("job_level".into()),
                location: Some("location".into()),
            },
            annualization: annualization.into_iter().collect(),
            default_currency: None,
        }
    }
}

impl FieldMapping {
    /// The built-in mapping with a tenant's document merged over it.
    pub fn with_overrides(overrides: &FieldMappingOverrides) -> Self {
        let mut mapping = FieldMapping::default();

        mapping.offer_fields.extend(overrides.offer_fields.clone());
        mapping
            .personal_fields
            .extend(overrides.personal_fields.iter().cloned());
        mapping
            .allow_text_fields
            .extend(overrides.allow_text_fields.iter().cloned());
        if let Some(ids) = &overrides.requisition_fields {
            mapping.requisition_fields = ids.clone();
        }
        mapping
            .annualization
            .extend(overrides.annualization.clone());
        if overrides.default_currency.is_some() {
            mapping.default_currency = overrides.default_currency.clone();
        }
        mapping
    }

    /// How many of a period make a year, if the period recurs.
    pub fn factor(&self, period: Period) -> Option<Decimal> {
        self.annualization.get(&period).copied()
    }

    /// True for identifiers that must never be stored.
    pub fn is_personal(&self, identifier: &str) -> bool {
        identifier == CANDIDATE_NAME || self.personal_fields.contains(identifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenant_document_overrides_and_extends_defaults() {
        let overrides: FieldMappingOverrides = serde_json::from_value(json!({
            "offer_fields": {
                "custom_equity": { "kind": "equity", "unit": "currency" },
                "custom_sign_on_bonus": { "kind": "signing_bonus" }
            },
            "personal_fields": ["custom_preferred_name"],
            "annualization": { "hour": "2000" },
            "requisition_fields": { "job_family": "family", "level": "grade", "location": null }
        }))
        .expect("valid document");
        let mapping = FieldMapping::with_overrides(&overrides);

        assert_eq!(
            mapping.offer_fields["custom_equity"].unit,
            PayUnit::Currency
        );
        assert_eq!(
            mapping.offer_fields["custom_sign_on_bonus"].period(),
            Period::OneTime
        );
        assert_eq!(mapping.offer_fields["custom_ote"].kind, PayKind::Commission);
        assert_eq!(mapping.factor(Period::Hour), Some(Decimal::from(2000)));
        assert_eq!(mapping.factor(Period::Month), Some(Decimal::from(12)));
        assert!(
            mapping.is_personal("custom_preferred_name") && mapping.is_personal("candidate_name")
        );
        assert_eq!(mapping.requisition_fields.level.as_deref(), Some("grade"));
        assert_eq!(mapping.requisition_fields.location, None);
    }

    #[test]
    fn unknown_keys_in_a_tenant_document_are_refused() {
        let result: Result<FieldMappingOverrides, _> =
            serde_json::from_value(json!({ "offer_field": {} }));
        assert!(result.is_err());
    }

    #[test]
    fn periods_default_by_kind() {
        assert_eq!(
            PayFieldRule::new(PayKind::Relocation, PayUnit::Currency).period(),
            Period::OneTime
        );
        assert_eq!(
            PayFieldRule::new(PayKind::Commission, PayUnit::Currency).period(),
            Period::Year
        );
        assert_eq!(
            PayFieldRule::new(PayKind::TargetBonus, PayUnit::Percent).period(),
            Period::Year
        );
    }
}
