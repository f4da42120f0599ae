//! `lever-sim` command line: serve the simulator, or print its truth or tenant mapping.

use clap::{Parser, Subcommand};
use lever_sim::{DEFAULT_NOW_MS, Sim, SimConfig};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "lever-sim", about = "Deterministic Lever Data API simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Data API (/v1) and the control API (/_sim) until SIGTERM/SIGINT.
    Serve {
        /// Listen address: 127.0.0.1 or localhost only.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[command(flatten)]
        data: DataArgs,
        /// API key (HTTP Basic user name, empty password).
        #[arg(long, default_value = "sim-api-key")]
        api_key: String,
        /// Rate limit, requests per second.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Rate-limit burst.
        #[arg(long, default_value_t = 20)]
        burst: u32,
    },
    /// Print the ground truth JSON of a dataset.
    Truth {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the tenant field-mapping JSON.
    Mapping,
    /// Change an opportunity of a running simulator; prints the change and its webhook event.
    Change {
        /// The simulator's root, e.g. http://127.0.0.1:8080
        #[arg(long)]
        sim: String,
        /// offer_signed, salary_revised, archived_declined, hired or moved_to_offer.
        #[arg(long)]
        kind: String,
        /// The opportunity to change (default: a seeded choice among those that qualify).
        #[arg(long)]
        opportunity: Option<String>,
    },
    /// Have a running simulator deliver a signed webhook like Lever; prints each attempt.
    Deliver {
        /// The simulator's root, e.g. http://127.0.0.1:8080
        #[arg(long)]
        sim: String,
        /// Receiver URL on 127.0.0.1, e.g. http://127.0.0.1:9000/lambda-url/webhook/acme
        #[arg(long)]
        url: String,
        /// Lever event, e.g. candidateHired.
        #[arg(long)]
        event: String,
        #[arg(long)]
        opportunity: String,
        /// File holding the tenant's signature token for the event (kept off the command line).
        #[arg(long)]
        signature_token_file: std::path::PathBuf,
        /// A deliberate defect: forged_signature, tampered_token, stale, future,
        /// missing_signature, header_signature, body_signature, missing_token,
        /// missing_opportunity, float_triggered_at.
        #[arg(long)]
        defect: Option<String>,
        /// Identical copies sent one after another.
        #[arg(long, default_value_t = 1)]
        copies: u32,
        /// Re-sends on non-2xx (Lever: 5).
        #[arg(long, default_value_t = 5)]
        retries: u32,
        /// Gap before the first re-send, ms (doubles each time).
        #[arg(long, default_value_t = 200)]
        first_gap_ms: u64,
    },
}

#[derive(clap::Args)]
struct DataArgs {
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of opportunities.
    #[arg(long, default_value_t = 200)]
    opportunities: usize,
    /// The generator's "now", epoch ms.
    #[arg(long, default_value_t = DEFAULT_NOW_MS)]
    now_ms: i64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    match Cli::parse().command {
        Command::Serve {
            host,
            port,
            data,
            api_key,
            rate,
            burst,
        } => {
            if host != "127.0.0.1" && host != "localhost" {
                eprintln!("lever-sim: refusing to listen on {host}: only 127.0.0.1 or localhost");
                return ExitCode::from(2);
            }
            let cfg = SimConfig {
                seed: data.seed,
                opportunities: data.opportunities,
                api_key,
                rate_per_sec: rate,
                burst,
                now_ms: data.now_ms,
            };
            serve(cfg, port)
        }
        Command::Truth { data } => {
            let truth = lever_sim::generate(data.seed, data.opportunities, data.now_ms).truth();
            print_json(&serde_json::to_value(truth).unwrap_or_default())
        }
        Command::Mapping => print_json(&lever_sim::tenant_mapping()),
        Command::Change {
            sim,
            kind,
            opportunity,
        } => {
            let body = serde_json::json!({ "kind": kind, "opportunity_id": opportunity });
            control(&format!("{sim}/_sim/change"), &body)
        }
        Command::Deliver {
            sim,
            url,
            event,
            opportunity,
            signature_token_file,
            defect,
            copies,
            retries,
            first_gap_ms,
        } => {
            let token = match std::fs::read_to_string(&signature_token_file) {
                Ok(text) => text.trim().to_owned(),
                Err(e) => {
                    eprintln!("lever-sim: {}: {e}", signature_token_file.display());
                    return ExitCode::FAILURE;
                }
            };
            let body = serde_json::json!({
                "url": url, "event": event, "opportunity_id": opportunity,
                "signature_token": token, "defect": defect, "copies": copies,
                "retries": retries, "first_gap_ms": first_gap_ms,
            });
            control(&format!("{sim}/_sim/deliver"), &body)
        }
    }
}

/// POSTs a control request to a running simulator and prints its JSON answer.
fn control(url: &str, body: &serde_json::Value) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lever-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let answer = runtime.block_on(async {
        let response = reqwest::Client::new().post(url).json(body).send().await?;
        let ok = response.status().is_success();
        Ok::<_, reqwest::Error>((ok, response.json::<serde_json::Value>().await?))
    });
    match answer {
        Ok((ok, value)) => {
            let printed = print_json(&value);
            if ok { printed } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("lever-sim: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_json(v: &serde_json::Value) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(out));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lever-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cfg: SimConfig, port: u16) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lever-sim: {e}");
            return ExitCode::FAILURE;
        }
    };

    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("lever-sim: cannot bind 127.0.0.1:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (seed, opportunities) = (cfg.seed, cfg.opportunities);
        let sim = match Sim::serve_on(listener, cfg) {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("lever-sim: {e}");
                return ExitCode::FAILURE;
            }
        };

        println!("lever-sim listening on http://{}", sim.addr());
        let _ = std::io::stdout().flush();
        tracing::info!(seed, opportunities, "serving");

        wait_for_signal().await;
        tracing::info!("shutting down");
        sim.shutdown();
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();

    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
