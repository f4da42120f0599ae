//! Figure 5: footprint.
//!
//! - Sizes of the release arm64 binaries and zips (`cargo lambda build --release --arm64`).
//! - Cold start: the function binary is started with `AWS_LAMBDA_RUNTIME_API` pointing at a
//!   small Lambda runtime API served here, which hands out one event. Measured from process
//!   spawn to its first `GET …/invocation/next` (initialisation) and to its answer (first
//!   invocation served). AWS and Lever point at a closed 127.0.0.1 port, and the events are
//!   ones each function answers without a network call: an invalid payload for the backfill
//!   (an error answer), a GET for the webhook (405).

use crate::SuiteArgs;
use crate::report::{Floor, Report};
use crate::webhook::Percentiles;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::path::Path as FsPath;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const MAX_COLD_START_MS: f64 = 50.0;
const API: &str = "/2018-06-01/runtime";

/// What the runtime API saw of one process.
#[derive(Default)]
struct Seen {
    next: Option<Instant>,
    answered: Option<(Instant, String, String)>,
    init_error: Option<String>,
    done: Option<oneshot::Sender<()>>,
}

struct Api {
    event: Value,
    seen: Mutex<Seen>,
}

pub async fn figures(args: &SuiteArgs, report: &mut Report) -> Result<(), String> {
    eprintln!("== footprint ==");
    sizes(&args.target_dir, report)?;

    let backfill_event = json!({ "bench": "not a backfill payload" });
    let webhook_event = function_url_get("/bench");
    // (function, binary, event, answer kind, text the answer must hold)
    for (name, binary, event, expected, holds) in [
        (
            "backfill",
            &args.backfill_bin,
            backfill_event,
            "error",
            "invalid payload",
        ),
        (
            "webhook",
            &args.webhook_bin,
            webhook_event,
            "response",
            "405",
        ),
    ] {
        // One untimed start loads the binary into the page cache.
        cold_start(binary, &event).await?;
        let mut init = Vec::new();
        let mut first = Vec::new();
        for _ in 0..args.cold_starts {
            let (to_next, to_answer, kind, body) = cold_start(binary, &event).await?;
            if kind != expected || !body.contains(holds) {
                return Err(format!(
                    "{name}: expected an {expected} answer, got {kind}: {body}"
                ));
            }
            init.push(to_next);
            first.push(to_answer);
        }
        let init = Percentiles::of(&mut init);
        let first = Percentiles::of(&mut first);
        let reference = format!(
            "{} starts of the x86_64 bench-run build; init p50 {:.1} ms, p90 {:.1} ms; \
             first answer max {:.1} ms",
            args.cold_starts, init.p50, init.p90, first.max
        );
        report.add(
            &format!("cold start {name}: to first invocation served (p50)"),
            "no network",
            first.p50,
            "ms",
            Some(Floor::Below(MAX_COLD_START_MS)),
            reference,
        );
        report.add(
            &format!("cold start {name}: p90"),
            "no network",
            first.p90,
            "ms",
            None,
            format!("init (to first /next) p90 {:.1} ms", init.p90),
        );
        report.detail(
            &format!("cold_start_{name}"),
            json!({ "init": init.json(), "first_invocation": first.json() }),
        );
    }
    Ok(())
}

/// Sizes of the release function binaries `make package` built, and of their zips.
fn sizes(target: &FsPath, report: &mut Report) -> Result<(), String> {
    for name in ["backfill", "webhook"] {
        // arm64 as deployed; x86_64 when package.sh had to fall back (it warns then).
        let binary = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"]
            .iter()
            .map(|triple| target.join(triple).join("release").join(name))
            .find(|path| path.is_file())
            .ok_or_else(|| format!("no release binary of {name} under {}", target.display()))?;
        let bytes = std::fs::read(&binary).map_err(|e| format!("{}: {e}", binary.display()))?;
        // ELF e_machine at offset 18: 0xB7 is AArch64.
        let arch = match bytes.get(18..20) {
            Some([0xB7, 0x00]) => "arm64",
            Some([0x3E, 0x00]) => "x86_64",
            _ => "unknown",
        };
        let zip = target.join("lambda").join(name).join("bootstrap.zip");
        let zip_mb = std::fs::metadata(&zip).map_or(f64::NAN, |m| mb(m.len()));
        report.add(
            &format!("binary size {name} ({arch}, release)"),
            "",
            mb(bytes.len() as u64),
            "MB",
            None,
            format!("zip {zip_mb:.2} MB; {}", binary.display()),
        );
        if arch != "arm64" {
            eprintln!("  warning: {} is {arch}, not arm64", binary.display());
        }
    }
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// A Function URL (API Gateway v2 format) GET request, as Lambda delivers it.
fn function_url_get(path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": { "host": "localhost", "user-agent": "bench" },
        "requestContext": {
            "accountId": "anonymous", "apiId": "bench", "domainName": "localhost",
            "domainPrefix": "bench", "requestId": "bench-request", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": { "method": "GET", "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "bench" }
        },
        "isBase64Encoded": false
    })
}

