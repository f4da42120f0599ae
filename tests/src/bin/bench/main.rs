//! `bench`: the benchmark suite behind `make bench` (see docs/benchmarks.md).
//!
//! - `run-backfill`: one backfill run in this process, built from the environment exactly as
//!   the Lambda builds it (`shared::wiring::syncer`); prints the summary and the process's
//!   peak RSS as one JSON line. The suite starts it as a child, so the memory figure is the
//!   engine's own, not the simulator's or the suite's.
//! - `suite`: every figure of issue 6 against the lever-sim processes, moto and
//!   `cargo lambda watch` that `scripts/bench.sh` started on 127.0.0.1; prints the table,
//!   writes the JSON and exits non-zero when a floor is missed.

mod backfill;
// The table scan of the demo report and the tests (only part of the file is used here).
#[allow(dead_code)]
#[path = "../local_stack/check.rs"]
mod check;
mod coldstart;
mod machine;
mod report;
mod simctl;
mod webhook;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "bench", about = "lever-offers benchmarks (make bench)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One backfill run from the environment (OFFERS_TABLE, LEVER_API_URL, ...); JSON on stdout.
    RunBackfill {
        #[arg(long)]
        tenant: String,
        /// full or incremental
        #[arg(long, default_value = "full")]
        mode: String,
    },
    /// Every figure; see scripts/bench.sh for the stack it expects.
    Suite(Box<SuiteArgs>),
}

/// Where the suite finds the local stack and puts its results.
#[derive(clap::Args, Clone, Debug)]
pub struct SuiteArgs {
    /// Simulator roots, one per size, as `OPPORTUNITIES=http://127.0.0.1:PORT`.
    #[arg(long = "sim", required = true)]
    pub sims: Vec<String>,
    /// Generator seed the simulators were started with.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The simulators' rate limit (requests/s) and burst.
    #[arg(long, default_value_t = 200.0)]
    pub sim_rate: f64,
    #[arg(long, default_value_t = 400)]
    pub sim_burst: u32,
    /// The client's limit, as a fraction of the simulator's rate, and its burst.
    #[arg(long, default_value_t = 0.95)]
    pub client_rate_factor: f64,
    #[arg(long, default_value_t = 300)]
    pub client_burst: u32,
    /// Offer reads in flight (LEVER_CONCURRENCY) of the benchmarked backfill.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Share of opportunities changed before the nightly incremental run.
    #[arg(long, default_value_t = 0.01)]
    pub changed_share: f64,
    /// This binary's own path is used for the child runs; the functions' host builds:
    #[arg(long)]
    pub backfill_bin: PathBuf,
    #[arg(long)]
    pub webhook_bin: PathBuf,
    /// Cargo's target directory: the size figure reads the release binaries that
    /// `make package` built (`<dir>/aarch64-unknown-linux-gnu/release/<function>`) and their
    /// zips (`<dir>/lambda/<function>/bootstrap.zip`).
    #[arg(long, default_value = "target")]
    pub target_dir: PathBuf,
    /// Written by scripts/bench.sh when its background `make package` ends ("<exit code>
    /// <seconds>"). The CPU-bound figures (webhook, footprint) wait for it; the backfill
    /// figures, bound by the rate limit, run meanwhile.
    #[arg(long)]
    pub arm64_done: Option<PathBuf>,
    /// The webhook's Function URL root under cargo lambda watch (…/lambda-url/webhook).
    #[arg(long)]
    pub watch_webhook_url: Option<String>,
    /// Table and secret prefix the functions under cargo lambda watch were started with.
    #[arg(long)]
    pub watch_table: Option<String>,
    #[arg(long)]
    pub watch_secret_prefix: Option<String>,
    /// The simulator (root) the watched webhook reads from: one of `--sim`.
    #[arg(long)]
    pub watch_sim: Option<String>,
    /// In-process webhook deliveries, and end-to-end ones through cargo lambda watch.
    #[arg(long, default_value_t = 10_000)]
    pub webhook_deliveries: usize,
    #[arg(long, default_value_t = 500)]
    pub e2e_deliveries: usize,
    /// Cold starts measured per function.
    #[arg(long, default_value_t = 20)]
    pub cold_starts: usize,
    /// Build and stack timings measured by scripts/bench.sh (JSON object name → seconds).
    #[arg(long)]
    pub steps: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/results.json")]
    pub out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    match cli.command {
        Command::RunBackfill { tenant, mode } => runtime.block_on(backfill::child(&tenant, &mode)),
        Command::Suite(args) => runtime.block_on(suite(*args)),
    }
}

async fn suite(args: SuiteArgs) -> ExitCode {
    let started = std::time::Instant::now();
    let mut report = report::Report::new(machine::describe(), &args);

    if let Err(message) = run_figures(&args, &mut report).await {
        eprintln!("bench: {message}");
        report.error = Some(message);
    }
    report.step("suite (all figures)", started.elapsed().as_secs_f64());

    report.print();
    if let Err(e) = report.save(&args.out) {
        eprintln!("bench: cannot write {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    println!("\nresults written to {}", args.out.display());
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench: a floor was missed or a figure could not be measured (see above)");
        ExitCode::FAILURE
    }
}

async fn run_figures(args: &SuiteArgs, report: &mut report::Report) -> Result<(), String> {
    let aws = shared::wiring::aws_config().await;
    let sims = simctl::parse_sims(&args.sims)?;

    for sim in &sims {
        let timer = std::time::Instant::now();
        backfill::figures(args, &aws, sim, report).await?;
        report.step(
            &format!("backfill figures at {}", sim.opportunities),
            timer.elapsed().as_secs_f64(),
        );
    }

    if let Some(done) = &args.arm64_done {
        wait_for_package(done, report).await?;
    }

    let timer = std::time::Instant::now();
    webhook::in_process(args, report).await?;
    if let Some(e2e) = webhook::E2e::from_args(args, &sims) {
        webhook::end_to_end(&e2e, &aws, report).await?;
    }
    report.step("webhook figures", timer.elapsed().as_secs_f64());

    let timer = std::time::Instant::now();
    coldstart::figures(args, report).await?;
    report.step("footprint figures", timer.elapsed().as_secs_f64());
    Ok(())
}

/// Waits for the background arm64 build (at most 40 minutes) and records its duration.
async fn wait_for_package(
    done: &std::path::Path,
    report: &mut report::Report,
) -> Result<(), String> {
    let waited = std::time::Instant::now();
    let mut announced = false;
    loop {
        if let Ok(text) = std::fs::read_to_string(done) {
            let mut fields = text.split_whitespace();
            let rc = fields.next().unwrap_or("?");
            let seconds: f64 = fields
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN);
            report.step(
                "build: arm64 release (make package, background, nice 19)",
                seconds,
            );
            report.step(
                "suite: waiting for the arm64 build",
                waited.elapsed().as_secs_f64(),
            );
            return match rc {
                "0" => Ok(()),
                other => Err(format!(
                    "make package failed (exit {other}; see target/bench/package.log)"
                )),
            };
        }
        if !announced {
            eprintln!(
                "== waiting for the arm64 release build (make package) before the CPU-bound figures =="
            );
            announced = true;
        }
        if waited.elapsed() > std::time::Duration::from_secs(40 * 60) {
            return Err("the arm64 release build did not finish within 40 minutes".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
