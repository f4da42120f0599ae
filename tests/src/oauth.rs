//! OAuth in the simulator: the token endpoint `POST /oauth/token` (on the simulator's own
//! host, so `LEVER_AUTH_URL` is the simulator's root) and the bearer tokens `/v1` accepts.
//!
//! - Only `grant_type=refresh_token` is served, form-encoded, for the client
//!   [`OAUTH_CLIENT_ID`] / [`OAUTH_CLIENT_SECRET`] (else 401 `invalid_client`).
//! - Strict rotation: each refresh token works once. A used, unknown or revoked one gets
//!   400 `{"error":"invalid_grant"}`. Each success returns a new access token and a new
//!   refresh token, with `expires_in` (default 3600 s, settable).
//! - `/v1` accepts `Bearer <access token>` until the token expires (401 after), as well as the
//!   Basic API key.
//! - Control ([`OAuthControl`], `POST /_sim/oauth`): change the lifetime, expire every access
//!   token now or after n more bearer requests, revoke every grant, issue a new grant.
//!   `GET /_sim/oauth` reports [`OAuthReport`] (counters and the tokens issued).

use crate::server::{SimState, lock, wall_ms};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The partner app's client id the token endpoint accepts.
pub const OAUTH_CLIENT_ID: &str = "sim-client-id";
/// The partner app's client secret the token endpoint accepts.
pub const OAUTH_CLIENT_SECRET: &str = "sim-client-secret";

/// A control request (`POST /_sim/oauth`); absent fields change nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthControl {
    /// Lifetime of access tokens issued from now on, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// `true`: every access token issued so far expires now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_access_tokens: Option<bool>,
    /// Every access token issued so far expires after this many more accepted bearer requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_after_requests: Option<u32>,
    /// `true`: every refresh and access token stops working (the admin revoked the app).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_grants: Option<bool>,
}

/// Counts of the token endpoint and of bearer requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthCounters {
    /// Every `POST /oauth/token`.
    pub token_requests: u64,
    /// Refreshes answered with new tokens.
    pub refreshed: u64,
    /// Answered `invalid_grant`.
    pub invalid_grant: u64,
    /// Answered `invalid_client`.
    pub invalid_client: u64,
    /// Answered `unsupported_grant_type` or `invalid_request`.
    pub bad_request: u64,
    /// `/v1` requests admitted with a bearer token.
    pub bearer_accepted: u64,
    /// `/v1` requests refused for an expired, unknown or revoked bearer token.
    pub bearer_rejected: u64,
}

/// What `GET /_sim/oauth` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthReport {
    pub counters: OAuthCounters,
    /// The refresh token issued last (by a refresh or a new grant).
    pub last_refresh_token: Option<String>,
    /// Every access token issued, oldest first.
    pub access_tokens: Vec<String>,
    /// Every refresh token issued, oldest first.
    pub refresh_tokens: Vec<String>,
    /// Lifetime of new access tokens, seconds.
    pub expires_in: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Unused,
    Used,
    Revoked,
}

/// The token endpoint's memory.
#[derive(Debug)]
pub(crate) struct OAuthServer {
    expires_in: u64,
    refresh: HashMap<String, RefreshState>,
    /// Access token → expiry, epoch ms.
    access: HashMap<String, i64>,
    expire_countdown: Option<u32>,
    serial: u64,
    report: OAuthReport,
}

impl Default for OAuthServer {
    fn default() -> Self {
        OAuthServer {
            expires_in: 3600,
            refresh: HashMap::new(),
            access: HashMap::new(),
            expire_countdown: None,
            serial: 0,
            report: OAuthReport::default(),
        }
    }
}

impl OAuthServer {
    /// A new grant (what the consent flow would return): its first refresh token.
    pub(crate) fn issue_grant(&mut self) -> String {
        let token = self.new_token("rt");
        self.refresh.insert(token.clone(), RefreshState::Unused);
        self.report.refresh_tokens.push(token.clone());
        self.report.last_refresh_token = Some(token.clone());
        token
    }

