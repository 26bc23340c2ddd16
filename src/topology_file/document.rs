//! The document side of `topology_file`: the config file parsed with `toml_edit` and the
//! edits made on it in place, whichever TOML form (inline or tables) the file uses, so that
//! comments and formatting outside the edited values stay as written.

use super::*;

// ---------------------------------------------------------------------------------------------
// Editing the document
// ---------------------------------------------------------------------------------------------

/// Which cluster of the document an edit applies to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// The top-level `[master]` and `[[replicas]]`: the cluster named "main".
    Main,
    /// The `[[clusters]]` entry at this index.
    Named(usize),
}

/// A parsed config file plus what is needed to write it back byte-for-byte: `toml_edit`
/// normalizes line endings to `\n`, drops a byte-order mark and adds a final newline, so those
/// are restored when rendering.
pub(super) struct EditableFile {
    pub(super) doc: DocumentMut,
    /// The text as parsed (without a byte-order mark): messages quote line numbers from it,
    /// which `doc` no longer knows.
    pub(super) source: String,
    pub(super) crlf: bool,
    pub(super) bom: bool,
}

impl EditableFile {
    /// Parses `text`; refuses a file that `toml_edit` would not reproduce exactly, so that
    /// editing one entry can never reformat the rest of the operator's file.
    pub(super) fn parse(text: &str, origin: &str) -> anyhow::Result<EditableFile> {
        let bom = text.starts_with('\u{feff}');
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc: DocumentMut = match body.parse() {
            Ok(doc) => doc,
            Err(e) => {
                // The config loader words syntax errors as `file:line:col: key ...`.
                if let Err(problems) = validate(text, origin) {
                    bail!("{origin} is invalid; fix it before editing it:\n{problems}");
                }
                bail!("cannot parse {origin}: {e}");
            }
        };
        let file = EditableFile {
            doc,
            source: body.to_string(),
            crlf: body.contains("\r\n"),
            bom,
        };
        let again = file.render();
        let newline = if file.crlf { "\r\n" } else { "\n" };
        if again != text && again != format!("{text}{newline}") {
            bail!(
                "cannot edit {origin} without reformatting it (mixed line endings?); \
                 edit it by hand or normalize its line endings"
            );
        }
        Ok(file)
    }

