//! CloudWatch metrics, written as embedded metric format (EMF) lines on stdout.
//!
//! In Lambda every stdout line reaches CloudWatch Logs, which turns a JSON line carrying an
//! `_aws` block into metrics: no API call, no extra permission, nothing on the request path.
//! Everything goes to the namespace [`NAMESPACE`], with a `Function` dimension and, where it
//! applies, `Tenant` (and e.g. `Status`). Each line is aggregated twice: per function (what
//! the alarms in `infra/template.yaml` watch) and per function and dimension values.
//!
//! A line holds metric names (compile-time constants), numbers and short dimension values
//! reduced to `[A-Za-z0-9_.-]`: never a request body, a secret or personal data.
//!
//! ```
//! use shared::metrics::{self, names, Unit};
//! // One webhook delivery answered 200 for tenant "acme":
//! metrics::emit(metrics::WEBHOOK, names::WEBHOOK_RESPONSES, 1.0, Unit::Count,
//!               &[("Tenant", "acme"), ("Status", "200")]);
//! ```

use crate::error::{LeverError, SyncError};
use crate::sync::{RunStatus, RunSummary};
use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "LeverOffers";

/// `Function` dimension value of the backfill function.
pub const BACKFILL: &str = "backfill";
/// `Function` dimension value of the webhook function.
pub const WEBHOOK: &str = "webhook";

/// Metric names. The alarms of `infra/template.yaml` refer to some of them by these strings,
/// and `tests/tests/infra.rs` checks that each alarmed name is declared here and emitted.
pub mod names {
    /// Offer items written (new or changed) by a backfill run.
    pub const OFFERS_WRITTEN: &str = "OffersWritten";
    /// Offer items deleted by a backfill run.
    pub const OFFERS_DELETED: &str = "OffersDeleted";
    /// Lever requests a backfill run made, retries included.
    pub const LEVER_API_CALLS: &str = "LeverApiCalls";
    /// 1 when a backfill run ended partial (deadline or transient fault), else 0.
    pub const BACKFILL_PARTIAL: &str = "BackfillPartial";
    /// 1 when a backfill run ended failed (needs a person), else 0.
    pub const BACKFILL_FAILED: &str = "BackfillFailed";
    /// Wall time of a backfill run.
    pub const BACKFILL_DURATION: &str = "BackfillDuration";
    /// Lever refused the tenant's credential (401/403, or an invalid OAuth grant).
    pub const AUTH_FAILURES: &str = "AuthFailures";
    /// Pending-refresh markers still waiting after a backfill run.
    pub const PENDING_MARKERS: &str = "PendingMarkers";
    /// Age of the oldest pending-refresh marker still waiting, in seconds.
    pub const PENDING_OLDEST_AGE_SECONDS: &str = "PendingOldestAgeSeconds";
    /// One webhook delivery answered, with a `Status` dimension (the HTTP status).
    pub const WEBHOOK_RESPONSES: &str = "WebhookResponses";
}

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF line: some metrics of one function with the same dimension values.
#[derive(Debug, Clone)]
pub struct Emf {
    function: &'static str,
    dimensions: Vec<(&'static str, String)>,
    values: Vec<(&'static str, f64, Unit)>,
}

impl Emf {
    pub fn new(function: &'static str) -> Self {
        Emf {
            function,
            dimensions: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds a dimension; the value is reduced to a short, safe token (see [`dimension_value`]).
    pub fn dimension(mut self, name: &'static str, value: &str) -> Self {
        self.dimensions.retain(|(n, _)| *n != name);
        self.dimensions.push((name, dimension_value(value)));
        self
    }

    pub fn metric(mut self, name: &'static str, value: f64, unit: Unit) -> Self {
        self.values.push((name, value, unit));
        self
    }

    pub fn count(self, name: &'static str, value: u64) -> Self {
        self.metric(name, value as f64, Unit::Count)
    }

    /// The JSON document of this line.
    pub fn to_json(&self, timestamp_ms: u64) -> Value {
        let mut sets = vec![vec!["Function"]];
        let all: Vec<&str> = std::iter::once("Function")
            .chain(self.dimensions.iter().map(|(n, _)| *n))
            .collect();
        let without_tenant: Vec<&str> = all.iter().copied().filter(|n| *n != "Tenant").collect();
        for set in [all, without_tenant] {
            if !sets.contains(&set) {
                sets.push(set);
            }
        }

        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();

        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": sets,
                    "Metrics": definitions,
                }],
            }),
        );
        line.insert("Function".into(), Value::from(self.function));
        for (name, value) in &self.dimensions {
            line.insert((*name).into(), Value::from(value.as_str()));
        }
        for (name, value, _) in &self.values {
            line.insert((*name).into(), json!(value));
        }
        Value::Object(line)
    }

    /// Prints the line to stdout (nothing when it holds no metric).
    pub fn emit(&self) {
        if self.values.is_empty() {
            return;
        }
        println!("{}", self.to_json(now_ms()));
    }
}

