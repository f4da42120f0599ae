//! HTTP server: shared state, the `/v1` gate (auth, rate limit, faults, counting) and the
//! `/_sim` control API. The Lever endpoints themselves are in `api`.

use crate::api::{self, ApiError};
use crate::counters::Counters;
use crate::dataset::Dataset;
use crate::faults::{FaultState, Faults};
use crate::limiter::TokenBucket;
use crate::mutate::{self, Change};
use crate::paging::TokenRegistry;
use axum::extract::{MatchedPath, Query as AxumQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::net::TcpListener;

/// The dataset plus the number of mutations applied so far.
pub(crate) struct World {
    pub dataset: Dataset,
    pub mutations: u64,
}

/// Everything a running simulator shares between requests.
pub(crate) struct SimState {
    pub api_key: String,
    pub api_base: OnceLock<String>,
    pub world: Mutex<World>,
    pub faults: Mutex<FaultState>,
    pub limiter: Mutex<TokenBucket>,
    pub counters: Mutex<Counters>,
    pub tokens: Mutex<TokenRegistry>,
    pub oauth: Mutex<crate::oauth::OAuthServer>,
}

/// Locks a mutex, ignoring poisoning (a panicking handler must not wedge the simulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wall-clock time, epoch ms.
pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SimState {
    pub(crate) fn new(
        dataset: Dataset,
        api_key: String,
        rate_per_sec: f64,
        burst: u32,
    ) -> SimState {
        SimState {
            api_key,
            api_base: OnceLock::new(),
            world: Mutex::new(World {
                dataset,
                mutations: 0,
            }),
            faults: Mutex::new(FaultState::default()),
            limiter: Mutex::new(TokenBucket::new(rate_per_sec, burst)),
            counters: Mutex::new(Counters::default()),
            tokens: Mutex::new(TokenRegistry::default()),
            oauth: Mutex::new(crate::oauth::OAuthServer::default()),
        }
    }

    /// Applies a fault request.
    pub(crate) fn set_faults(&self, f: &Faults) {
        lock(&self.faults).apply(f);
        if f.rate_per_sec.is_some() || f.burst.is_some() {
            lock(&self.limiter).reconfigure(f.rate_per_sec, f.burst);
        }
        if f.invalidate_tokens == Some(true) {
            lock(&self.tokens).invalidate_all();
        }
    }

    /// Applies `count` mutations at the current wall-clock time.
    pub(crate) fn mutate(&self, count: usize) -> Vec<Change> {
        let mut world = lock(&self.world);
        let serial = world.mutations;
        let changes = mutate::mutate(&mut world.dataset, serial, count, wall_ms());
        world.mutations += count as u64;
        changes
    }

    /// Deletes an opportunity now; `false` if unknown.
    pub(crate) fn delete(&self, opportunity_id: &str) -> bool {
        let mut world = lock(&self.world);
        let by = world.dataset.users[0].id.clone();
        world.dataset.delete(opportunity_id, wall_ms(), &by)
    }
}

/// Serves until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<SimState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let base = format!("http://{}/v1", listener.local_addr()?);
    let _ = state.api_base.set(base);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// All routes.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    let lever = api::routes().route_layer(middleware::from_fn_with_state(state.clone(), gate));
    let control = Router::new()
        .route("/_sim/counters", get(get_counters))
        .route("/_sim/counters/reset", post(reset_counters))
        .route("/_sim/faults", get(get_faults).post(post_faults))
        .route("/_sim/truth", get(get_truth))
        .route(
            "/_sim/mapping",
            get(|| async { Json(crate::tenant_mapping()) }),
        )
        .route("/_sim/mutate", post(post_mutate))
        .route("/_sim/delete", post(post_delete))
        .route("/_sim/info", get(get_info))
        .route("/_sim/minimum_calls", get(get_minimum_calls))
        .merge(crate::webhooks::routes());

    lever
        .merge(control)
        .merge(crate::oauth::routes())
        .fallback(fallback)
        .with_state(state)
}

/// `/v1/opportunities/{id}/offers` → `/v1/opportunities/:id/offers`.
fn route_template(path: &str) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Counts every `/v1` request, whatever its outcome.
async fn gate(
    State(s): State<Arc<SimState>>,
    path: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let route = format!("{} {}", req.method(), route_template(path.as_str()));
    let response = admit(&s, req, next).await;
    lock(&s.counters).record(&route, response.status().as_u16());
    response
}