    /// Applies a control request.
    pub(crate) fn control(&mut self, c: &OAuthControl, now_ms: i64) {
        if let Some(seconds) = c.expires_in {
            self.expires_in = seconds.max(1);
        }
        if c.expire_access_tokens == Some(true) {
            self.expire_all(now_ms);
        }
        if let Some(n) = c.expire_after_requests {
            self.expire_countdown = Some(n);
        }
        if c.revoke_grants == Some(true) {
            self.refresh
                .values_mut()
                .for_each(|s| *s = RefreshState::Revoked);
            self.access.clear();
        }
    }

    /// The state as reported by `GET /_sim/oauth`.
    pub(crate) fn report(&self) -> OAuthReport {
        OAuthReport {
            expires_in: self.expires_in,
            ..self.report.clone()
        }
    }

    /// True when `headers` carry a bearer token that is known and unexpired; counts it.
    /// `None` when the request does not use a bearer token at all.
    pub(crate) fn admit_bearer(&mut self, headers: &HeaderMap, now_ms: i64) -> Option<bool> {
        let token = bearer_token(headers)?;
        let valid = self.access.get(token).is_some_and(|&until| now_ms < until);

        if !valid {
            self.report.counters.bearer_rejected += 1;
            return Some(false);
        }
        self.report.counters.bearer_accepted += 1;
        self.count_down(now_ms);
        Some(true)
    }

    /// One refresh, strictly rotating.
    fn refresh(&mut self, form: &TokenForm, now_ms: i64) -> Result<serde_json::Value, TokenError> {
        self.report.counters.token_requests += 1;
        self.check_request(form)?;

        let sent = form.refresh_token.as_deref().unwrap_or_default();
        match self.refresh.get(sent) {
            Some(RefreshState::Unused) => {}
            _ => {
                self.report.counters.invalid_grant += 1;
                return Err(TokenError::invalid_grant());
            }
        }
        self.refresh.insert(sent.to_owned(), RefreshState::Used);

        let access = self.new_token("at");
        self.access
            .insert(access.clone(), now_ms + self.expires_in as i64 * 1000);
        self.report.access_tokens.push(access.clone());
        let refresh = self.issue_grant();
        self.report.counters.refreshed += 1;

        Ok(json!({
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "scope": "offline_access offers:read:admin opportunities:read:admin",
            "expires_in": self.expires_in,
        }))
    }

    /// Grant type, parameters and client credentials.
    fn check_request(&mut self, form: &TokenForm) -> Result<(), TokenError> {
        if form.grant_type.as_deref() != Some("refresh_token") {
            self.report.counters.bad_request += 1;
            return Err(TokenError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            ));
        }
        if form.refresh_token.is_none() {
            self.report.counters.bad_request += 1;
            return Err(TokenError::new(StatusCode::BAD_REQUEST, "invalid_request"));
        }
        let client_ok = form.client_id.as_deref() == Some(OAUTH_CLIENT_ID)
            && form.client_secret.as_deref() == Some(OAUTH_CLIENT_SECRET);
        if !client_ok {
            self.report.counters.invalid_client += 1;
            return Err(TokenError::new(StatusCode::UNAUTHORIZED, "invalid_client"));
        }
        Ok(())
    }

    fn count_down(&mut self, now_ms: i64) {
        let Some(left) = self.expire_countdown.as_mut() else {
            return;
        };
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.expire_countdown = None;
            self.expire_all(now_ms);
        }
    }

    fn expire_all(&mut self, now_ms: i64) {
        self.access.values_mut().for_each(|until| *until = now_ms);
    }

    fn new_token(&mut self, kind: &str) -> String {
        self.serial += 1;
        format!("sim-{kind}-{}-{:016x}", self.serial, rand::random::<u64>())
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The form of `POST /oauth/token`.
#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
struct TokenError {
    status: StatusCode,
    error: &'static str,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str) -> Self {
        TokenError { status, error }
    }

    fn invalid_grant() -> Self {
        TokenError::new(StatusCode::BAD_REQUEST, "invalid_grant")
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": "refused by lever-sim" });
        (self.status, Json(body)).into_response()
    }
}

/// The token endpoint and its control routes.
pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/oauth/token", post(post_token))
        .route("/_sim/oauth", get(get_oauth).post(post_oauth))
        .route("/_sim/oauth/grant", post(post_grant))
}

