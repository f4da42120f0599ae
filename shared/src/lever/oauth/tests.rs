//! Unit tests of the token provider and the token endpoint client, with in-memory ports.

use super::testing::{CLIENT_SECRET, FIRST_REFRESH, Harness, TENANT, credential};
use super::*;
use crate::ports::{SecretWriter, TokenLease};
use crate::test_support::{LogCapture, serve_local};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

const HOUR: Duration = Duration::from_secs(3600);

fn token(bearer: &Bearer) -> &str {
    bearer.token.expose_secret()
}

/// Captures every log line of the current thread at trace level.
fn capture_logs() -> (LogCapture, tracing::subscriber::DefaultGuard) {
    LogCapture::start()
}

// --- reuse and refresh timing -----------------------------------------------------------------

#[tokio::test]
async fn reuses_the_access_token_until_five_minutes_before_expiry() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();

    let first = provider.bearer().await.expect("first");
    harness.clock.advance(Duration::from_secs(3299));
    let still = provider.bearer().await.expect("reused");
    harness.clock.advance(Duration::from_secs(1));
    let renewed = provider.bearer().await.expect("renewed");

    assert_eq!(
        (token(&first), token(&still), token(&renewed)),
        ("at-1", "at-1", "at-2")
    );
    assert_eq!((first.generation, renewed.generation), (1, 2));
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-1"]);
    assert_eq!(harness.secrets.stored_refresh(), "rt-2");
    assert_eq!(provider.refreshes(), 2);
}

#[tokio::test]
async fn a_margin_longer_than_half_the_lifetime_is_capped() {
    let harness = Harness::new(Duration::from_secs(4), Duration::ZERO);
    let provider = harness.provider();

    provider.bearer().await.expect("first");
    harness.clock.advance(Duration::from_millis(1999));
    let reused = provider.bearer().await.expect("reused");
    harness.clock.advance(Duration::from_millis(1));
    let renewed = provider.bearer().await.expect("renewed");

    assert_eq!((token(&reused), token(&renewed)), ("at-1", "at-2"));
}

// --- strict rotation --------------------------------------------------------------------------

#[tokio::test]
async fn the_new_refresh_token_is_stored_before_the_access_token_is_used() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();

    let bearer = provider.bearer().await.expect("bearer");
    harness.journal.push(format!("use {}", token(&bearer)));

    assert_eq!(
        harness.journal.entries(),
        vec!["exchange rt-0", "store rt-1", "use at-1"]
    );
}

#[tokio::test]
async fn a_failed_write_withholds_the_access_token_and_never_resends_a_refresh_token() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();
    harness.secrets.fail_next_writes(3);

    let err = provider.bearer().await.expect_err("write failed");
    assert_eq!(
        err.to_string(),
        "lever oauth refresh stopped: could not store the new refresh token"
    );
    assert!(err.is_transient());

    let bearer = provider.bearer().await.expect("next try");
    assert_eq!(token(&bearer), "at-2");
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-1"]);
    assert_eq!(harness.secrets.stored_refresh(), "rt-2");
    assert_eq!(
        harness.journal.entries(),
        vec![
            "exchange rt-0",
            "store failed",
            "store failed",
            "store failed",
            "exchange rt-1",
            "store rt-2"
        ]
    );
}

#[tokio::test]
async fn a_refresh_by_another_process_is_picked_up_from_the_secret() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let ours = harness.provider();
    let theirs = harness.provider();

    theirs.bearer().await.expect("theirs");
    let bearer = ours.bearer().await.expect("ours");

    assert_eq!(token(&bearer), "at-2");
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-1"]);
    assert_eq!(harness.secrets.stored_refresh(), "rt-2");
}

