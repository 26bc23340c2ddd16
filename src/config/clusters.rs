//! `[[clusters]]` in proxy.toml: further master/replica clusters, each validated like the
//! top-level `[master]` and `[[replicas]]` (which form the cluster named "main"). Part of
//! `config`: the same problem collector, the same file:line:column reports.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::MAIN_CLUSTER;
use super::{line_col, replica_list, Backend, Cluster, Ctx, Field, Leaf, RawMaster, RawReplica};

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[clusters]] table with `name`, `master` and optional `replicas` keys"
)]
pub(super) struct RawCluster {
    name: Field,
    master: Option<Spanned<RawMaster>>,
    replicas: Option<Vec<Option<Spanned<RawReplica>>>>,
}

/// Longest accepted cluster name: it is a metrics label value and an admin column.
const MAX_NAME_LEN: usize = 64;

/// `[[clusters]]`: each entry's name (required, unique, not "main", a short identifier: it
/// becomes a metrics label and a CLI argument), master (required) and replicas.
pub(super) fn clusters(cx: &mut Ctx<'_>, raw: &[Option<Spanned<RawCluster>>]) -> Vec<Cluster> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, c) in raw.iter().enumerate() {
        let Some(c) = c else { continue };
        let (at, c) = (c.span().start, c.get_ref());
        let name_key = format!("clusters[{i}].name");
        let name = match cx.required(&c.name, at, &name_key) {
            Some(field) => {
                let name = cx.name(Some(field), &name_key);
                let pos = field.span().start;
                if let Err(why) = check_name(&name) {
                    cx.problem(pos, &name_key, why);
                } else if let Some(first_at) = seen.get(&name) {
                    let (line, _) = line_col(cx.text, *first_at);
                    let message =
                        format!("duplicate cluster {name:?}: already defined on line {line}");
                    cx.problem(pos, &name_key, message);
                } else {
                    seen.insert(name.clone(), pos);
                }
                name
            }
            None => String::new(),
        };
        let master_key = format!("clusters[{i}].master");
        let master = match &c.master {
            None => {
                cx.problem(
                    at,
                    &master_key,
                    "required key is missing: the cluster's write target, \
                     e.g. master = { address = \"10.0.1.10:3306\" }",
                );
                String::new()
            }
            Some(m) => {
                let key = format!("{master_key}.address");
                match cx.required(&m.get_ref().address, m.span().start, &key) {
                    Some(a) => cx.address(a, &key),
                    None => String::new(),
                }
            }
        };
        let replicas = match &c.replicas {
            Some(r) => replica_list(cx, r, &format!("clusters[{i}].replicas")),
            None => Vec::new(),
        };
        out.push(Cluster {
            name,
            master: Backend {
                address: master,
                weight: 1,
            },
            replicas,
        });
    }
    out
}

/// Every backend address written in `[[clusters]]`, with its key (the duplicate check spans
/// all clusters).
pub(super) fn addresses(
    raw: &[Option<Spanned<RawCluster>>],
) -> impl Iterator<Item = (&Spanned<Leaf>, String)> {
    raw.iter().enumerate().flat_map(|(i, c)| {
        let c = c.as_ref().map(|c| c.get_ref());
        let master = c
            .and_then(|c| c.master.as_ref())
            .and_then(|m| m.get_ref().address.as_ref())
            .map(|a| (a, format!("clusters[{i}].master.address")));
        let replicas = c
            .and_then(|c| c.replicas.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(move |(j, r)| {
                let a = r.as_ref()?.get_ref().address.as_ref()?;
                Some((a, format!("clusters[{i}].replicas[{j}].address")))
            });
        master.into_iter().chain(replicas)
    })
}

/// A cluster name is an identifier: it is written in rules, typed on the hook CLI, printed in
/// admin views and used as a metrics label value.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name == MAIN_CLUSTER {
        return Err(format!(
            "{MAIN_CLUSTER:?} is the cluster of the top-level [master] and [[replicas]]; \
             give this one another name"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("longer than {MAX_NAME_LEN} characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "{bad:?} is not allowed in a cluster name: use letters, digits, `_` and `-`"
        ));
    }
    Ok(())
}