    /// The document as text, with the file's line endings and byte-order mark.
    pub(super) fn render(&self) -> String {
        let mut text = self.doc.to_string();
        if self.crlf {
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        if self.bom {
            text.insert(0, '\u{feff}');
        }
        text
    }

    /// Applies `edit` (already checked) to the document: whether it changed, and a message.
    /// Messages about a `[[clusters]]` entry start with `cluster NAME: `; those about "main"
    /// read as they did before there were clusters.
    pub(super) fn apply(&mut self, edit: &Edit, origin: &str) -> anyhow::Result<(bool, String)> {
        let (target, (changed, message)) = match edit {
            Edit::AddReplica {
                cluster,
                address,
                weight,
            } => {
                let target = self.target(cluster.as_deref(), origin)?;
                (target, self.add_replica(target, address, *weight, origin)?)
            }
            Edit::RemoveReplica { cluster, address } => {
                let target = self.target(cluster.as_deref(), origin)?;
                let outcome = match self.remove_replica(target, address, origin)? {
                    true => (
                        true,
                        format!("removed replica {address}{}", self.none_left(target)),
                    ),
                    false => (
                        false,
                        format!("replica {address} not present: nothing to do"),
                    ),
                };
                (target, outcome)
            }
            Edit::SetMaster { cluster, address } => {
                let target = self.target(cluster.as_deref(), origin)?;
                (target, self.set_master(target, address, origin)?)
            }
            Edit::AddCluster {
                name,
                master,
                replicas,
            } => return self.add_cluster(name, master, replicas, origin),
            Edit::RemoveCluster { name } => return self.remove_cluster(name, origin),
        };
        let message = match target {
            Target::Main => message,
            Target::Named(_) => format!("cluster {}: {message}", self.name_of(target)),
        };
        Ok((changed, message))
    }

    // --- Clusters --------------------------------------------------------------------------

    /// The `[[clusters]]` array, `None` when the file has no clusters. The inline form
    /// `clusters = [{ ... }]` is refused, like inline replicas once were: the documented form is
    /// `[[clusters]]`, and a whole cluster on one line is not something to append to.
    pub(super) fn clusters(&self, origin: &str) -> anyhow::Result<Option<&ArrayOfTables>> {
        match self.doc.get("clusters") {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
            Some(_) => bail!(
                "`clusters` in {origin} is not written as [[clusters]] tables; \
                 rewrite it in that form so hooks can edit it"
            ),
        }
    }

    /// Index of the `[[clusters]]` entry named `name` (exactly, as the config loader compares).
    pub(super) fn cluster_index(&self, name: &str, origin: &str) -> anyhow::Result<Option<usize>> {
        Ok(self
            .clusters(origin)?
            .and_then(|a| a.iter().position(|t| cluster_name(t) == Some(name))))
    }

    /// Resolves `--cluster`: `None` is "main"; a name must be a `[[clusters]]` entry, and the
    /// error for one that is not lists those that are, so a typo is obvious.
    pub(super) fn target(&self, cluster: Option<&str>, origin: &str) -> anyhow::Result<Target> {
        let Some(name) = cluster else {
            return Ok(Target::Main);
        };
        if let Some(i) = self.cluster_index(name, origin)? {
            return Ok(Target::Named(i));
        }
        let known: Vec<String> = std::iter::once(MAIN_CLUSTER)
            .chain(
                self.clusters(origin)?
                    .into_iter()
                    .flat_map(ArrayOfTables::iter)
                    .filter_map(cluster_name),
            )
            .map(|n| format!("{n:?}"))
            .collect();
        bail!(
            "no cluster {name:?} in {origin}: the clusters are {}",
            known.join(", ")
        )
    }

    /// The table holding a cluster's `master` and `replicas` keys: the document root for
    /// "main", the `[[clusters]]` entry otherwise.
    pub(super) fn table(&self, target: Target) -> &Table {
        match (target, self.doc.get("clusters")) {
            (Target::Main, _) => self.doc.as_table(),
            (Target::Named(i), Some(Item::ArrayOfTables(a))) => a.get(i).expect("from target()"),
            (Target::Named(_), _) => unreachable!("target() found [[clusters]]"),
        }
    }

    pub(super) fn table_mut(&mut self, target: Target) -> &mut Table {
        match target {
            Target::Main => self.doc.as_table_mut(),
            Target::Named(i) => match self.doc.get_mut("clusters") {
                Some(Item::ArrayOfTables(a)) => a.get_mut(i).expect("from target()"),
                _ => unreachable!("target() found [[clusters]]"),
            },
        }
    }

    pub(super) fn name_of(&self, target: Target) -> String {
        match target {
            Target::Main => MAIN_CLUSTER.to_string(),
            Target::Named(_) => cluster_name(self.table(target)).unwrap_or("").to_string(),
        }
    }

    pub(super) fn add_cluster(
        &mut self,
        name: &str,
        master: &str,
        replicas: &[NewReplica],
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        if let Some(i) = self.cluster_index(name, origin)? {
            let target = Target::Named(i);
            let current = self.master_address(target);
            if current.as_deref() != Some(master) {
                bail!(
                    "cluster {name} already exists in {origin} with master {}; \
                     to move its writes use `rwsplit topology set-master {master} --cluster {name}`",
                    current.as_deref().unwrap_or("(none)")
                );
            }
            let mut have: Vec<(String, Option<i64>)> = replica_list(self.table(target))
                .into_iter()
                .map(|(a, w)| {
                    let w = w.map_or(Some(i64::from(DEFAULT_WEIGHT)), |w| w.as_integer());
                    (a.unwrap_or_default(), w)
                })
                .collect();
            let mut want: Vec<(String, Option<i64>)> = replicas
                .iter()
                .map(|r| (r.address.clone(), Some(i64::from(r.weight))))
                .collect();
            have.sort();
            want.sort();
            if have != want {
                let shown: Vec<String> = have
                    .iter()
                    .map(|(a, w)| match w {
                        Some(w) => format!("{a} weight {w}"),
                        None => a.clone(),
                    })
                    .collect();
                bail!(
                    "cluster {name} already exists in {origin} with master {master} and other \
                     replicas ({}); change them with `rwsplit topology add-replica` / \
                     `remove-replica` and `--cluster {name}`",
                    if shown.is_empty() {
                        "none".to_string()
                    } else {
                        shown.join(", ")
                    }
                );
            }
            return Ok((
                false,
                format!(
                    "cluster {name} already present with master {master} and the same \
                     replicas: nothing to do"
                ),
            ));
        }
        let position = self.new_cluster_position();
        let mut table = Table::new();
        table.insert("name", Item::Value(Value::from(name)));
        table.insert(
            "master",
            Item::Value(Value::InlineTable(address_table(master))),
        );
        if !replicas.is_empty() {
            let mut list = Array::new();
            for r in replicas {
                list.push(replica_table(&r.address, r.weight));
            }
            table.insert("replicas", Item::Value(Value::Array(list)));
        }
        table.set_position(Some(position));
        if self.clusters(origin)?.is_none() {
            self.doc
                .insert("clusters", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        match self.doc.get_mut("clusters") {
            Some(Item::ArrayOfTables(a)) => a.push(table),
            _ => unreachable!("checked or inserted above"),
        }
        let shown: Vec<String> = replicas
            .iter()
            .map(|r| format!("{} (weight {})", r.address, r.weight))
            .collect();
        Ok((
            true,
            format!(
                "added cluster {name}: master {master}, replicas {}",
                if shown.is_empty() {
                    "none: reads go to the master".to_string()
                } else {
                    shown.join(", ")
                }
            ),
        ))
    }

    pub(super) fn remove_cluster(
        &mut self,
        name: &str,
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        let Some(index) = self.cluster_index(name, origin)? else {
            return Ok((false, format!("cluster {name} not present: nothing to do")));
        };
        let naming = self.rules_naming(name);
        if !naming.is_empty() {
            let (count, lines) = match naming.len() {
                1 => ("a rule".to_string(), "line"),
                n => (format!("{n} rules"), "lines"),
            };
            let at: Vec<String> = naming.iter().map(usize::to_string).collect();
            bail!(
                "cluster {name} is still named by {count} in {origin} ([[rules]] with \
                 cluster = {name:?} on {lines} {}); point those rules at another cluster or \
                 remove them first",
                at.join(", ")
            );
        }
        let Some(Item::ArrayOfTables(clusters)) = self.doc.get_mut("clusters") else {
            unreachable!("cluster_index() found [[clusters]]");
        };
        let removed = clusters.remove(index);
        if clusters.is_empty() {
            self.doc.remove("clusters");
        }
        self.keep_comments_of(&removed);
        Ok((true, format!("removed cluster {name}")))
    }

    /// Line numbers of the `[[rules]]` entries that send statements to cluster `name`.
    pub(super) fn rules_naming(&self, name: &str) -> Vec<usize> {
        // `doc` dropped the spans when it became editable; a read-only parse keeps them.
        let Ok(doc) = toml_edit::Document::parse(self.source.as_str()) else {
            return Vec::new();
        };
        let spans: Vec<Option<std::ops::Range<usize>>> = match doc.get("rules") {
            Some(Item::ArrayOfTables(a)) => a
                .iter()
                .filter_map(|t| t.get("cluster"))
                .filter(|c| c.as_str() == Some(name))
                .map(Item::span)
                .collect(),
            Some(Item::Value(Value::Array(a))) => a
                .iter()
                .filter_map(Value::as_inline_table)
                .filter_map(|t| t.get("cluster"))
                .filter(|c| c.as_str() == Some(name))
                .map(Value::span)
                .collect(),
            _ => Vec::new(),
        };
        spans
            .into_iter()
            .map(|s| {
                let at = s.map_or(0, |s| s.start);
                self.source[..at].matches('\n').count() + 1
            })
            .collect()
    }

    /// Where a new `[[clusters]]` entry goes: right after the last one (with its
    /// `[clusters.master]` / `[[clusters.replicas]]` tables, if it has any), so the entries
    /// stay grouped; with none, at the end of the file. See [`Self::new_replica_position`] for
    /// why an equal position places it after.
    pub(super) fn new_cluster_position(&self) -> isize {
        if let Some(Item::ArrayOfTables(a)) = self.doc.get("clusters") {
            if let Some(pos) = a.iter().filter_map(max_position).max() {
                return pos;
            }
        }
        max_position(self.doc.as_table()).unwrap_or(0) + 1
    }

    // --- Servers of one cluster -------------------------------------------------------------

    /// `; no replicas left, ...` when the last replica is gone, so the operator learns that
    /// all reads now go to the master.
    pub(super) fn none_left(&self, target: Target) -> &'static str {
        if replica_list(self.table(target)).is_empty() {
            "; no replicas left: reads go to the master"
        } else {
            ""
        }
    }

    pub(super) fn add_replica(
        &mut self,
        target: Target,
        address: &str,
        weight: Option<u32>,
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        if self.master_address(target).is_some_and(|m| m == address) {
            bail!("{address} is the master in {origin}; it cannot also be a replica");
        }
        let listed = replica_list(self.table(target));
        if let Some(existing) = listed
            .iter()
            .position(|(a, _)| a.as_deref() == Some(address))
        {
            // No `weight` key means the default; a non-integer one (an invalid file) is
            // shown as written and never equals a requested weight.
            let (current, shown) = match &listed[existing].1 {
                None => (Some(i64::from(DEFAULT_WEIGHT)), DEFAULT_WEIGHT.to_string()),
                Some(w) => (w.as_integer(), bare(w)),
            };
            return Ok(match weight {
                Some(w) if current != Some(i64::from(w)) => {
                    let mut replicas = self.replicas_mut(target, origin)?.expect("listed above");
                    replicas.set_weight(existing, w);
                    (
                        true,
                        format!(
                            "replica {address} already present: weight changed from \
                             {shown} to {w}"
                        ),
                    )
                }
                _ => (
                    false,
                    format!("replica {address} already present with weight {shown}: nothing to do"),
                ),
            });
        }
        let position = self.new_replica_position(target);
        if self.replicas_mut(target, origin)?.is_none() {
            let new_list = match target {
                Target::Main => Item::ArrayOfTables(ArrayOfTables::new()),
                // Whatever form the entry's master is in: a `[clusters.master]` table gets
                // `[[clusters.replicas]]` tables beside it, an inline master (the documented
                // form) an inline list.
                Target::Named(_) => match self.table(target).get("master") {
                    Some(Item::Table(m)) if !m.is_dotted() => {
                        Item::ArrayOfTables(ArrayOfTables::new())
                    }
                    _ => Item::Value(Value::Array(Array::new())),
                },
            };
            self.table_mut(target).insert("replicas", new_list);
        }
        let weight = weight.unwrap_or(DEFAULT_WEIGHT);
        let mut replicas = self.replicas_mut(target, origin)?.expect("inserted above");
        replicas.push(address, weight, position);
        Ok((true, format!("added replica {address} (weight {weight})")))
    }

    /// Removes the replica with `address`; `false` if there is none.
    pub(super) fn remove_replica(
        &mut self,
        target: Target,
        address: &str,
        origin: &str,
    ) -> anyhow::Result<bool> {
        let Some(index) = replica_list(self.table(target))
            .iter()
            .position(|(a, _)| a.as_deref() == Some(address))
        else {
            return Ok(false);
        };
        let mut replicas = self.replicas_mut(target, origin)?.expect("listed above");
        let removed = replicas.remove(index);
        let empty = replicas.is_empty();
        if let Some(removed) = removed {
            if empty {
                // An empty array of tables prints nothing; dropping the key keeps the
                // document free of a phantom entry. (An inline list stays, as `[]`.)
                self.table_mut(target).remove("replicas");
            }
            self.keep_comments_of(&removed);
        }
        Ok(true)
    }

    pub(super) fn set_master(
        &mut self,
        target: Target,
        address: &str,
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        let old = self.master_address(target);
        let master_changed = old.as_deref() != Some(address);
        if master_changed {
            let table = self.table_mut(target);
            match table.get_mut("master").and_then(Item::as_table_like_mut) {
                Some(master) => match master.get_mut("address") {
                    Some(Item::Value(v)) => replace_keeping_decor(v, Value::from(address)),
                    _ => {
                        master.insert("address", Item::Value(Value::from(address)));
                    }
                },
                None if matches!(target, Target::Main) => {
                    bail!("{origin} has no [master] table")
                }
                None => {
                    table.insert(
                        "master",
                        Item::Value(Value::InlineTable(address_table(address))),
                    );
                }
            }
        }
        let was_replica = self.remove_replica(target, address, origin)?;
        let mut message = match (&old, master_changed) {
            (_, false) => format!("master is already {address}"),
            (Some(old), true) => format!("master changed from {old} to {address}"),
            (None, true) => format!("master set to {address}"),
        };
        if was_replica {
            message.push_str(&format!(
                "; {address} removed from the replicas{}",
                self.none_left(target)
            ));
        }
        let changed = master_changed || was_replica;
        if !changed {
            message.push_str(": nothing to do");
        }
        Ok((changed, message))
    }

    /// The cluster's master address, trimmed, if present.
    pub(super) fn master_address(&self, target: Target) -> Option<String> {
        self.table(target)
            .get("master")
            .and_then(Item::as_table_like)
            .and_then(|m| m.get("address"))
            .and_then(Item::as_str)
            .map(|a| a.trim().to_string())
    }

    /// The cluster's replica list for editing, `None` when it has none.
    pub(super) fn replicas_mut(
        &mut self,
        target: Target,
        origin: &str,
    ) -> anyhow::Result<Option<Replicas<'_>>> {
        let name = self.name_of(target);
        match self.table_mut(target).get_mut("replicas") {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(Replicas::Tables(a))),
            Some(Item::Value(Value::Array(a))) => Ok(Some(Replicas::Inline(a))),
            Some(_) => bail!(
                "`replicas` of cluster {name} in {origin} is not a list of replicas; \
                 fix it before editing it"
            ),
        }
    }