// --- serialization ----------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_callers_in_one_process_share_one_refresh() {
    let harness = Harness::new(HOUR, Duration::from_millis(20));
    let provider = harness.provider();

    let calls = (0..16).map(|_| provider.bearer());
    let bearers = futures::future::join_all(calls).await;

    assert!(
        bearers
            .iter()
            .all(|b| b.as_ref().map(token).ok() == Some("at-1"))
    );
    assert_eq!(harness.exchange.sent(), vec!["rt-0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_take_turns_through_the_lease() {
    let harness = Harness::new(HOUR, Duration::from_millis(30));
    let providers: Vec<_> = (0..4).map(|_| harness.provider()).collect();

    let tasks = providers.iter().map(|p| {
        let p = p.clone();
        tokio::spawn(async move { p.bearer().await.map(|b| token(&b).to_owned()) })
    });
    let mut tokens: Vec<String> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|t| t.expect("task").expect("bearer"))
        .collect();
    tokens.sort();

    assert_eq!(tokens, vec!["at-1", "at-2", "at-3", "at-4"]);
    assert_eq!(
        harness.exchange.sent(),
        vec!["rt-0", "rt-1", "rt-2", "rt-3"]
    );
    assert_eq!(harness.secrets.stored_refresh(), "rt-4");
}

#[tokio::test]
async fn a_busy_lease_is_waited_for_then_reported() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let now = harness.clock.now_ms();
    harness
        .lease
        .try_acquire(TENANT, "someone-else", now, 60_000)
        .await
        .expect("taken");
    let options = OAuthOptions {
        lease_ttl: Duration::from_millis(40),
        poll: Duration::from_millis(5),
        ..OAuthOptions::default()
    };
    let provider = TokenProvider::new(TENANT, &credential(FIRST_REFRESH), harness.ports(), options);

    let started = tokio::time::Instant::now();
    let err = provider.bearer().await.expect_err("busy");

    assert_eq!(
        err.to_string(),
        "lever oauth refresh stopped: the refresh lease stayed busy"
    );
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert!(harness.exchange.sent().is_empty());
}

#[tokio::test]
async fn the_lease_is_released_and_records_the_stored_token() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();

    provider.bearer().await.expect("bearer");

    let now = harness.clock.now_ms();
    assert_eq!(harness.lease.holder(TENANT, now), None);
    let grant = harness
        .lease
        .try_acquire(TENANT, "probe", now, 1000)
        .await
        .expect("free")
        .expect("granted");
    assert_eq!(grant.rotated, Some(digest(&SecretString::from("rt-1"))));
}

// --- 401 and invalid grants ------------------------------------------------------------------

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_for_all_callers_holding_it() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();
    let first = provider.bearer().await.expect("first");

    let retry = provider
        .rejected(first.generation)
        .await
        .expect("refreshed");
    let late = provider.rejected(first.generation).await.expect("already");

    assert_eq!((token(&retry), token(&late)), ("at-2", "at-2"));
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-1"]);
}

#[tokio::test]
async fn invalid_grant_is_final_logged_and_not_retried() {
    let (logs, _guard) = capture_logs();
    let harness = Harness::new(HOUR, Duration::ZERO);
    harness.exchange.revoke();
    let provider = harness.provider();

    let first = provider.bearer().await.expect_err("revoked");
    let second = provider.bearer().await.expect_err("still revoked");

    assert!(matches!(first, LeverError::InvalidGrant));
    assert!(matches!(second, LeverError::InvalidGrant));
    assert!(!first.is_transient());
    assert_eq!(harness.exchange.sent(), vec!["rt-0"], "no second try");

    let logs = logs.text();
    let failures: Vec<&str> = logs.lines().filter(|l| l.contains("auth_failed")).collect();
    assert_eq!(failures.len(), 2, "one per refused call: {logs}");
    assert!(
        failures[1].contains("the secret holds no new refresh token"),
        "{logs}"
    );
    assert!(
        failures[0].contains("ERROR") && failures[0].contains("tenant=acme"),
        "{logs}"
    );
    assert!(failures[0].contains("reason=\"invalid_grant\""), "{logs}");
}

