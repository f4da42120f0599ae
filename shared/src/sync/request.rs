//! What a backfill invocation asks for: the nightly EventBridge event or a console payload.
//!
//! Console payload (every field but `tenant` optional):
//!
//! ```json
//! { "tenant": "acme", "mode": "full" | "incremental", "since": 1714000000000,
//!   "until": 1714600000000, "opportunity_ids": ["…"], "dry_run": true }
//! ```

use serde::Deserialize;
use serde_json::Value;

/// The kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every opportunity (created inside the window, when one is given).
    Full,
    /// Opportunities updated since the watermark, plus every active one (offers carry no
    /// update stamp, so an active opportunity's offers may have changed unseen).
    Incremental,
}

impl Mode {
    /// The name used in payloads, summaries and log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
        }
    }
}

/// One tenant's run, as requested.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub tenant: String,
    #[serde(default = "incremental")]
    pub mode: Mode,
    /// Window start, epoch ms (inclusive).
    #[serde(default)]
    pub since: Option<i64>,
    /// Window end, epoch ms (inclusive).
    #[serde(default)]
    pub until: Option<i64>,
    /// Only these opportunities, fetched one by one.
    #[serde(default)]
    pub opportunity_ids: Option<Vec<String>>,
    /// Read and normalize, but write nothing (no records, no cursor, no watermark).
    #[serde(default)]
    pub dry_run: bool,
}

fn incremental() -> Mode {
    Mode::Incremental
}

/// The most ids one `opportunity_ids` run takes: one Lever call each for the opportunity and its
/// offers fits well inside a 15-minute Lambda at Lever's rate limit.
pub const MAX_OPPORTUNITY_IDS: usize = 1_000;

/// A decoded invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// The nightly schedule: incremental runs of every configured tenant.
    Scheduled,
    Console(RunRequest),
}

/// Decodes an invocation payload; errors name the offending field.
pub fn parse_invocation(payload: &Value) -> Result<Invocation, String> {
    if is_scheduled_event(payload) {
        return Ok(Invocation::Scheduled);
    }

    let request: RunRequest = serde_json::from_value(payload.clone()).map_err(|e| describe(&e))?;
    validate(&request)?;
    Ok(Invocation::Console(request))
}

/// EventBridge scheduled events carry `source: aws.events` and `detail-type: Scheduled Event`
/// and no `tenant`. Anything else is a console payload, so a console payload that merely
/// mentions `source` is refused as an unknown field instead of starting the nightly run.
fn is_scheduled_event(payload: &Value) -> bool {
    payload.get("source").and_then(Value::as_str) == Some("aws.events")
        && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        && payload.get("tenant").is_none()
}

fn validate(request: &RunRequest) -> Result<(), String> {
    let valid_tenant = !request.tenant.is_empty()
        && request.tenant.len() <= 64
        && request
            .tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_tenant {
        return Err("tenant must be 1-64 letters, digits, '-' or '_'".into());
    }

    if let (Some(since), Some(until)) = (request.since, request.until)
        && since > until
    {
        return Err("since must not be after until".into());
    }
    if request.since.is_some_and(|t| t < 0) || request.until.is_some_and(|t| t < 0) {
        return Err("since and until are epoch milliseconds and cannot be negative".into());
    }
    if request
        .opportunity_ids
        .as_ref()
        .is_some_and(|ids| ids.is_empty() || ids.iter().any(String::is_empty))
    {
        return Err("opportunity_ids must be a non-empty list of ids".into());
    }
    if request
        .opportunity_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > MAX_OPPORTUNITY_IDS)
    {
        return Err(format!(
            "opportunity_ids takes at most {MAX_OPPORTUNITY_IDS} ids; use since/until for more"
        ));
    }
    Ok(())
}

/// serde's messages already name unknown fields and expected types; strip the position.
fn describe(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    format!("invalid payload: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_event_is_recognised() {
        let event = json!({ "version": "0", "source": "aws.events", "detail-type": "Scheduled Event",
                            "detail": {}, "resources": ["arn:aws:events:…"] });
        assert_eq!(parse_invocation(&event), Ok(Invocation::Scheduled));
    }

    #[test]
    fn console_payload_with_defaults() {
        let parsed = parse_invocation(&json!({ "tenant": "acme" })).expect("valid");
        let Invocation::Console(request) = parsed else {
            panic!("console expected")
        };
        assert_eq!(request.mode, Mode::Incremental);
        assert!(!request.dry_run);

        let full = json!({ "tenant": "acme", "mode": "full", "since": 1, "until": 2, "dry_run": true,
                           "opportunity_ids": ["o1"] });
        let Ok(Invocation::Console(request)) = parse_invocation(&full) else {
            panic!("valid")
        };
        assert_eq!(
            (request.mode, request.since, request.until),
            (Mode::Full, Some(1), Some(2))
        );
    }

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        let cases = [
            (json!({ "tenant": "acme", "mdoe": "full" }), "mdoe"),
            (
                json!({ "tenant": "acme", "mode": "everything" }),
                "everything",
            ),
            (
                json!({ "tenant": "acme", "since": "yesterday" }),
                "invalid type",
            ),
            (
                json!({ "tenant": "acme", "since": 5, "until": 1 }),
                "since must not be after until",
            ),
            (json!({ "tenant": "a/b" }), "tenant must be"),
            (json!({ "mode": "full" }), "missing field `tenant`"),
            (
                json!({ "tenant": "acme", "opportunity_ids": [] }),
                "opportunity_ids",
            ),
        ];
        for (payload, expected) in cases {
            let err = parse_invocation(&payload).expect_err("invalid");
            assert!(err.contains(expected), "{payload} -> {err}");
        }
    }
}
