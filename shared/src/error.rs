//! Error types of the sync, one enum per outside dependency plus the run-level error.

use thiserror::Error;

/// A failed call to Lever's API.
#[derive(Debug, Error)]
pub enum LeverError {
    /// 401/403: the credential is wrong, revoked or lacks a scope. Not retried.
    #[error("lever rejected the credential (status {status})")]
    Unauthorized { status: u16 },

    /// 400: the request was refused. `invalid_offset` marks a stale paging token.
    #[error("lever refused the request (status 400{})", if *.invalid_offset { ", invalid offset token" } else { "" })]
    BadRequest { invalid_offset: bool },

    /// 429, 5xx, timeouts and connection errors that outlived every retry.
    #[error("lever unavailable after {attempts} attempts (last status {})", last_status.map_or("none".to_owned(), |s| s.to_string()))]
    Unavailable {
        attempts: u32,
        last_status: Option<u16>,
    },

    /// An unexpected status such as 404 on a list endpoint.
    #[error("lever answered status {status} on {route}")]
    Status { status: u16, route: &'static str },

    /// The body was not the JSON Lever documents.
    #[error("lever returned a malformed body on {route}")]
    Malformed { route: &'static str },

    /// The tenant's OAuth grant is no longer valid; a person must re-consent.
    #[error("lever oauth grant is invalid; the tenant must re-authorize")]
    InvalidGrant,

    /// An OAuth refresh could not finish its own bookkeeping (lease, secret read or write);
    /// the run stops and the next one tries again.
    #[error("lever oauth refresh stopped: {step}")]
    TokenRefresh { step: &'static str },
}

impl LeverError {
    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LeverError::Unavailable { .. }
                | LeverError::Malformed { .. }
                | LeverError::TokenRefresh { .. }
        )
    }
}

/// A failed DynamoDB call.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("dynamodb {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
    },

    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}

/// A failed read of a tenant secret.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("no secret for tenant {tenant}")]
    NotFound { tenant: String },

    #[error("secret of tenant {tenant} is not valid: {reason}")]
    Invalid { tenant: String, reason: String },

    #[error("secrets manager call failed: {0}")]
    Backend(String),
}

/// Anything that stops a sync run.
#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Lever(#[from] LeverError),

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Secret(#[from] SecretError),

    #[error("invalid request: {0}")]
    InvalidRequest(String),

    #[error("invalid configuration: {0}")]
    Config(String),
}
