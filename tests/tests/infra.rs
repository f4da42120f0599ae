//! The SAM template (`infra/template.yaml`) against the code, without AWS.
//!
//! What the code needs is derived from the sources on every run, never copied by hand:
//!
//! - **environment variables**: every all-caps string literal (`"OFFERS_TABLE"`) in a source
//!   file that reads the environment (`env::var`, or `Config::from_lookup`'s `lookup`);
//! - **AWS calls**: every SDK fluent call (`.put_item()`, `.get_secret_value()`, …) of the
//!   DynamoDB and Secrets Manager clients, mapped to its IAM action (`dynamodb:PutItem`).
//!
//! Sources are `shared/src` (linked into every function) and `functions/<name>/src` (that
//! function only), without test code (files of `#[cfg(test)] mod x;` modules, and inline
//! `#[cfg(test)] mod x { … }` blocks to the end of their file).
//! A function is the template's `AWS::Serverless::Function` whose `BuildProperties.Binary` is
//! the crate's package name.
//!
//! The checks return lists of problems; the `*_is_caught` tests run them on altered copies of
//! the template and sources to show that they fail when a variable or a permission goes.

use regex::Regex;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Decisions the sources cannot show, each with its reason
// ---------------------------------------------------------------------------------------------

/// Why a variable the code reads is not set by the template.
enum Unset {
    /// The code has a default (checked: the read passes a literal default) that suits Lambda.
    Defaulted(&'static str),
    /// Lambda sets it from the function's `LoggingConfig` property named here.
    FromLoggingConfig(&'static str),
    /// Only meaningful outside Lambda.
    LocalOnly(&'static str),
}

const NOT_IN_TEMPLATE: &[(&str, Unset)] = &[
    (
        "LEVER_RATE_PER_SEC",
        Unset::Defaulted(
            "8/s per container stays under Lever's 10/s per key; lower it on a function if Lever429s shows up",
        ),
    ),
    (
        "LEVER_BURST",
        Unset::Defaulted("burst of the same bucket; tuned with LEVER_RATE_PER_SEC"),
    ),
    (
        "LEVER_TIMEOUT_MS",
        Unset::Defaulted(
            "15 s per Lever request fits the backfill's 900 s; the webhook uses WEBHOOK_LEVER_TIMEOUT_MS",
        ),
    ),
    (
        "LEVER_MAX_ATTEMPTS",
        Unset::Defaulted(
            "retry budget of the backfill; the webhook uses WEBHOOK_LEVER_MAX_ATTEMPTS",
        ),
    ),
    (
        "LEVER_RETRY_BASE_MS",
        Unset::Defaulted("backoff shape, unit-tested in shared; no deployment reason to change it"),
    ),
    (
        "LEVER_RETRY_CAP_MS",
        Unset::Defaulted("backoff shape, unit-tested in shared; no deployment reason to change it"),
    ),
    (
        "LEVER_CONCURRENCY",
        Unset::Defaulted("4 offer reads in flight are bounded by the rate limiter anyway"),
    ),
    (
        "INCREMENTAL_OVERLAP_MS",
        Unset::Defaulted(
            "10 min of overlap covers Lever's updatedAt lag; a deployment has no reason to differ",
        ),
    ),
    (
        "DEADLINE_MARGIN_MS",
        Unset::Defaulted("60 s before the 900 s timeout leaves time to write the cursor"),
    ),
    (
        "WEBHOOK_MAX_BODY_BYTES",
        Unset::Defaulted(
            "64 KiB is far above Lever's bodies; a protocol limit, not a deployment choice",
        ),
    ),
    (
        "WEBHOOK_MAX_AGE_MS",
        Unset::Defaulted(
            "24 h outlasts Lever's retries; a protocol limit, not a deployment choice",
        ),
    ),
    (
        "WEBHOOK_MAX_FUTURE_MS",
        Unset::Defaulted("5 min of clock skew; a protocol limit, not a deployment choice"),
    ),
    (
        "WEBHOOK_LEVER_MAX_ATTEMPTS",
        Unset::Defaulted("a delivery's small Lever budget keeps it well inside the 30 s timeout"),
    ),
    (
        "WEBHOOK_LEVER_TIMEOUT_MS",
        Unset::Defaulted("a delivery's small Lever budget keeps it well inside the 30 s timeout"),
    ),
    (
        "WEBHOOK_LEVER_RETRY_CAP_MS",
        Unset::Defaulted("a delivery's small Lever budget keeps it well inside the 30 s timeout"),
    ),
    (
        "WEBHOOK_CONTEXT_TTL_MS",
        Unset::Defaulted("cache lifetime inside one container; no deployment reason to change it"),
    ),
    (
        "WEBHOOK_SECRET_REREAD_MS",
        Unset::Defaulted(
            "bounds secret re-reads during a token rotation; no deployment reason to change it",
        ),
    ),
    (
        "OAUTH_REFRESH_MARGIN_MS",
        Unset::Defaulted("OAuth tenants only; 5 min before expiry suits Lever's 1 h access tokens"),
    ),
    (
        "OAUTH_LEASE_TTL_MS",
        Unset::Defaulted("OAuth tenants only; 60 s is far above one token refresh"),
    ),
    (
        "AWS_LAMBDA_LOG_FORMAT",
        Unset::FromLoggingConfig("LogFormat"),
    ),
    (
        "AWS_LAMBDA_LOG_LEVEL",
        Unset::FromLoggingConfig("ApplicationLogLevel"),
    ),
    (
        "LOG_FORMAT",
        Unset::LocalOnly(
            "picks JSON logs for local runs; in Lambda AWS_LAMBDA_LOG_FORMAT (LoggingConfig) decides",
        ),
    ),
];

/// Rust functions whose AWS calls no deployed function makes, with the reason. The test also
/// checks that nothing outside test code calls them.
const LOCAL_ONLY_CALLS: &[(&str, &str)] = &[
    (
        "create_table",
        "the template creates the table; local stacks and tests create theirs with this",
    ),
    (
        "scan_offers",
        "reads a whole tenant for the tests and the local-stack report; a Scan grant would let a function read every tenant",
    ),
];

/// Actions the shared code calls that one function never reaches: (function, action, reason).
/// Empty today: both functions run the same engine, store and secret source.
const NOT_CALLED_BY: &[(&str, &str, &str)] = &[];

/// Alarmed `LeverOffers` metrics declared in `shared/src/metrics.rs` that no code emits yet,
/// with who must emit them. Remove an entry once the emitter exists (the test says when).
const AWAITING_EMITTER: &[(&str, &str)] = &[(
    "PendingOldestAgeSeconds",
    "the backfill's pending-marker drain: age of the oldest marker left, in seconds",
)];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_function_crate_is_deployed_with_the_build_the_docs_require() {
    let template = Template::load();
    let code = Code::load();

    let deployed: BTreeSet<String> = template
        .functions()
        .iter()
        .map(|f| f.binary.clone())
        .collect();
    let crates: BTreeSet<String> = code.functions.keys().cloned().collect();
    assert_eq!(deployed, crates, "template functions vs functions/* crates");

    for f in &template.functions() {
        let p = &f.properties;
        assert_eq!(
            template.property(f, "Runtime"),
            json!("provided.al2023"),
            "{}",
            f.id
        );
        assert_eq!(
            template.property(f, "Architectures"),
            json!(["arm64"]),
            "{}",
            f.id
        );
        assert_eq!(
            template.property(f, "Handler"),
            json!("bootstrap"),
            "{}",
            f.id
        );
        assert_eq!(f.metadata["BuildMethod"], "rust-cargolambda", "{}", f.id);
        assert_eq!(
            p["CodeUri"], "..",
            "{}: cargo-lambda builds from the workspace root",
            f.id
        );
        assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON", "{}", f.id);
        assert!(
            p.get("Policies").is_none(),
            "{}: write grants into its Role",
            f.id
        );
    }
}

#[test]
fn every_environment_variable_the_code_reads_is_set() {
    let problems = env_problems(&Template::load(), &Code::load());
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_aws_call_is_granted_and_nothing_else() {
    let problems = iam_problems(&Template::load(), &Code::load());
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn table_matches_the_store() {
    let template = Template::load();
    let code = Code::load();
    let table = &template.resource("OffersTable")["Properties"];

    let dynamo = code.shared_file("shared/src/store/dynamo.rs");
    let key_of = |kind: &str| -> String {
        let pattern = format!(r#"key_element\("(\w+)",\s*KeyType::{kind}\)"#);
        let found = Regex::new(&pattern).expect("regex").captures(dynamo);
        found.expect("create_table names its keys")[1].to_owned()
    };
    assert_eq!(
        table["KeySchema"],
        json!([
            { "AttributeName": key_of("Hash"), "KeyType": "HASH" },
            { "AttributeName": key_of("Range"), "KeyType": "RANGE" },
        ])
    );
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(
        table["SSESpecification"],
        json!({ "SSEEnabled": true, "SSEType": "KMS" })
    );

    let ttl = table["TimeToLiveSpecification"]["AttributeName"]
        .as_str()
        .expect("TTL");
    assert!(
        code.shared
            .iter()
            .any(|s| s.text.contains(&format!("\"{ttl}\""))),
        "TTL attribute {ttl} is written by no code"
    );
    let uses_index = code.all().any(|s| s.text.contains(".index_name("));
    assert_eq!(
        table.get("GlobalSecondaryIndexes").is_some(),
        uses_index,
        "indexes in the template must match queries by index in the code"
    );
}

#[test]
fn created_secret_has_the_shape_the_code_parses() {
    let template = Template::load();
    let secret = &template.resource("PrimaryTenantSecret")["Properties"];
    assert_eq!(
        secret["Name"],
        json!({ "Fn::Sub": "${SecretPrefix}${PrimaryTenant}" }),
        "named <SECRET_PREFIX><tenant> as shared::secrets reads it"
    );

    let generate = &secret["GenerateSecretString"];
    let mut document: Value =
        serde_json::from_str(generate["SecretStringTemplate"].as_str().expect("template"))
            .expect("SecretStringTemplate is JSON");
    let key = generate["GenerateStringKey"]
        .as_str()
        .expect("generated key");
    let length = generate["PasswordLength"]
        .as_u64()
        .expect("generated length") as usize;
    document[key] = json!("g".repeat(length));

    let parsed = shared::secrets::TenantSecret::parse("acme", &document.to_string());
    assert!(parsed.is_ok(), "{:?}", parsed.err());
}

#[test]
fn alarms_watch_metrics_the_code_emits() {
    let problems = metric_problems(&Template::load(), &Code::load());
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn backfill_runs_one_at_a_time_and_keeps_its_failures() {
    let template = Template::load();
    let backfill = template.function("backfill");
    let p = &backfill.properties;

    assert_eq!(p["ReservedConcurrentExecutions"], 1);
    assert_eq!(p["Timeout"], 900);
    let on_failure = &p["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"], "SQS");
    let schedule = &p["Events"]["Nightly"];
    assert_eq!(
        schedule["Type"], "Schedule",
        "an EventBridge rule sends source aws.events"
    );
    assert_eq!(
        schedule["Properties"]["Schedule"],
        json!({ "Ref": "BackfillSchedule" })
    );

    let webhook = template.function("webhook");
    assert_eq!(webhook.properties["FunctionUrlConfig"]["AuthType"], "NONE");
}

#[test]
fn every_checkov_skip_has_a_reason() {
    let text = read(&root().join("infra/.checkov.yaml"));
    let entry = Regex::new(r"^\s*-\s*(CKV\w*)\s*(?:#\s*(.*))?$").expect("regex");
    let mut skips = 0;
    for line in text.lines() {
        if let Some(c) = entry.captures(line) {
            skips += 1;
            let reason = c.get(2).map_or("", |m| m.as_str().trim());
            assert!(reason.len() >= 20, "{} is skipped without a reason", &c[1]);
        }
    }
    assert!(skips > 0, "no skip-check entries found: format changed?");
}

// --- the checks fail when the template or the code changes ------------------------------------

#[test]
fn a_variable_removed_from_the_template_is_caught() {
    let mut template = Template::load();
    template.globals_env_mut().remove("OFFERS_TABLE");

    let problems = env_problems(&template, &Code::load());
    for function in ["backfill", "webhook"] {
        assert!(
            problems
                .iter()
                .any(|p| p.contains(function) && p.contains("OFFERS_TABLE")),
            "{problems:#?}"
        );
    }
}

#[test]
fn a_variable_the_code_starts_reading_is_caught() {
    let mut code = Code::load();
    code.shared.push(Source::new(
        "shared/src/new_setting.rs",
        r#"fn read() { let _ = std::env::var("BRAND_NEW_SETTING"); }"#,
    ));
    let problems = env_problems(&Template::load(), &code);
    assert!(
        problems.iter().any(|p| p.contains("BRAND_NEW_SETTING")),
        "{problems:#?}"
    );
}

#[test]
fn a_permission_removed_from_the_template_is_caught() {
    let mut template = Template::load();
    remove_action(&mut template, "BackfillRole", "dynamodb:GetItem");

    let problems = iam_problems(&template, &Code::load());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("backfill") && p.contains("dynamodb:GetItem")),
        "{problems:#?}"
    );
}

#[test]
fn a_call_the_code_starts_making_is_caught() {
    let mut code = Code::load();
    code.shared.push(Source::new(
        "shared/src/store/extra.rs",
        "use aws_sdk_dynamodb::Client;\n\
         async fn count(client: &Client) { client.describe_table().table_name(\"t\").send().await; }",
    ));
    let problems = iam_problems(&Template::load(), &code);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("dynamodb:DescribeTable")),
        "{problems:#?}"
    );
}

#[test]
fn an_unused_or_misplaced_grant_is_caught() {
    let mut template = Template::load();
    let statements = template.statements_mut("WebhookRole", "offers-table");
    statements[0]["Action"]
        .as_array_mut()
        .expect("actions")
        .push(json!("dynamodb:Scan"));
    let secrets = template.statements_mut("WebhookRole", "tenant-secrets");
    secrets[0]["Resource"] = json!("*");

    let problems = iam_problems(&template, &Code::load());
    assert!(
        problems.iter().any(|p| p.contains("dynamodb:Scan")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("webhook") && p.contains("secretsmanager:GetSecretValue")),
        "{problems:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Environment variables
// ---------------------------------------------------------------------------------------------

fn env_problems(template: &Template, code: &Code) -> Vec<String> {
    let mut problems = Vec::new();
    let mut read_by_any = BTreeSet::new();

    for f in template.functions() {
        let sources: Vec<&Source> = code.for_function(&f.binary).collect();
        let reads = env_reads(&sources);
        let env = template.environment(&f);

        for (var, files) in &reads {
            read_by_any.insert(var.clone());
            if env.contains_key(var) {
                continue;
            }
            match NOT_IN_TEMPLATE.iter().find(|(name, _)| name == var) {
                None => problems.push(format!(
                    "{}: the code reads {var} ({}) but the template does not set it: set it, or \
                     add it to NOT_IN_TEMPLATE in tests/tests/infra.rs with the reason",
                    f.binary,
                    join(files)
                )),
                Some((_, Unset::Defaulted(_))) if !defaulted(&sources, var) => {
                    problems.push(format!(
                        "{}: {var} is listed as defaulted but no read of it passes a default",
                        f.binary
                    ))
                }
                Some((_, Unset::FromLoggingConfig(property))) => {
                    if f.properties["LoggingConfig"].get(*property).is_none() {
                        problems.push(format!(
                            "{}: {var} comes from LoggingConfig.{property}, which is not set",
                            f.binary
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        for var in env.keys() {
            if !reads.contains_key(var) {
                problems.push(format!(
                    "{}: the template sets {var}, which its code never reads",
                    f.binary
                ));
            }
        }
    }

    for (var, why) in NOT_IN_TEMPLATE {
        if let Unset::Defaulted(reason) | Unset::LocalOnly(reason) = why
            && reason.len() < 20
        {
            problems.push(format!("NOT_IN_TEMPLATE: {var} needs a real reason"));
        }
        if !read_by_any.contains(*var) {
            problems.push(format!(
                "NOT_IN_TEMPLATE lists {var}, which no code reads any more: remove it"
            ));
        }
    }
    problems
}

/// Variable → files reading it, from the files that read the environment.
fn env_reads(sources: &[&Source]) -> BTreeMap<String, BTreeSet<String>> {
    let reads_env = Regex::new(r"env::var(_os)?\s*\(|\blookup\s*\(").expect("regex");
    let literal = Regex::new(r#""([A-Z][A-Z0-9_]{2,})""#).expect("regex");
    let mut vars: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources.iter().filter(|s| reads_env.is_match(&s.text)) {
        for c in literal.captures_iter(&source.text) {
            vars.entry(c[1].to_owned())
                .or_default()
                .insert(source.path.clone());
        }
    }
    vars
}

/// True when some read of `var` passes a literal default: `get("VAR", "default")`.
fn defaulted(sources: &[&Source], var: &str) -> bool {
    let pattern = Regex::new(&format!(r#""{var}"\s*,\s*""#)).expect("regex");
    sources.iter().any(|s| pattern.is_match(&s.text))
}

// ---------------------------------------------------------------------------------------------
// AWS calls and IAM
// ---------------------------------------------------------------------------------------------

/// Operations of the SDK crates the code uses (`src/operation/*` of each crate), snake_case.
#[rustfmt::skip]
const DYNAMODB_OPERATIONS: &[&str] = &[
    "batch_execute_statement", "batch_get_item", "batch_write_item", "create_backup",
    "create_global_table", "create_table", "delete_backup", "delete_item",
    "delete_resource_policy", "delete_table", "describe_backup", "describe_continuous_backups",
    "describe_contributor_insights", "describe_endpoints", "describe_export",
    "describe_global_table", "describe_global_table_settings", "describe_import",
    "describe_kinesis_streaming_destination", "describe_limits", "describe_table",
    "describe_table_replica_auto_scaling", "describe_time_to_live",
    "disable_kinesis_streaming_destination", "enable_kinesis_streaming_destination",
    "execute_statement", "execute_transaction", "export_table_to_point_in_time", "get_item",
    "get_resource_policy", "import_table", "list_backups", "list_contributor_insights",
    "list_exports", "list_global_tables", "list_imports", "list_tables", "list_tags_of_resource",
    "put_item", "put_resource_policy", "query", "restore_table_from_backup",
    "restore_table_to_point_in_time", "scan", "search_vectors", "tag_resource",
    "transact_get_items", "transact_write_items", "untag_resource", "update_continuous_backups",
    "update_contributor_insights", "update_global_table", "update_global_table_settings",
    "update_item", "update_kinesis_streaming_destination", "update_table",
    "update_table_replica_auto_scaling", "update_time_to_live",
];

#[rustfmt::skip]
const SECRETSMANAGER_OPERATIONS: &[&str] = &[
    "batch_get_secret_value", "cancel_rotate_secret", "create_secret", "delete_resource_policy",
    "delete_secret", "describe_secret", "get_random_password", "get_resource_policy",
    "get_secret_value", "list_secret_version_ids", "list_secrets", "put_resource_policy",
    "put_secret_value", "remove_regions_from_replication", "replicate_secret_to_regions",
    "restore_secret", "rotate_secret", "stop_replication_to_replica", "tag_resource",
    "untag_resource", "update_secret", "update_secret_version_stage", "validate_resource_policy",
];

/// The AWS SDK crates this test knows the operations of.
const KNOWN_SDKS: &[(&str, &str, &[&str])] = &[
    ("aws_sdk_dynamodb", "dynamodb", DYNAMODB_OPERATIONS),
    (
        "aws_sdk_secretsmanager",
        "secretsmanager",
        SECRETSMANAGER_OPERATIONS,
    ),
];

/// IAM action → where the code calls it (`file: fn`).
fn aws_calls(sources: &[&Source]) -> Result<BTreeMap<String, BTreeSet<String>>, Vec<String>> {
    let call = Regex::new(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)").expect("regex");
    let sdk = Regex::new(r"\baws_sdk_([a-z0-9_]+)").expect("regex");
    let mut actions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();

    for source in sources {
        for c in sdk.captures_iter(&source.text) {
            let krate = format!("aws_sdk_{}", &c[1]);
            if !KNOWN_SDKS.iter().any(|(k, _, _)| *k == krate) {
                problems.push(format!(
                    "{} uses {krate}: add its operations to KNOWN_SDKS in tests/tests/infra.rs \
                     and grant what it calls in infra/template.yaml",
                    source.path
                ));
            }
        }

        for c in call.captures_iter(&source.text) {
            let operation = &c[1];
            let services: Vec<&str> = KNOWN_SDKS
                .iter()
                .filter(|(krate, _, ops)| ops.contains(&operation) && source.text.contains(krate))
                .map(|(_, service, _)| *service)
                .collect();
            let service = match services.as_slice() {
                [] => continue,
                [one] => *one,
                _ => {
                    problems.push(format!(
                        "{}: .{operation}() exists in several SDKs used by this file",
                        source.path
                    ));
                    continue;
                }
            };
            let start = c.get(0).expect("match").start();
            let function = enclosing_fn(&source.text, start);
            if LOCAL_ONLY_CALLS.iter().any(|(name, _)| *name == function) {
                continue;
            }
            for action in iam_actions(service, operation, &source.text) {
                match action {
                    Ok(action) => {
                        actions
                            .entry(action)
                            .or_default()
                            .insert(format!("{}: {function}", source.path));
                    }
                    Err(problem) => problems.push(format!("{}: {problem}", source.path)),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(actions)
    } else {
        Err(problems)
    }
}

/// IAM actions one operation needs. Transactions are authorized per item: their actions come
/// from the item builders the same file uses.
fn iam_actions(service: &str, operation: &str, file: &str) -> Vec<Result<String, String>> {
    let action = |name: &str| Ok(format!("{service}:{name}"));
    match (service, operation) {
        ("dynamodb", "transact_get_items") => vec![action("GetItem")],
        ("dynamodb", "transact_write_items") => {
            let items = [
                ("Put::builder", "PutItem"),
                ("Update::builder", "UpdateItem"),
                ("Delete::builder", "DeleteItem"),
                ("ConditionCheck::builder", "ConditionCheckItem"),
            ];
            let used: Vec<_> = items
                .iter()
                .filter(|(builder, _)| file.contains(builder))
                .map(|(_, name)| action(name))
                .collect();
            if used.is_empty() {
                vec![Err(
                    "transact_write_items without item builders in the same file".into(),
                )]
            } else {
                used
            }
        }
        ("dynamodb", "execute_statement" | "batch_execute_statement" | "execute_transaction") => {
            vec![Err(format!(
                ".{operation}() is PartiQL: map it to dynamodb:PartiQL* actions in this test"
            ))]
        }
        ("secretsmanager", "batch_get_secret_value") => {
            vec![action("BatchGetSecretValue"), action("GetSecretValue")]
        }
        _ => vec![action(&pascal_case(operation))],
    }
}

fn iam_problems(template: &Template, code: &Code) -> Vec<String> {
    let mut problems = Vec::new();
    problems.extend(local_only_calls_are_local(code));

    let table = template.env_ref("OFFERS_TABLE");
    let prefix = template.env_ref("SECRET_PREFIX");

    for f in template.functions() {
        let sources: Vec<&Source> = code.for_function(&f.binary).collect();
        let mut needed = match aws_calls(&sources) {
            Ok(needed) => needed,
            Err(found) => {
                problems.extend(found);
                continue;
            }
        };
        needed.retain(|action, _| {
            !NOT_CALLED_BY
                .iter()
                .any(|(function, a, _)| *function == f.binary && a == action)
        });
        let grants = template.grants(&f);

        for (action, places) in &needed {
            let fitting: Vec<&Grant> = grants.iter().filter(|g| &g.action == action).collect();
            if fitting.is_empty() {
                problems.push(format!(
                    "{}: the code calls {action} ({}) but the function's role does not allow it",
                    f.binary,
                    join(places)
                ));
            }
            for grant in fitting {
                if !resource_fits(action, &grant.resource, &table, &prefix) {
                    problems.push(format!(
                        "{}: {action} is granted on {}, not on the resource the code uses",
                        f.binary, grant.resource
                    ));
                }
            }
        }
        for grant in &grants {
            let service = grant.action.split(':').next().unwrap_or("");
            let ours = KNOWN_SDKS.iter().any(|(_, s, _)| *s == service);
            if grant.action.contains('*') || (ours && !needed.contains_key(&grant.action)) {
                problems.push(format!(
                    "{}: the role allows {}, which the code never calls",
                    f.binary, grant.action
                ));
            }
        }
    }
    problems
}

/// The resource a call must be granted on: the table `OFFERS_TABLE` names, or the secrets
/// under the `SECRET_PREFIX` parameter.
fn resource_fits(action: &str, resource: &Value, table: &str, prefix: &str) -> bool {
    if action.starts_with("dynamodb:") {
        return *resource == json!({ "Fn::GetAtt": [table, "Arn"] });
    }
    if action.starts_with("secretsmanager:") {
        let expected = format!(
            "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{{prefix}}}*"
        );
        return *resource == json!({ "Fn::Sub": expected });
    }
    false
}

/// LOCAL_ONLY_CALLS must stay out of the code the functions run.
fn local_only_calls_are_local(code: &Code) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, reason) in LOCAL_ONLY_CALLS {
        assert!(reason.len() > 20, "{name} needs a reason");
        let any_use =
            Regex::new(&format!(r"(fn\s+)?(\.\s*)?\b{name}\s*\((\s*\))?")).expect("regex");
        for source in code.all() {
            for c in any_use.captures_iter(&source.text) {
                let definition = c.get(1).is_some();
                let sdk_call = c.get(2).is_some() && c.get(3).is_some();
                if !definition && !sdk_call {
                    problems.push(format!(
                        "{} calls {name}, listed as local-only: grant what it calls instead",
                        source.path
                    ));
                }
            }
        }
    }
    problems
}

fn enclosing_fn(text: &str, offset: usize) -> String {
    let function = Regex::new(r"\bfn\s+([a-z_][a-z0-9_]*)").expect("regex");
    function
        .captures_iter(&text[..offset])
        .last()
        .map_or_else(|| "?".to_owned(), |c| c[1].to_owned())
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Metrics and alarms
// ---------------------------------------------------------------------------------------------

fn metric_problems(template: &Template, code: &Code) -> Vec<String> {
    let mut problems = Vec::new();
    let metrics_rs = code.shared_file("shared/src/metrics.rs");
    let constant = Regex::new(r#"pub const ([A-Z_]+): &str = "(\w+)";"#).expect("regex");
    let declared: BTreeMap<String, String> = constant
        .captures_iter(metrics_rs)
        .map(|c| (c[2].to_owned(), c[1].to_owned()))
        .collect();
    let namespace = declared
        .iter()
        .find(|(_, ident)| ident.as_str() == "NAMESPACE")
        .map(|(value, _)| value.clone())
        .expect("metrics.rs declares NAMESPACE");

    let filtered: BTreeSet<String> = template
        .resources_of("AWS::Logs::MetricFilter")
        .flat_map(|(_, r)| {
            let transforms = r["Properties"]["MetricTransformations"].as_array().cloned();
            transforms.unwrap_or_default()
        })
        .map(|t| t["MetricName"].as_str().unwrap_or("").to_owned())
        .collect();

    let message = Regex::new(r#"\$\.message\s*=\s*"([^"]+)""#).expect("regex");
    for (id, filter) in template.resources_of("AWS::Logs::MetricFilter") {
        let pattern = filter["Properties"]["FilterPattern"].as_str().unwrap_or("");
        for c in message.captures_iter(pattern) {
            let literal = format!("\"{}\"", &c[1]);
            if !code.shared.iter().any(|s| s.text.contains(&literal)) {
                problems.push(format!(
                    "{id} matches the log message {literal}, which no code logs"
                ));
            }
        }
    }

    for (id, alarm) in template.resources_of("AWS::CloudWatch::Alarm") {
        for metric in alarm_metrics(&alarm["Properties"]) {
            if metric["Namespace"] != json!(namespace) {
                continue;
            }
            let name = metric["MetricName"].as_str().unwrap_or("");
            for dimension in metric["Dimensions"].as_array().into_iter().flatten() {
                let value = dimension["Value"].as_str().unwrap_or("");
                if dimension["Name"] == "Function" && !declared.contains_key(value) {
                    problems.push(format!(
                        "{id}: Function={value} is not a value metrics.rs emits"
                    ));
                }
            }
            if filtered.contains(name) {
                continue;
            }
            let Some(ident) = declared.get(name) else {
                problems.push(format!(
                    "{id}: {name} is not declared in shared/src/metrics.rs"
                ));
                continue;
            };
            let usage = format!("names::{ident}");
            let emitted = code.all().any(|s| s.text.contains(&usage));
            let awaited = AWAITING_EMITTER.iter().any(|(n, _)| *n == name);
            match (emitted, awaited) {
                (false, false) => problems.push(format!("{id}: no code emits {name}")),
                (true, true) => problems.push(format!(
                    "{name} is emitted now: remove it from AWAITING_EMITTER in tests/tests/infra.rs"
                )),
                _ => {}
            }
        }
    }
    problems
}

/// The metrics an alarm reads: its own, or those of its metric-math inputs.
fn alarm_metrics(properties: &Value) -> Vec<Value> {
    if let Some(name) = properties.get("MetricName") {
        return vec![json!({
            "Namespace": properties["Namespace"],
            "MetricName": name,
            "Dimensions": properties.get("Dimensions").cloned().unwrap_or(json!([])),
        })];
    }
    properties["Metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("MetricStat").map(|s| s["Metric"].clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The template
// ---------------------------------------------------------------------------------------------

struct Template {
    doc: Value,
}

struct Function {
    id: String,
    binary: String,
    properties: Value,
    metadata: Value,
}

struct Grant {
    action: String,
    resource: Value,
}

impl Template {
    fn load() -> Template {
        let text = read(&root().join("infra/template.yaml"));
        let yaml: serde_norway::Value =
            serde_norway::from_str(&text).expect("infra/template.yaml is YAML");
        Template {
            doc: cloudformation_json(&yaml),
        }
    }

    fn resource(&self, id: &str) -> &Value {
        let resource = &self.doc["Resources"][id];
        assert!(!resource.is_null(), "no resource {id}");
        resource
    }

    fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.doc["Resources"]
            .as_object()
            .expect("Resources")
            .iter()
            .filter(move |(_, r)| r["Type"] == kind)
    }

    fn functions(&self) -> Vec<Function> {
        self.resources_of("AWS::Serverless::Function")
            .map(|(id, r)| Function {
                id: id.clone(),
                binary: r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id} names no Binary"))
                    .to_owned(),
                properties: r["Properties"].clone(),
                metadata: r["Metadata"].clone(),
            })
            .collect()
    }

    fn function(&self, binary: &str) -> Function {
        let mut found = self.functions().into_iter().filter(|f| f.binary == binary);
        found
            .next()
            .unwrap_or_else(|| panic!("no function builds {binary}"))
    }

    /// A function property, falling back to `Globals.Function`.
    fn property(&self, f: &Function, name: &str) -> Value {
        f.properties
            .get(name)
            .or_else(|| self.doc["Globals"]["Function"].get(name))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The function's variables, `Globals` merged under its own as SAM does.
    fn environment(&self, f: &Function) -> Map<String, Value> {
        let mut env = self.doc["Globals"]["Function"]["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if let Some(own) = f.properties["Environment"]["Variables"].as_object() {
            env.extend(own.clone());
        }
        env
    }

    fn globals_env_mut(&mut self) -> &mut Map<String, Value> {
        self.doc["Globals"]["Function"]["Environment"]["Variables"]
            .as_object_mut()
            .expect("global variables")
    }

    /// The logical id a variable refers to (`!Ref X`) in every function that sets it.
    fn env_ref(&self, var: &str) -> String {
        let refs: BTreeSet<String> = self
            .functions()
            .iter()
            .filter_map(|f| self.environment(f).get(var).cloned())
            .filter_map(|v| v["Ref"].as_str().map(str::to_owned))
            .collect();
        assert!(
            refs.len() <= 1,
            "{var} refers to different things: {refs:?}"
        );
        refs.into_iter().next().unwrap_or_default()
    }

    /// The Allow grants of a function's role, one per action and resource.
    fn grants(&self, f: &Function) -> Vec<Grant> {
        let role = f.properties["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{}: Role must be !GetAtt <Role>.Arn", f.id));
        let properties = &self.resource(role)["Properties"];
        assert!(
            properties.get("ManagedPolicyArns").is_none(),
            "{role}: managed policies hide what is granted"
        );

        let mut grants = Vec::new();
        for policy in properties["Policies"].as_array().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if statement["Effect"] != "Allow" {
                    continue;
                }
                for action in one_or_many(&statement["Action"]) {
                    for resource in one_or_many(&statement["Resource"]) {
                        grants.push(Grant {
                            action: action.as_str().unwrap_or("?").to_owned(),
                            resource: resource.clone(),
                        });
                    }
                }
            }
        }
        grants
    }

    fn statements_mut(&mut self, role: &str, policy: &str) -> &mut Vec<Value> {
        let policies = self.doc["Resources"][role]["Properties"]["Policies"]
            .as_array_mut()
            .expect("policies");
        let found = policies
            .iter_mut()
            .find(|p| p["PolicyName"] == policy)
            .expect("policy");
        found["PolicyDocument"]["Statement"]
            .as_array_mut()
            .expect("statements")
    }
}

fn remove_action(template: &mut Template, role: &str, action: &str) {
    let policies = template.doc["Resources"][role]["Properties"]["Policies"]
        .as_array_mut()
        .expect("policies");
    for policy in policies {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array_mut()
            .expect("statements")
        {
            if let Some(actions) = statement["Action"].as_array_mut() {
                actions.retain(|a| a != action);
            }
        }
    }
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// YAML to CloudFormation's JSON form: short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub …`)
/// become their long forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": …}`).
fn cloudformation_json(yaml: &serde_norway::Value) -> Value {
    use serde_norway::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .unwrap_or_else(|| json!(n.as_f64())),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(cloudformation_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => serde_norway::to_string(other)
                            .expect("key")
                            .trim()
                            .to_owned(),
                    };
                    (key, cloudformation_json(v))
                })
                .collect(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = cloudformation_json(&tagged.value);
            let (key, value) = match (name, value) {
                ("Ref" | "Condition", value) => (name.to_owned(), value),
                ("GetAtt", Value::String(path)) => {
                    let (resource, attribute) = path.split_once('.').expect("!GetAtt A.B");
                    ("Fn::GetAtt".to_owned(), json!([resource, attribute]))
                }
                (other, value) => (format!("Fn::{other}"), value),
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sources
// ---------------------------------------------------------------------------------------------

struct Source {
    path: String,
    /// The file without its inline test module and without comment lines.
    text: String,
}

impl Source {
    fn new(path: &str, text: &str) -> Source {
        let inline_tests = Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{").expect("regex");
        let production = match inline_tests.find(text) {
            Some(m) => &text[..m.start()],
            None => text,
        };
        let text = production
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        Source {
            path: path.to_owned(),
            text,
        }
    }
}

struct Code {
    shared: Vec<Source>,
    /// Package name → the function crate's own sources.
    functions: BTreeMap<String, Vec<Source>>,
}

impl Code {
    fn load() -> Code {
        let root = root();
        let package = Regex::new(r#"(?m)^name\s*=\s*"([^"]+)""#).expect("regex");
        let mut functions = BTreeMap::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("functions"))
            .expect("functions/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let manifest = read(&dir.join("Cargo.toml"));
            let name = package.captures(&manifest).expect("package name")[1].to_owned();
            functions.insert(name, rust_sources(&root, &dir.join("src")));
        }
        Code {
            shared: rust_sources(&root, &root.join("shared/src")),
            functions,
        }
    }

    fn for_function<'a>(&'a self, binary: &str) -> impl Iterator<Item = &'a Source> {
        let own = self.functions.get(binary).map(Vec::as_slice).unwrap_or(&[]);
        self.shared.iter().chain(own)
    }

    fn all(&self) -> impl Iterator<Item = &Source> {
        self.shared.iter().chain(self.functions.values().flatten())
    }

    fn shared_file(&self, path: &str) -> &str {
        let found = self.shared.iter().find(|s| s.path == path);
        &found.unwrap_or_else(|| panic!("{path} not found")).text
    }
}

/// Every `.rs` file under `dir` except the files of modules declared `#[cfg(test)] mod x;`.
fn rust_sources(root: &Path, dir: &Path) -> Vec<Source> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = read(&path);
                files.insert(path, text);
            }
        }
    }

    let test_module =
        Regex::new(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+(\w+)\s*;").expect("regex");
    let mut excluded = BTreeSet::new();
    for (path, text) in &files {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let parent = path.parent().expect("parent");
        let children = if matches!(stem, "mod" | "lib" | "main") {
            parent.to_path_buf()
        } else {
            parent.join(stem)
        };
        for c in test_module.captures_iter(text) {
            excluded.insert(children.join(format!("{}.rs", &c[1])));
            excluded.insert(children.join(&c[1]).join("mod.rs"));
        }
    }

    files
        .iter()
        .filter(|(path, _)| !excluded.contains(*path))
        .map(|(path, text)| {
            let relative = path.strip_prefix(root).expect("under root");
            Source::new(&relative.to_string_lossy(), text)
        })
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn join(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}
