//! The one place where webhook results become HTTP statuses and short JSON bodies.
//!
//! | result | status | body |
//! |---|---|---|
//! | processed / duplicate / ignored event | 200 | `{"status":"processed"}` (`duplicate`, `ignored`) |
//! | malformed body or missing field | 400 | `{"status":"rejected","reason":"missing field token"}` |
//! | missing or bad signature, stale or future `triggeredAt` | 401 | `{"status":"rejected","reason":"bad signature"}` |
//! | unknown tenant (no secret, or not a tenant name) | 404 | `{"status":"rejected","reason":"unknown tenant"}` |
//! | method other than POST | 405 | `{"status":"rejected","reason":"method not allowed"}` |
//! | body over `WEBHOOK_MAX_BODY_BYTES` | 413 | `{"status":"rejected","reason":"body too large"}` |
//! | tenant secret unreadable, configuration or credential broken | 500 | `{"status":"error","reason":"internal error"}` |
//! | Lever or DynamoDB unavailable; same delivery in progress | 503 | `{"status":"retry","reason":"temporarily unavailable"}` |
//!
//! A stale delivery is refused with 401 rather than 400: it is well formed, but its proof of
//! origin has expired (a replay). Bodies never carry internal detail; that goes to the log.

use super::delivery::DeliveryError;
use serde_json::json;

/// A delivery that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Verified and acted on.
    Processed,
    /// Verified and seen before: nothing done.
    Duplicate,
    /// Verified, but the event is not one this product uses: counted, nothing done.
    Ignored,
}

/// A delivery that was refused, or could not be processed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    MethodNotAllowed,
    UnknownTenant,
    TooLarge,
    /// 400 with a reason naming the field (never a value).
    Malformed(String),
    MissingSignature,
    BadSignature,
    Stale,
    FromTheFuture,
    /// Another attempt of the same delivery holds the claim: Lever should try again later.
    InProgress,
    /// Lever or DynamoDB failed transiently; a pending marker was written where possible.
    Unavailable,
    /// Something a person must fix (secret, configuration, credential).
    Internal,
}

impl From<DeliveryError> for Rejection {
    fn from(err: DeliveryError) -> Self {
        match err {
            DeliveryError::TooLarge => Rejection::TooLarge,
            other => Rejection::Malformed(other.reason()),
        }
    }
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Malformed(_) => 400,
            Rejection::MissingSignature
            | Rejection::BadSignature
            | Rejection::Stale
            | Rejection::FromTheFuture => 401,
            Rejection::UnknownTenant => 404,
            Rejection::MethodNotAllowed => 405,
            Rejection::TooLarge => 413,
            Rejection::Internal => 500,
            Rejection::InProgress | Rejection::Unavailable => 503,
        }
    }

    /// The short reason of the response body.
    pub fn reason(&self) -> &str {
        match self {
            Rejection::MethodNotAllowed => "method not allowed",
            Rejection::UnknownTenant => "unknown tenant",
            Rejection::TooLarge => "body too large",
            Rejection::Malformed(reason) => reason,
            Rejection::MissingSignature => "missing signature",
            Rejection::BadSignature => "bad signature",
            Rejection::Stale => "stale delivery",
            Rejection::FromTheFuture => "triggeredAt is in the future",
            Rejection::InProgress => "delivery in progress",
            Rejection::Unavailable => "temporarily unavailable",
            Rejection::Internal => "internal error",
        }
    }

    /// The log value of the outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            Rejection::MethodNotAllowed => "wrong_method",
            Rejection::UnknownTenant => "unknown_tenant",
            Rejection::TooLarge => "too_large",
            Rejection::Malformed(_) => "malformed",
            Rejection::MissingSignature => "missing_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::Stale => "stale",
            Rejection::FromTheFuture => "future",
            Rejection::InProgress => "in_progress",
            Rejection::Unavailable => "unavailable",
            Rejection::Internal => "internal_error",
        }
    }
}

impl Accepted {
    /// The log value of the outcome, also the body's `status`.
    pub fn outcome(self) -> &'static str {
        match self {
            Accepted::Processed => "processed",
            Accepted::Duplicate => "duplicate",
            Accepted::Ignored => "ignored",
        }
    }
}

/// What the function answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    /// A small JSON document.
    pub body: String,
    /// `Allow` header value for 405 answers.
    pub allow: Option<&'static str>,
}

/// The response of a result.
pub fn respond(result: &Result<Accepted, Rejection>) -> WebhookResponse {
    match result {
        Ok(accepted) => WebhookResponse {
            status: 200,
            body: json!({ "status": accepted.outcome() }).to_string(),
            allow: None,
        },
        Err(rejection) => {
            let status = rejection.status();
            let kind = match status {
                503 => "retry",
                500 => "error",
                _ => "rejected",
            };
            WebhookResponse {
                status,
                body: json!({ "status": kind, "reason": rejection.reason() }).to_string(),
                allow: (status == 405).then_some("POST"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_has_its_status_and_a_short_body() {
        let cases = [
            (Ok(Accepted::Processed), 200, r#"{"status":"processed"}"#),
            (Ok(Accepted::Duplicate), 200, r#"{"status":"duplicate"}"#),
            (Ok(Accepted::Ignored), 200, r#"{"status":"ignored"}"#),
            (
                Err(Rejection::Malformed("missing field token".into())),
                400,
                r#"{"reason":"missing field token","status":"rejected"}"#,
            ),
            (
                Err(Rejection::BadSignature),
                401,
                r#"{"reason":"bad signature","status":"rejected"}"#,
            ),
            (
                Err(Rejection::UnknownTenant),
                404,
                r#"{"reason":"unknown tenant","status":"rejected"}"#,
            ),
            (
                Err(Rejection::MethodNotAllowed),
                405,
                r#"{"reason":"method not allowed","status":"rejected"}"#,
            ),
            (
                Err(Rejection::TooLarge),
                413,
                r#"{"reason":"body too large","status":"rejected"}"#,
            ),
            (
                Err(Rejection::Internal),
                500,
                r#"{"reason":"internal error","status":"error"}"#,
            ),
            (
                Err(Rejection::Unavailable),
                503,
                r#"{"reason":"temporarily unavailable","status":"retry"}"#,
            ),
        ];
        for (result, status, body) in cases {
            let response = respond(&result);
            assert_eq!((response.status, response.body.as_str()), (status, body));
        }
        assert_eq!(
            respond(&Err(Rejection::MethodNotAllowed)).allow,
            Some("POST")
        );
    }
}