/// Emits one metric in one line.
pub fn emit(
    function: &'static str,
    name: &'static str,
    value: f64,
    unit: Unit,
    dimensions: &[(&'static str, &str)],
) {
    let mut line = Emf::new(function);
    for (dimension, value) in dimensions {
        line = line.dimension(dimension, value);
    }
    line.metric(name, value, unit).emit();
}

/// True when an error means Lever refused the tenant's credential.
pub fn is_auth_failure(err: &SyncError) -> bool {
    matches!(
        err,
        SyncError::Lever(LeverError::Unauthorized { .. } | LeverError::InvalidGrant)
    )
}

/// The metrics of one finished backfill run. A dry run writes nothing, so it reports only
/// what needs a person (failures and refused credentials).
pub fn backfill_run(summary: &RunSummary, auth_failure: bool) {
    backfill_line(summary, auth_failure).emit();
}

fn backfill_line(summary: &RunSummary, auth_failure: bool) -> Emf {
    let flag = |on: bool| u64::from(on);
    let line = Emf::new(BACKFILL)
        .dimension("Tenant", &summary.tenant)
        .count(
            names::BACKFILL_FAILED,
            flag(summary.status == RunStatus::Failed),
        )
        .count(names::AUTH_FAILURES, flag(auth_failure));
    if summary.dry_run {
        return line;
    }
    line.count(names::OFFERS_WRITTEN, summary.offers_written)
        .count(names::OFFERS_DELETED, summary.offers_deleted)
        .count(names::LEVER_API_CALLS, summary.api_calls)
        .count(names::PENDING_MARKERS, summary.pending_left)
        .count(
            names::BACKFILL_PARTIAL,
            flag(summary.status == RunStatus::Partial),
        )
        .metric(
            names::BACKFILL_DURATION,
            summary.duration_ms as f64,
            Unit::Milliseconds,
        )
}

/// A dimension value as CloudWatch will show it: at most 64 characters of `[A-Za-z0-9_.-]`,
/// anything else replaced by `_`, so no free text can reach the metrics.
pub fn dimension_value(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "none".to_owned()
    } else {
        cleaned
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Mode;

    fn summary(status: RunStatus, dry_run: bool) -> RunSummary {
        let mut s = RunSummary::new("acme", Mode::Incremental, dry_run);
        s.status = status;
        s.offers_written = 12;
        s.offers_deleted = 2;
        s.api_calls = 40;
        s.duration_ms = 1500;
        s
    }

    #[test]
    fn a_line_is_emf_with_per_function_and_per_tenant_aggregates() {
        let line = Emf::new(WEBHOOK)
            .dimension("Tenant", "acme")
            .dimension("Status", "200")
            .count(names::WEBHOOK_RESPONSES, 1)
            .to_json(1_700_000_000_000);

        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(directive["Namespace"], "LeverOffers");
        assert_eq!(
            directive["Dimensions"],
            json!([
                ["Function"],
                ["Function", "Tenant", "Status"],
                ["Function", "Status"]
            ])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "WebhookResponses", "Unit": "Count" }])
        );
        assert_eq!(
            (&line["Function"], &line["Tenant"], &line["Status"]),
            (&json!("webhook"), &json!("acme"), &json!("200"))
        );
        assert_eq!(line["WebhookResponses"], 1.0);
    }

    #[test]
    fn backfill_summary_becomes_counts_and_flags() {
        let line = backfill_line(&summary(RunStatus::Partial, false), false).to_json(1);

        assert_eq!(line["OffersWritten"], 12.0);
        assert_eq!(line["OffersDeleted"], 2.0);
        assert_eq!(line["LeverApiCalls"], 40.0);
        assert_eq!(line["BackfillPartial"], 1.0);
        assert_eq!(line["BackfillFailed"], 0.0);
        assert_eq!(line["AuthFailures"], 0.0);
        assert_eq!(line["BackfillDuration"], 1500.0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"], ["Function", "Tenant"]])
        );
    }

    #[test]
    fn a_dry_run_reports_only_what_needs_a_person() {
        let line = backfill_line(&summary(RunStatus::Failed, true), true).to_json(1);

        assert_eq!(line["BackfillFailed"], 1.0);
        assert_eq!(line["AuthFailures"], 1.0);
        assert!(line.get("OffersWritten").is_none() && line.get("BackfillPartial").is_none());
    }

    #[test]
    fn dimension_values_cannot_carry_free_text() {
        assert_eq!(dimension_value("acme-eu_1.x"), "acme-eu_1.x");
        assert_eq!(
            dimension_value("Jane Doe <jane@example.com>"),
            "Jane_Doe__jane_example.com_"
        );
        assert_eq!(dimension_value(&"a".repeat(200)).len(), 64);
        assert_eq!(dimension_value(""), "none");
    }

    #[test]
    fn only_refused_credentials_count_as_auth_failures() {
        let refused = SyncError::Lever(LeverError::Unauthorized { status: 401 });
        let unavailable = SyncError::Lever(LeverError::Unavailable {
            attempts: 8,
            last_status: Some(429),
        });
        assert!(is_auth_failure(&refused));
        assert!(is_auth_failure(&SyncError::Lever(LeverError::InvalidGrant)));
        assert!(!is_auth_failure(&unavailable));
    }
}
