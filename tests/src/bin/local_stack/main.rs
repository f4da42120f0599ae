//! `local-stack`: seeds and inspects the local stack (moto + lever-sim) for `make demo`.
//!
//! - `seed`: creates the offers table and the tenant's secret, configured for the simulator's
//!   account (its offer stage as the minimum stage, its custom field identifiers).
//! - `report`: reads the table back, prints a readable summary, and checks it against the
//!   simulator's ground truth and for personal data. Exits non-zero on any difference.
//! - `webhooks`: the simulator changes a few opportunities and delivers signed webhooks (and a
//!   forged one) to the webhook function; the answers and the table are checked.

mod check;
mod webhooks;

use clap::{Parser, Subcommand};
use lever_sim::Truth;
use serde_json::{Value, json};
use shared::ports::OfferStore;
use shared::record::{OfferRecord, PayKind};
use shared::store::DynamoStore;
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Seed and inspect the local lever-offers stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and the tenant secret.
    Seed {
        #[arg(long)]
        table: String,
        #[arg(long)]
        tenant: String,
        /// The simulator's control root, e.g. http://127.0.0.1:8080
        #[arg(long)]
        sim: String,
        #[arg(long, default_value = "sim-api-key")]
        api_key: String,
        #[arg(long, default_value = "lever-offers/")]
        secret_prefix: String,
    },
    /// Summarize the table and check it against the simulator's ground truth.
    Report {
        #[arg(long)]
        table: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sim: String,
        /// The backfill's summary JSON (as printed by `cargo lambda invoke`).
        #[arg(long)]
        summary: std::path::PathBuf,
    },
    /// Deliver webhooks for simulator changes to the webhook function and check the table.
    Webhooks {
        #[arg(long)]
        table: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sim: String,
        /// The webhook Function URL, e.g. http://127.0.0.1:9000/lambda-url/webhook/demo
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "lever-offers/")]
        secret_prefix: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let aws = shared::wiring::aws_config().await;

    let result = match cli.command {
        Command::Seed {
            table,
            tenant,
            sim,
            api_key,
            secret_prefix,
        } => seed(&aws, &table, &tenant, &sim, &api_key, &secret_prefix).await,
        Command::Report {
            table,
            tenant,
            sim,
            summary,
        } => report(&aws, &table, &tenant, &sim, &summary).await,
        Command::Webhooks {
            table,
            tenant,
            sim,
            url,
            secret_prefix,
        } => {
            let secret_name = format!("{secret_prefix}{tenant}");
            webhooks::run(&aws, &table, &tenant, &sim, &url, &secret_name).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-stack: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn seed(
    aws: &aws_config::SdkConfig,
    table: &str,
    tenant: &str,
    sim: &str,
    api_key: &str,
    prefix: &str,
) -> Result<(), String> {
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    shared::store::dynamo::create_table(&dynamo, table)
        .await
        .map_err(|e| e.to_string())?;

    let info: Value = get_json(&format!("{sim}/_sim/info")).await?;
    let mapping: Value = get_json(&format!("{sim}/_sim/mapping")).await?;
    let secret = json!({
        "lever": { "api_key": api_key },
        "pseudonym_key": format!("demo-pseudonym-key-{}", rand_suffix()),
        "webhook_tokens": webhooks::EVENTS
            .iter()
            .map(|event| (event.to_string(), json!([lever_sim::delivery::random_token()])))
            .collect::<serde_json::Map<String, Value>>(),
        "settings": { "min_stage_id": info["offer_stage_id"], "field_mapping": mapping },
    });

    let secrets = aws_sdk_secretsmanager::Client::new(aws);
    secrets
        .create_secret()
        .name(format!("{prefix}{tenant}"))
        .secret_string(secret.to_string())
        .send()
        .await
        .map_err(|e| format!("create secret: {}", e.into_service_error()))?;
    println!("seeded table {table} and secret {prefix}{tenant}");
    Ok(())
}

async fn report(
    aws: &aws_config::SdkConfig,
    table: &str,
    tenant: &str,
    sim: &str,
    summary_path: &std::path::Path,
) -> Result<(), String> {
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let store = DynamoStore::new(dynamo.clone(), table);
    let records = store.scan_offers(tenant).await.map_err(|e| e.to_string())?;
    let truth: Truth = get_json(&format!("{sim}/_sim/truth")).await?;
    let text = std::fs::read_to_string(summary_path).map_err(|e| format!("summary: {e}"))?;
    let summary: Value =
        serde_json::from_str(&text).map_err(|e| format!("summary is not JSON: {e}"))?;

    print_summary(&records, &summary);

    let problems = check::compare(&truth, &records);
    let items = check::raw_items(&dynamo, table).await?;
    let leaks = check::leaked_pii(&truth, &items);
    println!(
        "\nGround truth: {} offers in Lever, {} in the table, {} differences",
        truth.offers.len(),
        records.len(),
        problems.len()
    );
    println!(
        "Personal data: {} candidate names, emails and phones checked against {} items: {} found",
        truth.pii.len(),
        items.len(),
        leaks.len()
    );

    for problem in problems.iter().take(10) {
        println!("  difference: {problem}");
    }
    let failed = summary["status"] != "complete" || !problems.is_empty() || !leaks.is_empty();
    if failed {
        Err("the demo found problems (see above)".into())
    } else {
        Ok(())
    }
}

fn print_summary(records: &[OfferRecord], summary: &Value) {
    println!("\n== Backfill ==");
    for key in [
        "status",
        "opportunities_read",
        "opportunities_eligible",
        "offers_read",
        "offers_written",
        "offers_unchanged",
        "api_calls",
        "duration_ms",
    ] {
        println!("  {key:<24} {}", summary[key]);
    }
    println!("  {:<24} {}", "skipped", summary["skipped"]);

    print_counts(
        "Offers by status and outcome",
        records
            .iter()
            .map(|r| format!("{:<14} {}", r.status, r.outcome.as_str())),
    );
    print_counts(
        "Offers by department and currency",
        records.iter().map(|r| {
            format!(
                "{:<14} {}",
                r.job.department.as_deref().unwrap_or("-"),
                r.currency.as_deref().unwrap_or("-")
            )
        }),
    );

    print_median_base_pay(records);

    println!("\n== Three sample records (no personal data) ==");
    let mut samples: Vec<&OfferRecord> = records
        .iter()
        .filter(|r| r.pay.len() >= 3)
        .take(2)
        .collect();
    samples.extend(records.iter().find(|r| r.application_id.is_none()));
    for record in samples {
        println!(
            "{}",
            serde_json::to_string_pretty(record).unwrap_or_default()
        );
    }
}

/// Median annualized base pay (salary or hourly wage) of accepted offers, by department and
/// currency: the figure a compensation analyst looks at first.
fn print_median_base_pay(records: &[OfferRecord]) {
    let mut groups: BTreeMap<(String, String), Vec<rust_decimal::Decimal>> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| r.outcome == shared::record::Outcome::Accepted)
    {
        let base = record.pay.iter().find(|p| {
            matches!(p.kind, PayKind::BaseSalary | PayKind::HourlyWage)
                && p.annualized_amount.is_some()
        });
        let (Some(base), Some(currency)) = (base, record.currency.clone()) else {
            continue;
        };
        let department = record
            .job
            .department
            .clone()
            .unwrap_or_else(|| "-".to_owned());
        groups
            .entry((department, currency))
            .or_default()
            .extend(base.annualized_amount);
    }

    println!("\n== Median annualized base pay of accepted offers ==");
    for ((department, currency), mut amounts) in groups {
        amounts.sort();
        let median = amounts[amounts.len() / 2].round_dp(0);
        println!(
            "  {department:<14} {currency}  {median:>12}  ({} offers)",
            amounts.len()
        );
    }
}

fn print_counts(title: &str, keys: impl Iterator<Item = String>) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    println!("\n== {title} ==");
    for (key, count) in counts {
        println!("  {key:<30} {count:>6}");
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = reqwest::get(url).await.map_err(|e| format!("{url}: {e}"))?;
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}
