//! The simulator's control API (`/_sim/*`) and the tenant each benchmark run syncs.

use lever_sim::Counters;
use serde_json::{Value, json};
use std::time::Duration;

/// A running `lever-sim serve` process.
#[derive(Debug, Clone)]
pub struct SimHandle {
    pub opportunities: usize,
    /// `http://127.0.0.1:PORT`
    pub root: String,
}

impl SimHandle {
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.root)
    }

    pub async fn info(&self) -> Result<Value, String> {
        get(&format!("{}/_sim/info", self.root)).await
    }

    /// The calls a complete full backfill needs with the tenant's minimum stage.
    pub async fn minimum_calls(&self, min_stage_id: &str) -> Result<u64, String> {
        let url = format!(
            "{}/_sim/minimum_calls?min_stage_id={min_stage_id}",
            self.root
        );
        let body = get(&url).await?;
        body["minimum_calls"]
            .as_u64()
            .ok_or_else(|| format!("{url}: no minimum_calls"))
    }

    pub async fn counters(&self) -> Result<Counters, String> {
        let body = get(&format!("{}/_sim/counters", self.root)).await?;
        serde_json::from_value(body).map_err(|e| format!("counters: {e}"))
    }

    pub async fn reset_counters(&self) -> Result<(), String> {
        post(&format!("{}/_sim/counters/reset", self.root), &json!({})).await?;
        Ok(())
    }

    /// Applies `count` mutations; returns the distinct opportunities changed and offers whose
    /// truth changed.
    pub async fn mutate(&self, count: usize) -> Result<(usize, usize), String> {
        let body = post(
            &format!("{}/_sim/mutate", self.root),
            &json!({ "count": count }),
        )
        .await?;
        let changed = body["changed"].as_array().cloned().unwrap_or_default();
        // One opportunity can be changed twice: count each opportunity and offer once.
        let distinct = |field: &str| -> std::collections::BTreeSet<String> {
            changed
                .iter()
                .flat_map(|c| match &c[field] {
                    Value::Array(ids) => ids.iter().map(|id| id.to_string()).collect(),
                    id => vec![id.to_string()],
                })
                .collect()
        };
        Ok((
            distinct("opportunity_id").len(),
            distinct("offer_ids").len(),
        ))
    }

    pub async fn mapping(&self) -> Result<Value, String> {
        get(&format!("{}/_sim/mapping", self.root)).await
    }
}

/// `--sim 10000=http://127.0.0.1:PORT` arguments, smallest first.
pub fn parse_sims(args: &[String]) -> Result<Vec<SimHandle>, String> {
    let mut sims = args
        .iter()
        .map(|arg| {
            let (size, root) = arg
                .split_once('=')
                .ok_or_else(|| format!("--sim {arg}: expected OPPORTUNITIES=URL"))?;
            let opportunities = size.parse().map_err(|_| format!("--sim {arg}: bad size"))?;
            if !root.starts_with("http://127.0.0.1:") {
                return Err(format!("--sim {arg}: only 127.0.0.1 simulators"));
            }
            Ok(SimHandle {
                opportunities,
                root: root.trim_end_matches('/').to_owned(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    sims.sort_by_key(|s| s.opportunities);
    Ok(sims)
}

/// A fresh table and tenant secret for one simulator, as `local-stack seed` sets them up.
pub struct Tenant {
    pub name: String,
    pub table: String,
    pub secret_prefix: String,
    pub min_stage_id: String,
}

impl Tenant {
    /// A table and secret with generated names (one per benchmarked simulator).
    pub async fn create(
        aws: &aws_config::SdkConfig,
        sim: &SimHandle,
        label: &str,
        webhook_token: &str,
    ) -> Result<Tenant, String> {
        let run = format!("{}-{}", std::process::id(), unix_ms());
        let table = format!("bench-{label}-{run}");
        let prefix = format!("bench-{run}/");
        let name = format!("bench-{label}");
        Tenant::create_named(aws, sim, &name, &table, &prefix, webhook_token).await
    }

    /// A table and secret with given names (those the watched functions were started with).
    pub async fn create_named(
        aws: &aws_config::SdkConfig,
        sim: &SimHandle,
        name: &str,
        table: &str,
        secret_prefix: &str,
        webhook_token: &str,
    ) -> Result<Tenant, String> {
        let tenant = Tenant {
            name: name.to_owned(),
            table: table.to_owned(),
            secret_prefix: secret_prefix.to_owned(),
            min_stage_id: sim.info().await?["offer_stage_id"]
                .as_str()
                .ok_or("simulator info has no offer_stage_id")?
                .to_owned(),
        };

        let dynamo = aws_sdk_dynamodb::Client::new(aws);
        shared::store::dynamo::create_table(&dynamo, &tenant.table)
            .await
            .map_err(|e| e.to_string())?;
        let events = [
            "candidateStageChange",
            "candidateArchiveChange",
            "candidateHired",
            "candidateDeleted",
        ];
        let secret = json!({
            "lever": { "api_key": "sim-api-key" },
            "pseudonym_key": format!("bench-pseudonym-key-of-this-run-{}", unix_ms()),
            "webhook_tokens": events.iter().map(|e| (e.to_string(), json!([webhook_token])))
                .collect::<serde_json::Map<String, Value>>(),
            "settings": { "min_stage_id": tenant.min_stage_id, "field_mapping": sim.mapping().await? },
        });
        aws_sdk_secretsmanager::Client::new(aws)
            .create_secret()
            .name(format!("{}{}", tenant.secret_prefix, tenant.name))
            .secret_string(secret.to_string())
            .send()
            .await
            .map_err(|e| format!("create secret: {}", e.into_service_error()))?;
        Ok(tenant)
    }
}

pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .expect("http client")
}

async fn get(url: &str) -> Result<Value, String> {
    let response = client()
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

async fn post(url: &str, body: &Value) -> Result<Value, String> {
    let response = client()
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: {status}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
