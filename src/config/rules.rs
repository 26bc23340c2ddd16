//! `[[rules]]` in proxy.toml: the raw table and its validation into compiled rules
//! (`crate::rules`). Part of `config`: the same problem collector, the same
//! file:line:column reports.

use serde::Deserialize;
use toml::Spanned;

use super::{Cluster, Ctx, Field, MAIN_CLUSTER};

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[rules]] table with match keys (`schema`, `user`, `digest`, `pattern`) and \
                 one action (`route`, `block` or `cluster`)"
)]
pub(super) struct RawRule {
    schema: Field,
    user: Field,
    digest: Field,
    pattern: Field,
    route: Field,
    block: Field,
    cluster: Field,
}

/// `[[rules]]`: each rule validated on its own (types, exactly one action, the cluster name
/// against `clusters`, the regular expression, every problem at its key), then the set
/// compiled.
pub(super) fn rules(
    cx: &mut Ctx<'_>,
    raw: &[Option<Spanned<RawRule>>],
    clusters: &[Cluster],
) -> crate::rules::Rules {
    use crate::rules::{Action, RouteTo, Rule, RuleSpec, Rules};
    let mut compiled = Vec::new();
    let mut broken = false;
    for (i, r) in raw.iter().enumerate() {
        let Some(r) = r else {
            broken = true;
            continue;
        };
        let (at, r) = (r.span().start, r.get_ref());
        let problems_before = cx.problems.len();
        let text = |cx: &mut Ctx<'_>, field: &Field, name: &str, what: &str| {
            let value = field.as_ref()?;
            let key = format!("rules[{i}].{name}");
            let s = cx.string(value, &key, what)?;
            if s.is_empty() {
                cx.problem(value.span().start, key, "must not be empty");
                return None;
            }
            Some(s.to_string())
        };
        let schema = text(cx, &r.schema, "schema", "a database name glob string");
        let user = text(cx, &r.user, "user", "a user name string");
        let digest = text(cx, &r.digest, "digest", "a normalized statement string");
        let pattern = text(cx, &r.pattern, "pattern", "a regular expression string");
        let block = text(cx, &r.block, "block", "the error message string");
        let cluster = text(cx, &r.cluster, "cluster", "a cluster name string");
        if let (Some(name), Some(value)) = (&cluster, &r.cluster) {
            if name != MAIN_CLUSTER && !clusters.iter().any(|c| &c.name == name) {
                let known: Vec<String> = std::iter::once(MAIN_CLUSTER)
                    .chain(clusters.iter().map(|c| c.name.as_str()))
                    .map(|n| format!("{n:?}"))
                    .collect();
                cx.problem(
                    value.span().start,
                    format!("rules[{i}].cluster"),
                    format!(
                        "unknown cluster {name:?}: the clusters are {} (\"main\" is [master] \
                         and [[replicas]], the others [[clusters]] entries)",
                        known.join(", ")
                    ),
                );
            }
        }
        let route = r.route.as_ref().map(|_| {
            cx.one_of(
                r.route.as_ref(),
                &format!("rules[{i}].route"),
                &[("master", RouteTo::Master), ("replica", RouteTo::Replica)],
                RouteTo::Master,
            )
        });
        let action = match (&r.block, &r.route, &r.cluster) {
            (Some(b), Some(_), _) | (Some(b), _, Some(_)) => {
                cx.problem(
                    b.span().start,
                    format!("rules[{i}].block"),
                    "a blocking rule has no other action: remove `route` and `cluster`, or `block`",
                );
                None
            }
            (Some(_), None, None) => block.map(Action::Block),
            (None, Some(_), _) => route.map(Action::Route),
            (None, None, Some(_)) => Some(Action::Split),
            (None, None, None) => {
                cx.problem(
                    at,
                    format!("rules[{i}]"),
                    "a rule needs an action: `route = \"master\"` or `\"replica\"`, \
                     `block = \"message\"`, or `cluster = \"NAME\"`",
                );
                None
            }
        };
        let Some(action) = action else {
            broken = true;
            continue;
        };
        let spec = RuleSpec {
            schema,
            user,
            digest,
            pattern,
            cluster,
            action,
        };
        match Rule::compile(spec) {
            Ok(rule) => compiled.push(rule),
            Err(e) => {
                let field = match e.key {
                    "pattern" => &r.pattern,
                    _ => &None,
                };
                let pos = field.as_ref().map_or(at, |f| f.span().start);
                cx.problem(pos, format!("rules[{i}].{}", e.key), e.message);
            }
        }
        broken |= cx.problems.len() > problems_before;
    }
    if broken {
        // Problems are recorded: the configuration is refused, the rules are not used.
        return Rules::default();
    }
    Rules::new(compiled)
}
