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

    // serde would also take an array as the fields in order; a payload is an object.
    if !payload.is_object() {
        return Err(
            "invalid payload: expected a JSON object such as {\"tenant\": \"acme\"}".into(),
        );
    }
    let request: RunRequest =
        serde_path_to_error::deserialize(payload).map_err(|e| describe(&e))?;
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

/// Names the field and what was wrong with it, without echoing the value: the message is
/// also logged, and a mistyped value could be anything (an email pasted in the wrong field).
fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let message = err.inner().to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    let message = without_value(message);
    match err.path().to_string().as_str() {
        "." => format!("invalid payload: {message}"),
        path => format!("invalid payload: {path}: {message}"),
    }
}

/// serde's "invalid type: string \"x\", expected i64" becomes "invalid type: string, expected
/// i64"; "unknown variant `x`, expected …" becomes "unknown variant, expected …". Messages
/// about unknown or missing fields name keys, not values, and are kept.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "unknown variant"] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((unexpected, expected)) = rest.split_once(", expected ")
        {
            let kind = unexpected.split_whitespace().next().unwrap_or("");
            let kind = if kind.starts_with('`') { "" } else { kind };
            let head = format!("{prefix}{kind}");
            return format!("{}, expected {expected}", head.trim_end_matches([' ', ':']));
        }
    }
    message.to_owned()
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
                "mode: unknown variant, expected `full` or `incremental`",
            ),
            (
                json!({ "tenant": "acme", "since": "yesterday" }),
                "since: invalid type: string, expected i64",
            ),
            (
                json!({ "tenant": "acme", "opportunity_ids": ["o1", 7] }),
                "opportunity_ids[1]: invalid type: integer, expected a string",
            ),
            (json!(["acme", "full"]), "expected a JSON object"),
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

    #[test]
    fn a_mistyped_value_is_not_echoed() {
        let payload = json!({ "tenant": "acme", "since": "jane.doe@example.com" });

        let err = parse_invocation(&payload).expect_err("invalid");

        assert_eq!(
            err,
            "invalid payload: since: invalid type: string, expected i64"
        );
    }
}
