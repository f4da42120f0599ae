//! The results: every figure next to its floor and the reference measured in the same run,
//! printed as a table and saved as JSON with the machine it ran on.

use crate::SuiteArgs;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::Path;

/// A bound a figure must meet.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Floor {
    /// value ≤ limit
    AtMost(f64),
    /// value < limit
    Below(f64),
    /// value ≥ limit
    AtLeast(f64),
}

impl Floor {
    fn holds(self, value: f64) -> bool {
        match self {
            Floor::AtMost(limit) => value <= limit,
            Floor::Below(limit) => value < limit,
            Floor::AtLeast(limit) => value >= limit,
        }
    }

    fn text(self) -> String {
        match self {
            Floor::AtMost(limit) => format!("≤ {}", trim(limit)),
            Floor::Below(limit) => format!("< {}", trim(limit)),
            Floor::AtLeast(limit) => format!("≥ {}", trim(limit)),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub figure: String,
    pub scale: String,
    pub value: f64,
    pub unit: String,
    pub floor: Option<Floor>,
    pub floor_text: String,
    /// What the value is measured against, measured in the same run.
    pub reference: String,
    pub pass: Option<bool>,
}

/// Everything one `make bench` measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Value,
    pub settings: Value,
    pub figures: Vec<Figure>,
    /// Build, stack and suite phases, seconds.
    pub steps: Vec<(String, f64)>,
    /// Raw material: run summaries, counter samples, latency lists' percentiles.
    pub details: serde_json::Map<String, Value>,
    pub error: Option<String>,
}

impl Report {
    pub fn new(machine: Value, args: &SuiteArgs) -> Report {
        let mut steps = Vec::new();
        if let Some(path) = &args.steps {
            steps = read_steps(path);
        }
        Report {
            machine,
            settings: json!({
                "sim_rate_per_sec": args.sim_rate, "sim_burst": args.sim_burst,
                "client_rate_per_sec": args.sim_rate * args.client_rate_factor,
                "client_burst": args.client_burst, "lever_concurrency": args.concurrency,
                "changed_share": args.changed_share, "seed": args.seed,
                "webhook_deliveries": args.webhook_deliveries,
                "e2e_deliveries": args.e2e_deliveries, "cold_starts": args.cold_starts,
            }),
            figures: Vec::new(),
            steps,
            details: serde_json::Map::new(),
            error: None,
        }
    }

    /// Records a figure; `floor` is checked here.
    pub fn add(
        &mut self,
        figure: &str,
        scale: &str,
        value: f64,
        unit: &str,
        floor: Option<Floor>,
        reference: impl Into<String>,
    ) {
        let pass = floor.map(|f| value.is_finite() && f.holds(value));
        let row = Figure {
            figure: figure.to_owned(),
            scale: scale.to_owned(),
            value,
            unit: unit.to_owned(),
            floor,
            floor_text: floor.map(Floor::text).unwrap_or_else(|| "-".to_owned()),
            reference: reference.into(),
            pass,
        };
        let verdict = match row.pass {
            Some(true) => "ok",
            Some(false) => "MISSED",
            None => "",
        };
        eprintln!(
            "  {} [{}] = {} {} {} {}",
            row.figure,
            row.scale,
            trim(row.value),
            row.unit,
            row.floor_text,
            verdict
        );
        self.figures.push(row);
    }

    pub fn detail(&mut self, key: &str, value: Value) {
        self.details.insert(key.to_owned(), value);
    }

    pub fn step(&mut self, name: &str, seconds: f64) {
        self.steps.push((name.to_owned(), seconds));
    }

    /// True when every floor holds and nothing failed to run.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.figures.iter().all(|f| f.pass != Some(false))
    }

    pub fn print(&self) {
        println!("\n== lever-offers benchmarks ==");
        println!(
            "machine: {} | {} cores | {} | {} | {}",
            self.machine["cpu"].as_str().unwrap_or("?"),
            self.machine["cores"],
            self.machine["memory"].as_str().unwrap_or("?"),
            self.machine["os"].as_str().unwrap_or("?"),
            self.machine["rustc"].as_str().unwrap_or("?"),
        );
        println!(
            "{:<44} {:>8} {:>14} {:<8} {:>10} {:<6}  reference (same run)",
            "figure", "scale", "value", "unit", "floor", "check"
        );
        for f in &self.figures {
            let check = match f.pass {
                Some(true) => "ok",
                Some(false) => "MISSED",
                None => "-",
            };
            println!(
                "{:<44} {:>8} {:>14} {:<8} {:>10} {:<6}  {}",
                f.figure,
                f.scale,
                trim(f.value),
                f.unit,
                f.floor_text,
                check,
                f.reference
            );
        }
        println!("\nsteps (seconds):");
        for (name, seconds) in &self.steps {
            println!("  {name:<44} {seconds:>8.1}");
        }
        if let Some(error) = &self.error {
            println!("\nERROR: {error}");
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

/// `{"name": seconds, ...}` written by scripts/bench.sh, in file order.
fn read_steps(path: &Path) -> Vec<(String, f64)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (name, seconds) = line.rsplit_once('\t')?;
            Some((name.to_owned(), seconds.trim().parse().ok()?))
        })
        .collect()
}

/// A number without trailing zeros: 3 significant decimals at most.
pub fn trim(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