#[tokio::test]
async fn a_new_grant_in_the_secret_revives_a_failed_tenant() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();
    harness.exchange.revoke();
    provider.bearer().await.expect_err("revoked");

    harness.exchange.grant("rt-consent");
    harness
        .secrets
        .store_refresh_token(TENANT, &SecretString::from("rt-consent"))
        .await
        .expect("operator stores the new grant");
    let bearer = provider.bearer().await.expect("revived");

    assert_eq!(token(&bearer), "at-1");
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-consent"]);
    assert_eq!(harness.secrets.stored_refresh(), "rt-1");
}

#[tokio::test]
async fn refusal_right_after_a_refresh_is_an_invalid_grant() {
    let (logs, _guard) = capture_logs();
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();
    provider.bearer().await.expect("bearer");

    let err = provider.refused_after_refresh().await;

    assert!(matches!(err, LeverError::InvalidGrant));
    assert!(
        logs.text()
            .contains("access token refused right after a refresh")
    );
}

#[tokio::test]
async fn wrong_client_credentials_are_unauthorized() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let mut wrong = credential(FIRST_REFRESH);
    wrong.client_secret = SecretString::from("not-the-secret");
    let provider = TokenProvider::new(TENANT, &wrong, harness.ports(), OAuthOptions::default());

    let err = provider.bearer().await.expect_err("refused");

    assert!(matches!(err, LeverError::Unauthorized { status: 401 }));
    assert!(
        provider.serves(&wrong),
        "same app, whatever the refresh token"
    );
    assert!(
        !provider.serves(&credential(FIRST_REFRESH)),
        "another client secret"
    );
}

#[tokio::test]
async fn logs_of_the_whole_flow_hold_no_secret() {
    let (logs, _guard) = capture_logs();
    let harness = Harness::new(HOUR, Duration::ZERO);
    let provider = harness.provider();

    let first = provider.bearer().await.expect("first");
    provider.rejected(first.generation).await.expect("second");
    harness.secrets.fail_next_writes(1);
    harness.clock.advance(HOUR);
    provider
        .bearer()
        .await
        .expect("third after a retried write");
    harness.exchange.revoke();
    harness.clock.advance(HOUR);
    provider.bearer().await.expect_err("revoked");

    let logs = logs.text();
    assert_eq!(logs.matches("oauth_token_refreshed").count(), 3, "{logs}");
    for secret in [
        CLIENT_SECRET,
        "rt-0",
        "rt-1",
        "rt-2",
        "rt-3",
        "at-1",
        "at-2",
        "at-3",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked: {logs}");
    }
    let debug = format!("{provider:?} {first:?}");
    assert!(
        !debug.contains("at-1") && !debug.contains(CLIENT_SECRET),
        "{debug}"
    );
}

// --- the token endpoint over HTTP ------------------------------------------------------------

#[derive(Clone, Default)]
struct Endpoint {
    replies: Arc<StdMutex<VecDeque<(u16, String)>>>,
    bodies: Arc<StdMutex<Vec<(String, String)>>>,
}

async fn token_route(
    State(endpoint): State<Endpoint>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    endpoint
        .bodies
        .lock()
        .expect("bodies")
        .push((content_type, body));

    let (status, body) = endpoint
        .replies
        .lock()
        .expect("replies")
        .pop_front()
        .unwrap_or((418, String::new()));
    let status = axum::http::StatusCode::from_u16(status).expect("status");
    (status, body).into_response()
}

async fn endpoint(replies: Vec<(u16, &str)>) -> (HttpTokenExchange, Endpoint) {
    let endpoint = Endpoint {
        replies: Arc::new(StdMutex::new(
            replies
                .into_iter()
                .map(|(s, b)| (s, b.to_owned()))
                .collect(),
        )),
        ..Endpoint::default()
    };
    let app = Router::new()
        .route("/oauth/token", axum::routing::post(token_route))
        .with_state(endpoint.clone());
    let address = serve_local(app).await;

    let policy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    let exchange =
        HttpTokenExchange::new(&format!("http://{address}"), Duration::from_secs(5), policy)
            .expect("exchange");
    (exchange, endpoint)
}

fn client() -> ClientCredentials {
    ClientCredentials {
        client_id: "cid 1".to_owned(),
        client_secret: SecretString::from("s&cret=1"),
    }
}