    /// Where a new `[[replicas]]` (or `[[clusters.replicas]]`) table goes in the output: right
    /// after the last existing one (tables with equal positions keep document order, and the
    /// new table is the next one in that order), so the entries stay grouped. With none: for
    /// "main", after every other table, i.e. at the end of the file; for a `[[clusters]]`
    /// entry, after the entry's own tables, i.e. before the next entry.
    pub(super) fn new_replica_position(&self, target: Target) -> isize {
        let table = self.table(target);
        if let Some(Item::ArrayOfTables(a)) = table.get("replicas") {
            if let Some(pos) = a.iter().filter_map(Table::position).max() {
                return pos;
            }
        }
        match target {
            Target::Main => max_position(self.doc.as_table()).unwrap_or(0) + 1,
            Target::Named(_) => max_position(table).unwrap_or(0),
        }
    }

    /// Keeps the comments written above a removed table's header. Such a comment may well
    /// describe the whole section (the example file has one above the first `[[replicas]]`),
    /// so it moves to whatever comes next in the file. The blank lines that separated the
    /// removed table go with it; comments inside the removed table (on or below its header)
    /// describe that entry and go too.
    pub(super) fn keep_comments_of(&mut self, removed: &Table) {
        let prefix = removed
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        if !prefix.contains('#') {
            return;
        }
        let after = removed.position().unwrap_or(isize::MAX);
        let mut next = None;
        for_each_header_table(self.doc.as_table(), &mut |t| {
            if let Some(p) = t.position().filter(|p| *p > after) {
                next = Some(next.map_or(p, |n: isize| n.min(p)));
            }
        });
        let merge = |own: &str| {
            if own.contains('#') {
                format!("{prefix}{own}")
            } else {
                prefix.clone()
            }
        };
        match next {
            Some(next) => {
                with_header_table_mut(self.doc.as_table_mut(), next, &mut |t| {
                    let own = t
                        .decor()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .unwrap_or("")
                        .to_string();
                    t.decor_mut().set_prefix(merge(&own));
                });
            }
            None => {
                let own = self.doc.trailing().as_str().unwrap_or("").to_string();
                // The removed table's body ended with a newline; the comment lines follow it.
                let kept = if own.contains('#') {
                    format!("{prefix}{own}")
                } else {
                    format!("{prefix}{}", own.trim_start_matches(['\n', '\r']))
                };
                self.doc.set_trailing(kept);
            }
        }
    }
}

