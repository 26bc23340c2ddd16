//! The operator's query rules (`[[rules]]`, see `crate::rules`) as the session applies them:
//! checked against the statement's one scan, the session's user and its current database, with
//! the rules of the session's topology snapshot — refreshed before every command, so a reload
//! applies from the next statement on.

use super::*;
use crate::rules::{Action, RouteTo, Subject, BLOCK_ERROR_CODE, BLOCK_SQLSTATE};

/// What the rules say about one statement.
pub(super) enum Verdict {
    /// Route as the router decides, with this rule route if any.
    Run(Option<RouteTo>),
    /// A block rule matched: this error is the client's answer; nothing reaches a backend.
    Block(MyError),
}

impl Session {
    /// Checks the rules for a statement (text query or prepare). Costs nothing without rules.
    pub(super) fn rule_verdict(&self, c: &Classification, sql: &[u8]) -> Verdict {
        let rules = &self.topo.config.rules;
        if rules.is_empty() {
            return Verdict::Run(None);
        }
        let subject = Subject {
            user: &self.login.user,
            db: self.replay.db.as_deref(),
            classification: c,
            sql,
        };
        match rules.check(&subject) {
            None | Some((_, Action::Split)) => Verdict::Run(None),
            Some((_, Action::Route(to))) => Verdict::Run(Some(*to)),
            Some((i, Action::Block(message))) => {
                debug!(client = %self.peer, rule = i, "statement blocked by a rule");
                Verdict::Block(MyError::new(
                    BLOCK_ERROR_CODE,
                    BLOCK_SQLSTATE,
                    message.clone(),
                ))
            }
        }
    }
}
