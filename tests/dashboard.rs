//! Issue 17: the Grafana dashboard (examples/grafana/rwsplit.json) is a well-formed dashboard,
//! and every PromQL expression in it names metrics, labels and label values that a running
//! proxy really exports on /metrics; and every metric the proxy exports has a panel.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use serde_json::Value;

const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/grafana/rwsplit.json");

/// Labels Prometheus adds at scrape time (or that histogram_quantile consumes).
const SCRAPE_LABELS: [&str; 3] = ["instance", "job", "le"];

fn dashboard() -> Value {
    let text = std::fs::read_to_string(DASHBOARD).expect("read the dashboard");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD}: not JSON: {e}"))
}

/// Every panel, rows' nested panels included.
fn all_panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels array") {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested.iter());
        }
    }
    out
}

/// (where, PromQL, legendFormat) of every query: panel targets and templating queries.
fn expressions(d: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in all_panels(d) {
        if let Some(targets) = p["targets"].as_array() {
            for t in targets {
                let expr = t["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("panel {:?}: target without expr: {t}", p["title"]));
                let legend = t["legendFormat"].as_str().unwrap_or("").to_string();
                out.push((
                    format!(
                        "panel {:?} {}",
                        p["title"].as_str().unwrap_or(""),
                        t["refId"]
                    ),
                    expr.to_string(),
                    legend,
                ));
            }
        }
    }
    for v in d["templating"]["list"].as_array().expect("templating.list") {
        if v["type"] == "query" {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .expect("query variable with a query");
            out.push((
                format!("variable {}", v["name"]),
                q.to_string(),
                String::new(),
            ));
        }
    }
    out
}

/// The identifier tokens of a PromQL expression, with what follows each (to tell a metric
/// from a function or keyword), and the contents of `{...}` selectors and `by (...)` lists.
#[derive(Default, Debug)]
struct Parsed {
    metrics: Vec<String>,
    /// (label, op, value) from selectors.
    matchers: Vec<(String, String, String)>,
    /// Labels in by (...) / without (...) / on (...) / ignoring (...).
    grouping: Vec<String>,
}

fn parse(expr: &str) -> Parsed {
    let b = expr.as_bytes();
    let mut p = Parsed::default();
    let mut i = 0;
    let ident = |i: usize| -> usize {
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b':') {
            j += 1;
        }
        j
    };
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            // A string outside a selector (label_values, label_replace arguments).
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'[' {
            while i < b.len() && b[i] != b']' {
                i += 1;
            }
            i += 1;
        } else if c == b'{' {
            let end = expr[i..].find('}').expect("unclosed {") + i;
            for m in expr[i + 1..end]
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
            {
                let pos = m
                    .find(['=', '!'])
                    .unwrap_or_else(|| panic!("bad matcher {m}"));
                let label = m[..pos].trim().to_string();
                let rest = &m[pos..];
                let op_len =
                    if rest.starts_with("=~") || rest.starts_with("!=") || rest.starts_with("!~") {
                        2
                    } else {
                        1
                    };
                let value = rest[op_len..].trim().trim_matches('"').to_string();
                p.matchers.push((label, rest[..op_len].to_string(), value));
            }
            i = end + 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let j = ident(i);
            let word = &expr[i..j];
            let k = skip_ws(j);
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word)
            {
                if k < b.len() && b[k] == b'(' {
                    let end = expr[k..].find(')').unwrap() + k;
                    p.grouping.extend(
                        expr[k + 1..end]
                            .split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty()),
                    );
                    i = end + 1;
                    continue;
                }
            } else if word.starts_with("rwsplit_") {
                p.metrics.push(word.to_string());
            } else if expr[..i].trim_end().ends_with(',') && (k >= b.len() || b[k] == b')') {
                // label_values(metric, label)
                p.grouping.push(word.to_string());
            } else if (k >= b.len() || b[k] != b'(')
                && !AGGREGATIONS.contains(&word)
                && !["and", "or", "unless", "bool", "offset"].contains(&word)
                && !word.chars().all(|c| c.is_ascii_digit() || c == 'e')
            {
                panic!("{expr}: {word:?} is neither a function, a keyword nor an rwsplit_ metric");
            }
            i = j;
        } else if c == b'$' {
            // $__rate_interval, $__range, $instance
            i = ident(i + 1);
        } else {
            i += 1;
        }
    }
    p
}