/// Starts `binary` once against a fresh runtime API; returns (to /next, to answer, answer kind,
/// answer body).
async fn cold_start(
    binary: &FsPath,
    event: &Value,
) -> Result<(Duration, Duration, String, String), String> {
    let (done_tx, done_rx) = oneshot::channel();
    let api = Arc::new(Api {
        event: event.clone(),
        seen: Mutex::new(Seen {
            done: Some(done_tx),
            ..Seen::default()
        }),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Router::new()
        .route(&format!("{API}/invocation/next"), get(next))
        .route(&format!("{API}/invocation/{{id}}/response"), post(response))
        .route(&format!("{API}/invocation/{{id}}/error"), post(error))
        .route(&format!("{API}/init/error"), post(init_error))
        .with_state(api.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let closed = closed_port().await?;

    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("LEVER_API_URL", format!("http://127.0.0.1:{closed}/v1"))
        .env("LEVER_AUTH_URL", format!("http://127.0.0.1:{closed}"))
        .env("OFFERS_TABLE", "bench-cold-start")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());

    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let waited = tokio::time::timeout(Duration::from_secs(10), done_rx).await;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();

    let seen = std::mem::take(&mut *api.seen.lock().expect("seen lock"));
    if let Some(error) = seen.init_error {
        return Err(format!("{}: init error {error}", binary.display()));
    }
    if waited.is_err() {
        return Err(format!("{}: no answer within 10 s", binary.display()));
    }
    let (Some(next), Some((answered, kind, body))) = (seen.next, seen.answered) else {
        return Err(format!("{}: incomplete exchange", binary.display()));
    };
    Ok((next - spawned, answered - spawned, kind, body))
}

/// A 127.0.0.1 port nothing listens on (bound, then released).
async fn closed_port() -> Result<u16, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    drop(listener);
    Ok(port)
}

/// The first call gets the event; later calls wait (the process is stopped meanwhile).
async fn next(State(api): State<Arc<Api>>) -> axum::response::Response {
    let first = {
        let mut seen = api.seen.lock().expect("seen lock");
        let first = seen.next.is_none();
        if first {
            seen.next = Some(Instant::now());
        }
        first
    };
    if !first {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return StatusCode::GONE.into_response();
    }

    let deadline = crate::simctl::unix_ms() + 60_000;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put(
        "lambda-runtime-aws-request-id",
        "bench-request-1".to_owned(),
    );
    put("lambda-runtime-deadline-ms", deadline.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
    );
    put("content-type", "application/json".to_owned());
    (headers, api.event.to_string()).into_response()
}

async fn response(
    State(api): State<Arc<Api>>,
    Path(_id): Path<String>,
    body: String,
) -> StatusCode {
    answered(&api, "response", body)
}

async fn error(State(api): State<Arc<Api>>, Path(_id): Path<String>, body: String) -> StatusCode {
    answered(&api, "error", body)
}

async fn init_error(State(api): State<Arc<Api>>, body: String) -> StatusCode {
    let mut seen = api.seen.lock().expect("seen lock");
    seen.init_error = Some(body);
    if let Some(done) = seen.done.take() {
        let _ = done.send(());
    }
    StatusCode::ACCEPTED
}

fn answered(api: &Api, kind: &str, body: String) -> StatusCode {
    let now = Instant::now();
    let mut seen = api.seen.lock().expect("seen lock");
    seen.answered = Some((now, kind.to_owned(), body));
    if let Some(done) = seen.done.take() {
        let _ = done.send(());
    }
    StatusCode::ACCEPTED
}
