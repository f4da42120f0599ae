//! Structured logging: JSON lines in Lambda, readable text locally.
//!
//! The level comes from `LOG_LEVEL`, then Lambda's `AWS_LAMBDA_LOG_LEVEL`, then `info`, and
//! applies to this project's crates only: the AWS SDK and HTTP crates stay at `warn`, because
//! at debug and trace they print requests, which can hold tokens and personal data.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The crates whose events pass at the configured level.
const OWN_CRATES: [&str; 4] = ["shared", "backfill", "webhook", "lever_sim"];

/// Installs the global subscriber writing to stdout. Call once, first thing in `main`.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"))
        || std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let level = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_owned());

    let _ = try_init_with(&level, json, std::io::stdout);
}

/// Installs a subscriber with an explicit level, format and writer (tests capture logs this way).
pub fn try_init_with<W>(level: &str, json: bool, writer: W) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(writer)
        .with_target(false)
        .with_ansi(false);

    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| e.to_string())
}

/// `warn` for everything, `level` for this project's crates.
pub fn filter(level: &str) -> EnvFilter {
    let level = match level.to_ascii_lowercase().as_str() {
        l @ ("trace" | "debug" | "info" | "warn" | "error") => l.to_owned(),
        _ => "info".to_owned(),
    };
    let directives: Vec<String> = OWN_CRATES.iter().map(|c| format!("{c}={level}")).collect();
    EnvFilter::new(format!("warn,{}", directives.join(",")))
}