/// PromQL aggregation operators: they may be followed by `by (...)` before their parentheses.
const AGGREGATIONS: [&str; 12] = [
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
];

/// Samples of a live /metrics: series name -> label -> values seen; and `# TYPE` families.
struct Scrape {
    series: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    families: BTreeMap<String, String>,
    text: String,
}

fn scrape(port: u16) -> Scrape {
    let (_, body) = metrics_http(port);
    let mut series: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut families = BTreeMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            families.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, _value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match key.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (key, ""),
        };
        let entry = series.entry(name.to_string()).or_default();
        for kv in labels.split("\",").filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap();
            entry
                .entry(k.to_string())
                .or_default()
                .insert(v.trim_matches('"').to_string());
        }
    }
    Scrape {
        series,
        families,
        text: body.to_string(),
    }
}

#[test]
fn dashboard_is_a_grafana_dashboard() {
    let d = dashboard();
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()), "title");
    assert!(d["uid"].as_str().is_some_and(|t| !t.is_empty()), "uid");
    let sv = d["schemaVersion"].as_u64().expect("schemaVersion");
    assert!((30..=41).contains(&sv), "schemaVersion {sv}");
    // A data source the importer can choose: a `datasource` variable of type datasource
    // (prometheus), referenced by every panel and target as ${datasource}.
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource templating variable");
    assert_eq!(ds["query"], "prometheus");
    let ds_ref = format!("${{{}}}", ds["name"].as_str().unwrap());
    let panels = all_panels(&d);
    assert!(panels.len() >= 10, "only {} panels", panels.len());
    let mut ids = BTreeSet::new();
    let mut queries = 0;
    let mut cells = BTreeMap::new();
    for p in &panels {
        let g = &p["gridPos"];
        let at = |k: &str| {
            g[k].as_u64()
                .unwrap_or_else(|| panic!("{}: gridPos.{k}", p["title"]))
        };
        for x in at("x")..at("x") + at("w") {
            for y in at("y")..at("y") + at("h") {
                if let Some(other) = cells.insert((x, y), &p["title"]) {
                    panic!("panels {} and {other} overlap", p["title"]);
                }
            }
        }
    }
    for p in &panels {
        let title = &p["title"];
        let kind = p["type"].as_str().expect("panel type");
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "duplicate id in {title}"
        );
        for k in ["h", "w", "x", "y"] {
            assert!(p["gridPos"][k].is_u64(), "{title}: gridPos.{k}");
        }
        assert!(
            p["gridPos"]["x"].as_u64().unwrap() + p["gridPos"]["w"].as_u64().unwrap() <= 24,
            "{title}: wider than the 24-column grid"
        );
        if kind == "row" {
            continue;
        }
        assert!(
            title.as_str().is_some_and(|t| !t.is_empty()),
            "panel without title"
        );
        assert_eq!(
            p["datasource"]["uid"],
            ds_ref.as_str(),
            "{title}: datasource"
        );
        assert_eq!(
            p["datasource"]["type"], "prometheus",
            "{title}: datasource type"
        );
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: no targets"));
        assert!(!targets.is_empty(), "{title}: no targets");
        let mut refs = BTreeSet::new();
        for t in targets {
            assert_eq!(
                t["datasource"]["uid"],
                ds_ref.as_str(),
                "{title}: target datasource"
            );
            assert!(
                refs.insert(t["refId"].as_str().expect("refId")),
                "{title}: refIds"
            );
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "{title}: expr"
            );
            queries += 1;
        }
    }
    assert!(queries >= 20, "only {queries} queries");
    // Every expression parses into something naming at least one rwsplit metric.
    for (at, expr, _) in expressions(&d) {
        let p = parse(&expr);
        assert!(
            !p.metrics.is_empty(),
            "{at}: names no rwsplit_ metric: {expr}"
        );
        assert_eq!(
            expr.matches('(').count(),
            expr.matches(')').count(),
            "{at}: unbalanced parentheses: {expr}"
        );
    }
}