async fn post_token(State(s): State<Arc<SimState>>, Form(form): Form<TokenForm>) -> Response {
    match lock(&s.oauth).refresh(&form, wall_ms()) {
        Ok(body) => Json(body).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn get_oauth(State(s): State<Arc<SimState>>) -> Json<OAuthReport> {
    Json(lock(&s.oauth).report())
}

async fn post_oauth(
    State(s): State<Arc<SimState>>,
    Json(control): Json<OAuthControl>,
) -> Json<OAuthReport> {
    let mut oauth = lock(&s.oauth);
    oauth.control(&control, wall_ms());
    Json(oauth.report())
}

async fn post_grant(State(s): State<Arc<SimState>>) -> Response {
    let token = lock(&s.oauth).issue_grant();
    Json(json!({ "refresh_token": token })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(refresh_token: &str) -> TokenForm {
        TokenForm {
            grant_type: Some("refresh_token".to_owned()),
            client_id: Some(OAUTH_CLIENT_ID.to_owned()),
            client_secret: Some(OAUTH_CLIENT_SECRET.to_owned()),
            refresh_token: Some(refresh_token.to_owned()),
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Bearer {token}").parse().expect("header");
        headers.insert(header::AUTHORIZATION, value);
        headers
    }

    fn text(value: &serde_json::Value, field: &str) -> String {
        value[field].as_str().expect("string").to_owned()
    }

    #[test]
    fn refresh_tokens_work_once() {
        let mut server = OAuthServer::default();
        let first = server.issue_grant();

        let answer = server.refresh(&form(&first), 0).expect("refreshed");
        let reused = server.refresh(&form(&first), 0).expect_err("reused");
        let next = server.refresh(&form(&text(&answer, "refresh_token")), 0);

        assert_eq!(
            (reused.status, reused.error),
            (StatusCode::BAD_REQUEST, "invalid_grant")
        );
        assert!(next.is_ok());
        assert_eq!(answer["expires_in"], 3600);
        assert_eq!(server.report().counters.refreshed, 2);
        assert_eq!(server.report().counters.invalid_grant, 1);
        assert_eq!(server.report().refresh_tokens.len(), 3);
    }

    #[test]
    fn access_tokens_expire_by_time_countdown_or_revocation() {
        let mut server = OAuthServer::default();
        server.control(
            &OAuthControl {
                expires_in: Some(2),
                ..OAuthControl::default()
            },
            0,
        );
        let grant = server.issue_grant();
        let answer = server.refresh(&form(&grant), 1_000).expect("refreshed");
        let headers = bearer(&text(&answer, "access_token"));

        assert_eq!(server.admit_bearer(&headers, 2_999), Some(true));
        assert_eq!(server.admit_bearer(&headers, 3_000), Some(false));
        assert_eq!(server.admit_bearer(&HeaderMap::new(), 0), None);

        let answer = server
            .refresh(&form(&text(&answer, "refresh_token")), 0)
            .expect("refreshed");
        let headers = bearer(&text(&answer, "access_token"));
        server.control(
            &OAuthControl {
                expire_after_requests: Some(2),
                ..OAuthControl::default()
            },
            0,
        );
        assert_eq!(server.admit_bearer(&headers, 1), Some(true));
        assert_eq!(server.admit_bearer(&headers, 1), Some(true));
        assert_eq!(server.admit_bearer(&headers, 1), Some(false));

        server.control(
            &OAuthControl {
                revoke_grants: Some(true),
                ..OAuthControl::default()
            },
            0,
        );
        let refused = server
            .refresh(&form(&text(&answer, "refresh_token")), 0)
            .expect_err("revoked");
        assert_eq!(refused.error, "invalid_grant");
    }

    #[test]
    fn wrong_clients_and_grant_types_are_refused() {
        let mut server = OAuthServer::default();
        let grant = server.issue_grant();

        let mut wrong_secret = form(&grant);
        wrong_secret.client_secret = Some("nope".to_owned());
        let mut wrong_type = form(&grant);
        wrong_type.grant_type = Some("password".to_owned());

        let err = server.refresh(&wrong_secret, 0).expect_err("refused");
        assert_eq!(
            (err.status, err.error),
            (StatusCode::UNAUTHORIZED, "invalid_client")
        );
        let err = server.refresh(&wrong_type, 0).expect_err("refused");
        assert_eq!(err.error, "unsupported_grant_type");
        assert!(
            server.refresh(&form(&grant), 0).is_ok(),
            "refusals spend nothing"
        );
    }
}
