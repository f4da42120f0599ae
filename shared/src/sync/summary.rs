//! The summary a backfill run returns and logs.

use super::request::Mode;
use serde::Serialize;
use std::collections::BTreeSet;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every listing was walked to the end; the watermark moved.
    Complete,
    /// Stopped before the deadline or on a transient fault; the cursor holds the place.
    Partial,
    /// Stopped on an error that needs a person (credentials, configuration).
    Failed,
}

impl RunStatus {
    /// The name used in the summary JSON and in log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// Counts of one tenant's run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub tenant: String,
    pub mode: Mode,
    pub dry_run: bool,
    pub status: RunStatus,
    pub resumed: bool,
    pub opportunities_read: u64,
    pub opportunities_eligible: u64,
    pub offers_read: u64,
    pub offers_written: u64,
    pub offers_unchanged: u64,
    pub offers_deleted: u64,
    /// Opportunities deleted in Lever whose records were removed.
    pub opportunities_deleted: u64,
    pub skipped: Skipped,
    /// Pending refresh markers (left by failed webhook deliveries) finished and cleared.
    pub pending_drained: u64,
    /// Pending refresh markers still waiting (failed again, dry run, or out of time).
    pub pending_left: u64,
    pub api_calls: u64,
    pub duration_ms: u64,
    /// Unmapped offer fields holding numbers: candidates for the tenant's field mapping.
    pub unmapped_numeric_fields: BTreeSet<String>,
    /// An `opportunity_ids` run stopped before its deadline: the ids it did not reach, to be
    /// sent again as the next payload's `opportunity_ids`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids_remaining: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Opportunities whose offers were not read, by reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Skipped {
    /// Never reached the minimum stage and not archived for an offer-related reason.
    pub ineligible: u64,
    /// Lever answered 404 for the opportunity's offers (or the opportunity).
    pub not_found: u64,
    /// Listed twice in one run (an updated opportunity that is also active).
    pub already_seen: u64,
}

impl RunSummary {
    pub fn new(tenant: &str, mode: Mode, dry_run: bool) -> Self {
        RunSummary {
            tenant: tenant.to_owned(),
            mode,
            dry_run,
            status: RunStatus::Complete,
            resumed: false,
            opportunities_read: 0,
            opportunities_eligible: 0,
            offers_read: 0,
            offers_written: 0,
            offers_unchanged: 0,
            offers_deleted: 0,
            opportunities_deleted: 0,
            skipped: Skipped::default(),
            pending_drained: 0,
            pending_left: 0,
            api_calls: 0,
            duration_ms: 0,
            unmapped_numeric_fields: BTreeSet::new(),
            ids_remaining: Vec::new(),
            error: None,
        }
    }
}