/// A `[[clusters]]` entry's `name`.
pub(super) fn cluster_name(t: &Table) -> Option<&str> {
    t.get("name").and_then(Item::as_str)
}

/// The replicas listed in a cluster's table (`[[replicas]]` / `[[clusters.replicas]]` tables
/// or an inline `replicas = [{ ... }]` list), in file order: each one's address (trimmed;
/// `None` when it has no string address — an invalid file) and its `weight` as written.
/// Addresses are compared exactly: no DNS and no normalization, so `localhost` and
/// `127.0.0.1` differ — the config loader's duplicate check, which does normalize, still
/// guards the result.
pub(super) fn replica_list(table: &Table) -> Vec<(Option<String>, Option<Item>)> {
    let entry = |address: Option<&str>, weight: Option<Item>| {
        (address.map(|a| a.trim().to_string()), weight)
    };
    match table.get("replicas") {
        Some(Item::ArrayOfTables(a)) => a
            .iter()
            .map(|t| {
                entry(
                    t.get("address").and_then(Item::as_str),
                    t.get("weight").cloned(),
                )
            })
            .collect(),
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .map(|v| match v.as_inline_table() {
                Some(t) => entry(
                    t.get("address").and_then(Value::as_str),
                    t.get("weight").cloned().map(Item::Value),
                ),
                None => (None, None),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A cluster's replica list, in either of the forms TOML allows and the config loader takes.
pub(super) enum Replicas<'a> {
    /// `[[replicas]]` / `[[clusters.replicas]]` tables.
    Tables(&'a mut ArrayOfTables),
    /// `replicas = [{ address = "...", weight = 1 }, ...]`, on one line or several.
    Inline(&'a mut Array),
}

impl Replicas<'_> {
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Replicas::Tables(a) => a.is_empty(),
            Replicas::Inline(a) => a.is_empty(),
        }
    }

    /// Sets entry `index`'s weight, keeping the spacing and comment around the old value.
    pub(super) fn set_weight(&mut self, index: usize, weight: u32) {
        let value = Value::from(i64::from(weight));
        match self {
            Replicas::Tables(a) => {
                if let Some(t) = a.get_mut(index) {
                    set_value(t, "weight", value);
                }
            }
            Replicas::Inline(a) => {
                if let Some(t) = a.get_mut(index).and_then(Value::as_inline_table_mut) {
                    match t.get_mut("weight") {
                        Some(v) => replace_keeping_decor(v, value),
                        None => push_inline(t, "weight", value),
                    }
                }
            }
        }
    }

    /// Appends an entry; `position` orders a new table among the document's tables (see
    /// [`EditableFile::new_replica_position`]). An inline entry is laid out like the one
    /// before it: on its own line, indented the same, in a list written one per line; after
    /// `, ` in a list written on one line.
    pub(super) fn push(&mut self, address: &str, weight: u32, position: isize) {
        match self {
            Replicas::Tables(a) => {
                let mut table = Table::new();
                table.insert("address", Item::Value(Value::from(address)));
                table.insert("weight", Item::Value(Value::from(i64::from(weight))));
                table.set_position(Some(position));
                a.push(table);
            }
            Replicas::Inline(a) => {
                let last = a.len().checked_sub(1).and_then(|i| {
                    let v = a.get_mut(i)?;
                    let prefix = decor_str(v.decor().prefix());
                    let suffix = decor_str(v.decor().suffix());
                    Some((v, prefix, suffix))
                });
                let decor = last.map(|(last, prefix, suffix)| {
                    let indent = match prefix.rfind('\n') {
                        Some(at) => format!("\n{}", &prefix[at + 1..]),
                        None => " ".to_string(),
                    };
                    match suffix.rfind('\n') {
                        // A list without a trailing comma keeps its closing line break (and
                        // any comment after the last entry) in that entry's suffix: the comma
                        // must come before them, so they move to the new entry.
                        Some(at) => {
                            last.decor_mut().set_suffix("");
                            (
                                format!("{}{indent}", &suffix[..at]),
                                suffix[at..].to_string(),
                            )
                        }
                        None => (indent, String::new()),
                    }
                });
                // After a trailing comma, a comment on the last entry's line is the start of
                // what precedes `]`; it stays on that entry's line, before the new entry.
                let mut decor = decor;
                if let (true, Some((prefix, _))) = (a.trailing_comma(), decor.as_mut()) {
                    let trailing = decor_str(Some(a.trailing()));
                    if let Some(at) = trailing.find('\n') {
                        if trailing[..at].contains('#') {
                            *prefix = format!("{}{prefix}", &trailing[..at]);
                            a.set_trailing(&trailing[at..]);
                        }
                    }
                }
                a.push(replica_table(address, weight));
                if let Some((prefix, suffix)) = decor {
                    let new = a.get_mut(a.len() - 1).expect("just pushed");
                    new.decor_mut().set_prefix(prefix);
                    new.decor_mut().set_suffix(suffix);
                }
            }
        }
    }

    /// Removes entry `index`. A table is returned so its comments can be kept (they sit
    /// between tables of the document); an inline entry's are kept here, by the same rule:
    /// comment lines above the entry stay (they may describe the list, and the line the
    /// entry sat on may end with the previous entry's comment); the entry and the comment on
    /// its own line go.
    ///
    /// In `toml_edit`'s terms a list is `[` prefix₀ value₀ suffix₀ `,` prefix₁ value₁ … `]`:
    /// a comment after an entry's comma starts the next entry's prefix, comment lines above
    /// an entry end its own prefix, and whatever follows the last entry (after its comma if
    /// there is one) is the list's trailing text or, without a trailing comma, that entry's
    /// suffix.
    pub(super) fn remove(&mut self, index: usize) -> Option<Table> {
        match self {
            Replicas::Tables(a) => Some(a.remove(index)),
            Replicas::Inline(a) => {
                let removed = a.remove(index);
                let prefix = decor_str(removed.decor().prefix());
                let suffix = decor_str(removed.decor().suffix());
                let above = match prefix.rfind('\n') {
                    Some(at) => prefix[..at].to_string(),
                    None => String::new(),
                };
                if let Some(next) = a.get_mut(index) {
                    let own = decor_str(next.decor().prefix());
                    let merged = match (own.find('\n'), prefix.contains('\n')) {
                        (Some(at), true) => format!("{above}{}", &own[at..]),
                        (Some(at), false) => {
                            format!("{}{}", prefix.trim_end_matches([' ', '\t']), &own[at..])
                        }
                        (None, _) => prefix,
                    };
                    next.decor_mut().set_prefix(merged);
                    return None;
                }
                let trailing = decor_str(Some(a.trailing()));
                let closing = if a.trailing_comma() {
                    &trailing
                } else {
                    &suffix
                };
                let rest = match closing.find('\n') {
                    Some(at) => closing[at..].to_string(),
                    // A comment line kept must not swallow the `]` (or `,`) after it.
                    None if !above.is_empty() => format!("\n{closing}"),
                    None => closing.clone(),
                };
                let kept = format!("{above}{rest}");
                if a.trailing_comma() {
                    a.set_trailing(kept);
                } else if index == 0 {
                    a.set_trailing(format!("{kept}{trailing}"));
                } else {
                    let last = a.get_mut(index - 1).expect("index > 0");
                    let own = decor_str(last.decor().suffix());
                    last.decor_mut().set_suffix(format!("{own}{kept}"));
                }
                None
            }
        }
    }
}

/// `{ address = "..." }`.
pub(super) fn address_table(address: &str) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("address", Value::from(address));
    t
}

/// `{ address = "...", weight = N }`.
pub(super) fn replica_table(address: &str, weight: u32) -> InlineTable {
    let mut t = address_table(address);
    t.insert("weight", Value::from(i64::from(weight)));
    t
}

/// Adds `key = value` at the end of an inline table. `toml_edit` would leave the space before
/// `}` on the previous value (`{ a = 1 , b = 2 }`); it moves to the new one.
pub(super) fn push_inline(t: &mut InlineTable, key: &str, mut value: Value) {
    let mut closing = None;
    if let Some((_, last)) = t.iter_mut().last() {
        closing = Some(decor_str(last.decor().suffix()));
        last.decor_mut().set_suffix("");
    }
    if let Some(closing) = closing {
        value.decor_mut().set_suffix(closing);
        value.decor_mut().set_prefix(" ");
    }
    t.insert(key, value);
}

pub(super) fn decor_str(raw: Option<&toml_edit::RawString>) -> String {
    raw.and_then(|r| r.as_str()).unwrap_or("").to_string()
}

/// The highest position of `table` and the tables under it that are printed with a header
/// (see [`EditableFile::new_replica_position`]).
pub(super) fn max_position(table: &Table) -> Option<isize> {
    let mut max = table.position().filter(|_| is_header_table(table));
    for_each_header_table(table, &mut |t| {
        if let Some(p) = t.position() {
            max = Some(max.map_or(p, |m| m.max(p)));
        }
    });
    max
}

/// Sets `key` in `table`, keeping the existing value's surrounding whitespace and trailing
/// comment (`weight = 2  # canary`).
pub(super) fn set_value(table: &mut Table, key: &str, value: Value) {
    match table.get_mut(key) {
        Some(Item::Value(v)) => replace_keeping_decor(v, value),
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// An item as written, without its surrounding whitespace and comment.
pub(super) fn bare(item: &Item) -> String {
    let mut item = item.clone();
    if let Some(v) = item.as_value_mut() {
        v.decor_mut().clear();
    }
    item.to_string()
}

pub(super) fn replace_keeping_decor(slot: &mut Value, value: Value) {
    let decor = slot.decor().clone();
    *slot = value;
    *slot.decor_mut() = decor;
}

/// Calls `f` on every table that is printed with a header (`[x]` or `[[x]]`), i.e. the ones
/// that carry a position and a header decor.
pub(super) fn for_each_header_table(table: &Table, f: &mut dyn FnMut(&Table)) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => {
                if is_header_table(t) {
                    f(t);
                }
                for_each_header_table(t, f);
            }
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    f(t);
                    for_each_header_table(t, f);
                }
            }
            _ => {}
        }
    }
}

/// Calls `f` on the header table at `position`; whether one was found.
pub(super) fn with_header_table_mut(
    table: &mut Table,
    position: isize,
    f: &mut dyn FnMut(&mut Table),
) -> bool {
    for (_, item) in table.iter_mut() {
        let found = match item {
            Item::Table(t) => {
                if is_header_table(t) && t.position() == Some(position) {
                    f(t);
                    true
                } else {
                    with_header_table_mut(t, position, f)
                }
            }
            Item::ArrayOfTables(a) => a.iter_mut().any(|t| {
                if t.position() == Some(position) {
                    f(t);
                    true
                } else {
                    with_header_table_mut(t, position, f)
                }
            }),
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// A table with its own `[header]` line: not a dotted key (`a.b = 1`) and not an implicit
/// parent that is never printed (`a` in `[a.b]`).
pub(super) fn is_header_table(t: &Table) -> bool {
    let hidden_parent = t.is_implicit() && t.get_values().is_empty();
    !t.is_dotted() && !hidden_parent
}
