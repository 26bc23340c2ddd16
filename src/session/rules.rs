//! The operator's query rules (`[[rules]]`, see `crate::rules`) as the session applies them:
//! checked against the statement's one scan, the session's user and its current database, with
//! the rules of the session's topology snapshot — refreshed before every command, so a reload
//! applies from the next statement on.

use super::*;
use crate::rules::{Action, RouteTo, Subject, BLOCK_ERROR_CODE, BLOCK_SQLSTATE};

/// What the rules say about one statement.
pub(super) enum Verdict {
    /// Route as the router decides, on this cluster and with this rule route.
    Run(Ruled),
    /// A block rule matched: this error is the client's answer; nothing reaches a backend.
    Block(MyError),
}

/// Where the rule that matched a statement sends it (no rule: "main", the router's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ruled {
    /// The rule's cluster: its position in the session's topology snapshot, used for the
    /// statement at hand only (a prepared statement keeps the cluster it was prepared on, by
    /// name).
    pub(super) cluster: usize,
    pub(super) route: Option<RouteTo>,
}

impl Ruled {
    /// No rule matched: the main cluster, read/write splitting.
    pub(super) const NONE: Ruled = Ruled {
        cluster: crate::topology::MAIN,
        route: None,
    };
}

impl Session {
    /// The one scan of a statement's text, in the session's character set, for what routing
    /// needs and what the rules and cluster placement read: the databases named when there are
    /// rules or several clusters, the statements' digest keys when a rule has a `digest`.
    pub(super) fn analyze(&self, sql: &[u8]) -> Classification {
        let mut extras = self.topo.config.rules.extras();
        extras.names |= self.topo.clusters.len() > 1;
        classify::analyze_with(sql, &self.temp_tables, self.charset, extras)
    }

    /// Checks the rules for a statement (text query or prepare). Costs nothing without rules.
    pub(super) fn rule_verdict(&self, c: &Classification, sql: &[u8]) -> Verdict {
        let rules = &self.topo.config.rules;
        if rules.is_empty() {
            return Verdict::Run(Ruled::NONE);
        }
        let subject = Subject {
            user: &self.login.user,
            db: self.replay.db.as_deref(),
            db_maybe: self.replay.db_maybe.as_deref(),
            named: true,
            classification: c,
            sql,
        };
        let Some((i, spec)) = rules.check(&subject) else {
            return Verdict::Run(Ruled::NONE);
        };
        let route = match &spec.action {
            Action::Split => None,
            Action::Route(to) => Some(*to),
            Action::Block(message) => {
                debug!(client = %self.peer, rule = i, "statement blocked by a rule");
                return Verdict::Block(MyError::new(
                    BLOCK_ERROR_CODE,
                    BLOCK_SQLSTATE,
                    message.clone(),
                ));
            }
        };
        let cluster = self.cluster_index(spec.cluster.as_deref());
        Verdict::Run(Ruled { cluster, route })
    }
}