const OK: &str = r#"{"access_token":"at-9","refresh_token":"rt-9","token_type":"Bearer",
                     "scope":"offline_access","expires_in":3600}"#;

#[tokio::test]
async fn posts_a_form_encoded_refresh_and_reads_the_grant() {
    let (exchange, endpoint) = endpoint(vec![(200, OK)]).await;

    let grant = exchange
        .refresh(&client(), &SecretString::from("rt 8/+"))
        .await
        .expect("grant");

    assert_eq!(grant.access_token.expose_secret(), "at-9");
    assert_eq!(
        grant.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rt-9")
    );
    assert_eq!(grant.expires_in, HOUR);
    let bodies = endpoint.bodies.lock().expect("bodies").clone();
    assert_eq!(
        bodies,
        vec![(
            "application/x-www-form-urlencoded".to_owned(),
            "grant_type=refresh_token&client_id=cid%201&client_secret=s%26cret%3D1&refresh_token=rt%208%2F%2B"
                .to_owned()
        )]
    );
}

#[tokio::test]
async fn invalid_grant_is_recognised_whatever_the_4xx_status() {
    for status in [400, 401, 403] {
        let body =
            r#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#;
        let (exchange, endpoint) = endpoint(vec![(status, body)]).await;

        let err = exchange
            .refresh(&client(), &SecretString::from("rt-1"))
            .await
            .expect_err("refused");

        assert_eq!(err, ExchangeError::InvalidGrant, "status {status}");
        assert_eq!(endpoint.bodies.lock().expect("bodies").len(), 1);
    }
}

#[tokio::test]
async fn other_refusals_and_ambiguous_failures_are_not_retried() {
    let cases = [
        (
            401,
            r#"{"error":"invalid_client"}"#,
            ExchangeError::Rejected { status: 401 },
        ),
        (400, "not json", ExchangeError::Rejected { status: 400 }),
        (500, "", ExchangeError::Unavailable { status: Some(500) }),
        (502, "", ExchangeError::Unavailable { status: Some(502) }),
        (
            200,
            r#"{"access_token":"a","token_type":"mac","expires_in":1}"#,
            ExchangeError::Malformed,
        ),
    ];
    for (status, body, expected) in cases {
        let (exchange, endpoint) = endpoint(vec![(status, body), (200, OK)]).await;

        let err = exchange
            .refresh(&client(), &SecretString::from("rt-1"))
            .await
            .expect_err("failed");

        assert_eq!(err, expected);
        assert_eq!(
            endpoint.bodies.lock().expect("bodies").len(),
            1,
            "sent once"
        );
    }
}

#[tokio::test]
async fn rate_limits_and_maintenance_are_retried() {
    let (exchange, endpoint) = endpoint(vec![(429, ""), (503, ""), (200, OK)]).await;

    let grant = exchange
        .refresh(&client(), &SecretString::from("rt-1"))
        .await
        .expect("grant");

    assert_eq!(grant.access_token.expose_secret(), "at-9");
    assert_eq!(endpoint.bodies.lock().expect("bodies").len(), 3);
}

#[tokio::test]
async fn an_unrotated_answer_keeps_the_refresh_token() {
    let body = r#"{"access_token":"at-9","token_type":"bearer","expires_in":60}"#;
    let (exchange, _endpoint) = endpoint(vec![(200, body)]).await;

    let grant = exchange
        .refresh(&client(), &SecretString::from("rt-1"))
        .await
        .expect("grant");

    assert!(grant.refresh_token.is_none());
    assert_eq!(grant.expires_in, Duration::from_secs(60));
}

#[test]
fn auth_urls_must_be_https_or_loopback() {
    let policy = RetryPolicy::default();
    let timeout = Duration::from_secs(1);

    assert!(HttpTokenExchange::new("https://auth.lever.co", timeout, policy).is_ok());
    assert!(HttpTokenExchange::new("http://127.0.0.1:9", timeout, policy).is_ok());
    assert!(HttpTokenExchange::new("http://auth.lever.co", timeout, policy).is_err());
}