/// Auth, then rate limit and injected faults, then the handler.
async fn admit(s: &SimState, req: Request, next: Next) -> Response {
    let bearer = lock(&s.oauth).admit_bearer(req.headers(), wall_ms());
    if bearer != Some(true) && !authorized(&s.api_key, req.headers()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedError",
            "Invalid API key",
        )
        .into_response();
    }

    // A 429 (storm or bucket) consumes no other fault budget.
    let storm = lock(&s.faults).take_429();
    if storm || !lock(&s.limiter).try_take() {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests",
        )
        .into_response();
    }
    // A 5xx answer consumes no delay; only requests reaching the handler are slowed.
    let (fail, slow) = {
        let mut f = lock(&s.faults);
        let fail = f.take_5xx();
        (fail, if fail.is_none() { f.take_slow() } else { None })
    };
    if let Some(code) = fail {
        return match code {
            503 => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Lever is under maintenance",
            ),
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal error",
            ),
        }
        .into_response();
    }
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    if lock(&s.faults).take_drop() {
        return dropped_connection();
    }

    next.run(req).await
}

/// A 200 whose body fails before its first byte: hyper aborts the connection.
fn dropped_connection() -> Response {
    let failure = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset");
    let body = futures::stream::once(async move { Err::<axum::body::Bytes, _>(failure) });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// HTTP Basic with the API key as user name and an empty password.
fn authorized(api_key: &str, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|creds| creds == format!("{api_key}:"))
}

/// Unknown routes: counted under `<METHOD> /v1/*` when under `/v1`.
async fn fallback(State(s): State<Arc<SimState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let response = ApiError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("{path} was not found"),
    )
    .into_response();
    if path.starts_with("/v1/") || path == "/v1" {
        lock(&s.counters).record(&format!("{} /v1/*", req.method()), 404);
    }
    response
}

async fn get_counters(State(s): State<Arc<SimState>>) -> Json<Counters> {
    Json(lock(&s.counters).clone())
}

async fn reset_counters(State(s): State<Arc<SimState>>) -> StatusCode {
    *lock(&s.counters) = Counters::default();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(s): State<Arc<SimState>>) -> Json<FaultState> {
    Json(lock(&s.faults).clone())
}

async fn post_faults(State(s): State<Arc<SimState>>, Json(f): Json<Faults>) -> Json<FaultState> {
    s.set_faults(&f);
    Json(lock(&s.faults).clone())
}

async fn get_truth(State(s): State<Arc<SimState>>) -> Response {
    let truth = lock(&s.world).dataset.truth();
    Json(truth).into_response()
}

#[derive(Deserialize)]
struct MutateBody {
    count: usize,
}

async fn post_mutate(State(s): State<Arc<SimState>>, Json(b): Json<MutateBody>) -> Response {
    let changed = s.mutate(b.count);
    Json(json!({ "changed": changed })).into_response()
}

#[derive(Deserialize)]
struct DeleteBody {
    opportunity_id: String,
}

async fn post_delete(State(s): State<Arc<SimState>>, Json(b): Json<DeleteBody>) -> Response {
    if s.delete(&b.opportunity_id) {
        Json(json!({ "deleted": b.opportunity_id })).into_response()
    } else {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "opportunity was not found",
        )
        .into_response()
    }
}

async fn get_info(State(s): State<Arc<SimState>>) -> Response {
    let world = lock(&s.world);
    let d = &world.dataset;
    Json(json!({
        "seed": d.seed,
        "now_ms": d.now_ms,
        "opportunities": d.opportunities.len(),
        "deleted": d.deleted.len(),
        "offers": d.opportunities.iter().map(|o| o.offers.len()).sum::<usize>(),
        "offer_stage_id": d.offer_stage_id(),
        "mutations": world.mutations,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct MinimumCallsQuery {
    min_stage_id: Option<String>,
}

async fn get_minimum_calls(
    State(s): State<Arc<SimState>>,
    AxumQuery(q): AxumQuery<MinimumCallsQuery>,
) -> Response {
    let n = lock(&s.world)
        .dataset
        .minimum_calls(q.min_stage_id.as_deref());
    Json(json!({ "minimum_calls": n })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_use_colon_params() {
        assert_eq!(
            route_template("/v1/opportunities/{id}/offers"),
            "/v1/opportunities/:id/offers"
        );
        assert_eq!(route_template("/v1/stages"), "/v1/stages");
    }

    #[test]
    fn basic_auth_needs_key_and_empty_password() {
        let mut h = HeaderMap::new();
        assert!(!authorized("k", &h));
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {}", enc("k:")).parse().unwrap(),
        );
        assert!(authorized("k", &h));
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {}", enc("k:pw")).parse().unwrap(),
        );
        assert!(!authorized("k", &h));
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {}", enc("k:")).parse().unwrap(),
        );
        assert!(!authorized("k", &h));
    }
}