#[test]
fn dashboard_names_only_exported_metrics() {
    let c = Cluster::shared();
    let metrics_port = free_port();
    let p = Proxy::start(
        &c,
        &format!(
            "[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n\n[monitor]\nuser = \"{}\"\npassword = \"{}\"\ninterval = \"200ms\"\n\n[routing]\nconsistency = \"session\"\n\n# A rule, so the rule-hits series is exported.\n[[rules]]\nuser = \"nobody\"\nroute = \"master\"\n",
            c.var("MONITOR_USER"),
            c.var("MONITOR_PASSWORD")
        ),
    );
    // Traffic for the series that appear once used: latency per backend, backend connections.
    c.fresh_db("dash17");
    p.sql_ok(
        &c,
        "CREATE TABLE dash17.t (id INT PRIMARY KEY); INSERT INTO dash17.t VALUES (1); SELECT * FROM dash17.t",
    );
    p.sql_ok(&c, "SELECT 1");
    p.send_signal("HUP");
    // The monitor reports replication lag after its first round; the read_only check of the
    // replicas runs at start.
    let mut s = scrape(metrics_port);
    eventually(
        "lag, latency and read_only check series",
        Duration::from_secs(10),
        || {
            s = scrape(metrics_port);
            s.series.contains_key("rwsplit_replication_lag_seconds")
                && s.series
                    .contains_key("rwsplit_query_duration_seconds_bucket")
                && s.series
                    .contains_key("rwsplit_backend_account_bypasses_read_only")
        },
    );

    let d = dashboard();
    let mut used_families = BTreeSet::new();
    let mut problems = Vec::new();
    for (at, expr, legend) in expressions(&d) {
        let parsed = parse(&expr);
        let mut labels: BTreeSet<String> = SCRAPE_LABELS.iter().map(|s| s.to_string()).collect();
        for m in &parsed.metrics {
            match s.series.get(m) {
                None => problems.push(format!("{at}: {m} is not exported")),
                Some(l) => labels.extend(l.keys().cloned()),
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suf| {
                    m.strip_suffix(suf)
                        .filter(|b| s.families.get(*b).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(m);
            if s.families.get(family).is_some_and(|k| k == "histogram") && family == m {
                problems.push(format!(
                    "{at}: histogram {m} used without _bucket/_sum/_count"
                ));
            }
            used_families.insert(family.to_string());
        }
        for (label, op, value) in &parsed.matchers {
            if !labels.contains(label) {
                problems.push(format!("{at}: no metric of `{expr}` has a label {label}"));
            } else if op == "=" && !value.contains('$') && !SCRAPE_LABELS.contains(&label.as_str())
            {
                let seen = parsed
                    .metrics
                    .iter()
                    .filter_map(|m| s.series.get(m)?.get(label))
                    .any(|vals| vals.contains(value));
                if !seen {
                    problems.push(format!("{at}: no series has {label}=\"{value}\""));
                }
            }
        }
        for g in &parsed.grouping {
            if !labels.contains(g) {
                problems.push(format!("{at}: grouping by {g}, which no metric of it has"));
            }
        }
        for part in legend.split("{{").skip(1) {
            let l = part.split("}}").next().unwrap().trim();
            if !labels.contains(l) {
                problems.push(format!(
                    "{at}: legend uses {{{{{l}}}}}, which no metric of it has"
                ));
            }
        }
    }
    // The other way round: every metric family the proxy exports has a panel.
    for f in s.families.keys() {
        if f.starts_with("rwsplit_") && !used_families.contains(f) {
            problems.push(format!("{f} is exported but no panel shows it"));
        }
    }
    assert!(
        problems.is_empty(),
        "dashboard problems:\n{}\n\n/metrics was:\n{}",
        problems.join("\n"),
        s.text
    );
    drop(p);
}
