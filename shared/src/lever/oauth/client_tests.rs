//! [`HttpLever`] with OAuth: bearer headers, one refresh and retry of the same page on a 401,
//! and a final [`LeverError::InvalidGrant`] when the refreshed token is refused too.

use super::testing::Harness;
use crate::error::LeverError;
use crate::lever::{HttpLever, RateLimiter, RetryPolicy};
use crate::ports::LeverApi;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::IntoResponse;
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);
const NEXT: &str = "0.1700000000000.page-2";

/// A Data API that answers from a script and records (query, authorization) of each request.
#[derive(Clone, Default)]
struct Api {
    replies: Arc<Mutex<VecDeque<(u16, String)>>>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Api {
    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().expect("seen").clone()
    }
}

async fn answer(
    State(api): State<Api>,
    OriginalUri(uri): OriginalUri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    api.seen.lock().expect("seen").push((query, authorization));

    let (status, body) = api
        .replies
        .lock()
        .expect("replies")
        .pop_front()
        .unwrap_or((418, String::new()));
    (
        axum::http::StatusCode::from_u16(status).expect("status"),
        body,
    )
        .into_response()
}

async fn client(harness: &Harness, replies: Vec<(u16, String)>) -> (HttpLever, Api) {
    let api = Api {
        replies: Arc::new(Mutex::new(replies.into())),
        ..Api::default()
    };
    let app = Router::new().fallback(answer).with_state(api.clone());
    let address = crate::test_support::serve_local(app).await;

    let policy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    let lever = HttpLever::with_oauth(
        &format!("http://{address}/v1"),
        harness.provider(),
        Arc::new(RateLimiter::new(1000.0, 1000)),
        policy,
        Duration::from_secs(5),
    )
    .expect("client");
    (lever, api)
}

fn page(id: &str, next: Option<&str>) -> (u16, String) {
    let body = match next {
        Some(next) => json!({ "data": [{ "id": id, "text": id }], "hasNext": true, "next": next }),
        None => json!({ "data": [{ "id": id, "text": id }], "hasNext": false }),
    };
    (200, body.to_string())
}

fn unauthorized() -> (u16, String) {
    let body = json!({ "code": "UnauthorizedError", "message": "Invalid token" });
    (401, body.to_string())
}

#[tokio::test]
async fn a_401_mid_paging_refreshes_once_and_retries_the_same_page() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let (lever, api) = client(
        &harness,
        vec![page("s1", Some(NEXT)), unauthorized(), page("s2", None)],
    )
    .await;

    let stages = lever.stages().await.expect("stages");

    let ids: Vec<&str> = stages.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["s1", "s2"]);
    let offset = format!("limit=100&offset={NEXT}");
    assert_eq!(
        api.seen(),
        vec![
            ("limit=100".to_owned(), "Bearer at-1".to_owned()),
            (offset.clone(), "Bearer at-1".to_owned()),
            (offset, "Bearer at-2".to_owned()),
        ]
    );
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-1"]);
    assert_eq!(harness.secrets.stored_refresh(), "rt-2");
    assert_eq!(lever.calls(), 3);
}

#[tokio::test]
async fn a_401_right_after_the_refresh_is_an_invalid_grant_without_a_loop() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let replies = vec![
        unauthorized(),
        unauthorized(),
        unauthorized(),
        unauthorized(),
    ];
    let (lever, api) = client(&harness, replies).await;

    let err = lever.stages().await.expect_err("refused");

    assert!(matches!(err, LeverError::InvalidGrant), "{err:?}");
    assert_eq!(api.seen().len(), 2);
    assert_eq!(harness.exchange.sent(), vec!["rt-0", "rt-1"]);

    let again = lever.stages().await.expect_err("still refused");
    assert!(matches!(again, LeverError::InvalidGrant), "{again:?}");
    assert_eq!(
        harness.exchange.sent(),
        vec!["rt-0", "rt-1"],
        "no new refresh"
    );
}

#[tokio::test]
async fn debug_output_names_oauth_but_no_token() {
    let harness = Harness::new(HOUR, Duration::ZERO);
    let (lever, _api) = client(&harness, vec![page("s1", None)]).await;
    lever.stages().await.expect("stages");

    let debug = format!("{lever:?}");
    assert!(debug.contains("oauth bearer (redacted)"), "{debug}");
    assert!(!debug.contains("at-1"), "{debug}");
}
