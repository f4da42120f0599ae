//! Which opportunities' offers are worth a Lever call.
//!
//! An opportunity is eligible when it ever reached the tenant's minimum stage or a later one
//! (by the `toStageIndex` of its stage changes, or its current stage's position), or when it
//! is archived with a hired reason or one of the tenant's offer-related reasons. With no
//! minimum stage configured every opportunity is eligible.

use crate::error::SyncError;
use crate::lever::model::Opportunity;
use crate::normalize::Dimensions;
use crate::settings::TenantSettings;
use std::collections::HashSet;

/// The eligibility rule of one tenant, resolved against its stages.
#[derive(Debug, Clone)]
pub struct Eligibility {
    min_index: Option<i64>,
    offer_reasons: HashSet<String>,
    hired_reasons: HashSet<String>,
}

impl Eligibility {
    /// Resolves the tenant's minimum stage; an id the account does not have is a config error.
    pub fn new(settings: &TenantSettings, dims: &Dimensions) -> Result<Self, SyncError> {
        let min_index = match &settings.min_stage_id {
            None => None,
            Some(id) => Some(*dims.stage_index.get(id).ok_or_else(|| {
                SyncError::Config(
                    "settings.min_stage_id is not a stage of this Lever account".into(),
                )
            })?),
        };
        let hired_reasons = dims
            .archive_reasons
            .values()
            .filter(|r| r.is_hired())
            .map(|r| r.id.clone())
            .collect();

        Ok(Eligibility {
            min_index,
            offer_reasons: settings.offer_archive_reason_ids.iter().cloned().collect(),
            hired_reasons,
        })
    }

    /// True when the opportunity's offers should be read.
    pub fn allows(&self, opportunity: &Opportunity, dims: &Dimensions) -> bool {
        let Some(min) = self.min_index else {
            return true;
        };

        let reached = opportunity
            .stage_changes
            .iter()
            .filter_map(|c| c.to_stage_index)
            .any(|i| i >= min);
        let current = opportunity
            .stage_id
            .as_ref()
            .and_then(|s| dims.stage_index.get(s));
        let reason = opportunity
            .archived
            .as_ref()
            .and_then(|a| a.reason_id.as_ref());
        let archived_for_offer = reason
            .is_some_and(|r| self.hired_reasons.contains(r) || self.offer_reasons.contains(r));

        reached || current.is_some_and(|&i| i >= min) || archived_for_offer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lever::model::{ArchiveReason, Stage};
    use serde_json::json;

    fn dims() -> Dimensions {
        let stages: Vec<Stage> = serde_json::from_value(json!([
            { "id": "lead-new" }, { "id": "screen" }, { "id": "offer" }, { "id": "hired-stage" }
        ]))
        .expect("stages");
        let reasons: Vec<ArchiveReason> = serde_json::from_value(json!([
            { "id": "hired", "type": "hired" }, { "id": "declined", "type": "non-hired" },
            { "id": "withdrew", "type": "non-hired" }
        ]))
        .expect("reasons");
        Dimensions::new(stages, reasons, vec![], vec![], vec![])
    }

    fn opp(value: serde_json::Value) -> Opportunity {
        serde_json::from_value(value).expect("opportunity")
    }

    fn settings(min: Option<&str>) -> TenantSettings {
        TenantSettings {
            min_stage_id: min.map(str::to_owned),
            offer_archive_reason_ids: vec!["declined".into()],
            ..TenantSettings::default()
        }
    }

    #[test]
    fn without_minimum_stage_everything_is_eligible() {
        let rule = Eligibility::new(&settings(None), &dims()).expect("rule");
        assert!(rule.allows(&opp(json!({ "id": "o", "stage": "lead-new" })), &dims()));
    }

    #[test]
    fn stage_history_current_stage_and_archive_reasons_count() {
        let d = dims();
        let rule = Eligibility::new(&settings(Some("offer")), &d).expect("rule");
        let reached = json!({ "id": "o", "stage": "screen",
            "stageChanges": [{ "toStageId": "offer", "toStageIndex": 2 }, { "toStageId": "screen", "toStageIndex": 1 }] });

        assert!(
            rule.allows(&opp(reached), &d),
            "went back after reaching offer"
        );
        assert!(rule.allows(&opp(json!({ "id": "o", "stage": "hired-stage" })), &d));
        assert!(rule.allows(
            &opp(json!({ "id": "o", "archived": { "reason": "hired" } })),
            &d
        ));
        assert!(rule.allows(
            &opp(json!({ "id": "o", "archived": { "reason": "declined" } })),
            &d
        ));
        assert!(!rule.allows(
            &opp(json!({ "id": "o", "archived": { "reason": "withdrew" } })),
            &d
        ));
        assert!(!rule.allows(
            &opp(json!({ "id": "o", "stage": "screen",
            "stageChanges": [{ "toStageIndex": 1 }] })),
            &d
        ));
    }

    #[test]
    fn unknown_minimum_stage_is_a_configuration_error() {
        let err = Eligibility::new(&settings(Some("nope")), &dims()).expect_err("unknown");
        assert!(err.to_string().contains("min_stage_id"));
    }
}
