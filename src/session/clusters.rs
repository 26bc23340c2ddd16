//! Sessions across clusters (`[[clusters]]`): which cluster a statement belongs to, and moving
//! the session there.
//!
//! A session works on one cluster at a time: `master`, `replica`, the routing state, the
//! temporary tables and the read-your-writes positions are that cluster's. Moving to another
//! cluster parks them (`Parked`) and takes out that cluster's, so what lives on a cluster's
//! connections — temporary tables, user variables, prepared statements, table locks — stays
//! there and is found again when the session comes back. What the proxy replays (SETs, the
//! character set, the current database where that cluster owns it) follows the session.
//!
//! A transaction is bound to the cluster it started on: a statement for another cluster
//! inside it is refused, never run as a second, silent transaction. A statement naming
//! databases of two clusters (a cross-shard join) is refused too: no server could answer it.

use super::*;
use crate::topology::MAIN;

/// ER_UNKNOWN_ERROR / HY000: what the server itself answers for conditions without a code of
/// their own. The message says what rwsplit refused and why.
const CLUSTER_ERROR: u16 = 1105;

/// Databases every server has, answering about that server: naming them does not tie a
/// statement to a cluster (`information_schema.tables` on the shard the session works on).
const SYSTEM_SCHEMAS: &[&str] = &["information_schema", "performance_schema", "mysql", "sys"];

/// A cluster the session worked on and left, with what lives there.
pub(super) struct Parked {
    name: Arc<str>,
    master: Option<BackendConn>,
    replica: Option<BackendConn>,
    routing: RoutingState,
    temp_tables: Vec<String>,
    rw: consistency::ReadYourWrites,
    replica_released: bool,
}

impl Parked {
    fn fresh(name: Arc<str>) -> Self {
        Parked {
            name,
            master: None,
            replica: None,
            routing: RoutingState::default(),
            temp_tables: Vec::new(),
            rw: Default::default(),
            replica_released: false,
        }
    }

    /// Its backend connections (KILL, closing).
    pub(super) fn conns(&self) -> impl Iterator<Item = &BackendConn> {
        self.master.iter().chain(self.replica.iter())
    }

    pub(super) fn conns_mut(&mut self) -> impl Iterator<Item = &mut BackendConn> {
        self.master.iter_mut().chain(self.replica.iter_mut())
    }
}

impl Session {
    /// The cluster a database belongs to, apart from any statement: where the rules send one
    /// that touches only it (no hit is counted). The login's database, COM_INIT_DB and the
    /// session's current database are placed by it.
    pub(super) fn cluster_of_db(&self, db: &str) -> usize {
        if self.topo.clusters.len() == 1 {
            return MAIN;
        }
        let nothing = classify::classify(b"");
        self.cluster_by(&self.topo.config.rules, Some(db), false, &nothing, b"")
    }

    /// Where `rules` send a statement, asked about the session's database and the ones the
    /// statement names (`named`), or about `db` alone.
    fn cluster_by(
        &self,
        rules: &crate::rules::Rules,
        db: Option<&str>,
        named: bool,
        c: &Classification,
        sql: &[u8],
    ) -> usize {
        let subject = crate::rules::Subject {
            user: &self.login.user,
            db,
            db_maybe: None,
            named,
            classification: c,
            sql,
        };
        let spec = rules.find(&subject).map(|(_, r)| r);
        self.cluster_index(spec.and_then(|r| r.cluster.as_deref()))
    }

    /// The position of a rule's cluster in the session's topology snapshot ("main" without
    /// one; the configuration only lets rules name clusters that exist).
    pub(super) fn cluster_index(&self, name: Option<&str>) -> usize {
        name.and_then(|n| self.topo.cluster_index(n))
            .unwrap_or(MAIN)
    }

    /// The cluster one statement runs on, by `rules`, and the first database it names there.
    /// `ruled` is the cluster of the rule that matched it (with the session's current
    /// database). A statement that names databases (`USE db`, `db.table`, and every other
    /// form the classifier finds) runs where those databases live: all on one cluster, or
    /// refused.
    pub(super) fn statement_cluster(
        &self,
        rules: &crate::rules::Rules,
        c: &Classification,
        sql: &[u8],
        ruled: usize,
    ) -> Result<(usize, Option<String>), MyError> {
        if self.topo.clusters.len() == 1 {
            return Ok((MAIN, None));
        }
        let named = c
            .use_db
            .iter()
            .chain(c.databases.iter())
            .filter(|db| !SYSTEM_SCHEMAS.iter().any(|s| db.eq_ignore_ascii_case(s)));
        let mut found: Option<(usize, &str)> = None;
        for db in named {
            let here = self.cluster_by(rules, Some(db), false, c, sql);
            match found {
                None => found = Some((here, db)),
                Some((there, other)) if there != here => {
                    let name = |i: usize| self.topo.clusters[i].name.clone();
                    return Err(MyError::new(
                        CLUSTER_ERROR,
                        b"HY000",
                        format!(
                            "rwsplit: the statement names databases of two clusters \
                             ({other} on {:?}, {db} on {:?}); one statement runs on one cluster",
                            name(there),
                            name(here)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(found.map_or((ruled, None), |(i, db)| (i, Some(db.to_string()))))
    }

    /// Moves the session's next statements to cluster `to`: the current cluster's connections
    /// and state are parked (clean connections go back to the pool), `to`'s are taken out.
    /// Refused inside a transaction, and when the session holds state only its current
    /// master has (see `route::PinReason::MasterOnlyState`): the other cluster cannot have it.
    pub(super) fn enter_cluster(&mut self, to: usize) -> Result<(), MyError> {
        if to == self.cluster {
            return Ok(());
        }
        let (from_name, to_name) = (
            self.cluster_name.clone(),
            self.topo.clusters[to].name.clone(),
        );
        let refuse = |why: String| Err(MyError::new(CLUSTER_ERROR, b"HY000", why));
        if self.routing.trx().is_some() {
            return refuse(format!(
                "rwsplit: this statement belongs to cluster {to_name:?}, but the open \
                 transaction runs on cluster {from_name:?}; a transaction cannot span clusters \
                 (end it first)"
            ));
        }
        if self.routing.master_only_state() {
            return refuse(format!(
                "rwsplit: this statement belongs to cluster {to_name:?}, but this session holds \
                 state that only the master of cluster {from_name:?} has and rwsplit cannot \
                 carry over; use a new connection for cluster {to_name:?}"
            ));
        }
        debug!(client = %self.peer, from = %from_name, to = %to_name, "session moves to another cluster");
        // Clean connections go back to the pool now; the others hold this cluster's state.
        self.release_idle();
        let mut incoming = match self.parked.iter().position(|p| p.name == to_name) {
            Some(i) => self.parked.swap_remove(i),
            None => Parked::fresh(to_name.clone()),
        };
        // Session-wide facts the new cluster's routing must know: autocommit is replayed
        // there with the session's SETs.
        incoming.routing.carry_session(&self.routing);
        let outgoing = Parked {
            name: std::mem::replace(&mut self.cluster_name, to_name),
            master: std::mem::replace(&mut self.master, incoming.master),
            replica: std::mem::replace(&mut self.replica, incoming.replica),
            routing: std::mem::replace(&mut self.routing, incoming.routing),
            temp_tables: std::mem::replace(&mut self.temp_tables, incoming.temp_tables),
            rw: std::mem::replace(&mut self.rw, incoming.rw),
            replica_released: std::mem::replace(
                &mut self.replica_released,
                incoming.replica_released,
            ),
        };
        // Always kept (at most one per cluster): besides connections, the read-your-writes
        // positions of the writes made there must be there when the session comes back.
        self.parked.push(outgoing);
        self.cluster = to;
        self.positions = self.shared.cluster_positions(&self.cluster_name);
        self.db_here = self.db_owned_here();
        self.publish_backends();
        Ok(())
    }

    /// The session's current database, if the current cluster owns it (a connection to
    /// another cluster has no database selected rather than a name that is not there); else
    /// the database the statement at hand names there, if it names every table with its
    /// database (`DELETE t FROM db.t t` needs one selected, as it would have on one server).
    pub(super) fn conn_db(&self) -> Option<&str> {
        self.replay
            .db
            .as_deref()
            .filter(|_| self.db_here)
            .or(self.stmt_db.as_deref())
    }

    /// Does the current cluster own the session's database (or is there none)?
    pub(super) fn db_owned_here(&self) -> bool {
        match self.replay.db.as_deref() {
            None => true,
            Some(db) => self.cluster_of_db(db) == self.cluster,
        }
    }

    /// Moves the session to the cluster a statement belongs to: the rule's, or the one owning
    /// the databases it names. Inside a transaction that is decided by the rules in force
    /// when the transaction began: a reload that moves a database between clusters (the
    /// resharding step) lets open transactions finish where they are, while a statement
    /// that was for another cluster all along is refused. True if the session moved (the
    /// statement's scan then has to be redone against that cluster's temporary tables); the
    /// error is the client's answer.
    pub(super) fn place_statement(
        &mut self,
        c: &Classification,
        sql: &[u8],
        ruled: &rules::Ruled,
    ) -> Result<bool, MyError> {
        if !Arc::ptr_eq(&self.topo.clusters[self.cluster].name, &self.cluster_name)
            && self.routing.trx().is_none()
        {
            // Its cluster was removed while a transaction ran there; that one has ended.
            self.relocate_cluster();
        }
        if self.topo.clusters.len() == 1 && self.cluster == MAIN {
            return Ok(false);
        }
        let current = self.topo.config.rules.clone();
        let in_trx = self.routing.trx().is_some();
        let rules = match &self.trx_rules {
            Some(r) if in_trx => r.clone(),
            _ => {
                // The rules a transaction this statement may begin is placed by.
                self.trx_rules = Some(current.clone());
                current.clone()
            }
        };
        let ruled = if rules.same_as(&current) {
            ruled.cluster
        } else {
            self.cluster_by(&rules, self.replay.db.as_deref(), true, c, sql)
        };
        let (to, named) = self.statement_cluster(&rules, c, sql, ruled)?;
        let moved = to != self.cluster;
        self.enter_cluster(to)?;
        if self.replay.db.is_some() && !self.db_here && !c.rule.unqualified {
            self.stmt_db = named;
        }
        Ok(moved)
    }

    /// At login (and COM_CHANGE_USER), with no connection yet: the session starts on the
    /// cluster that owns its database ("main" without one).
    pub(super) fn start_on_db_cluster(&mut self) {
        let to = self
            .replay
            .db
            .as_deref()
            .map_or(MAIN, |db| self.cluster_of_db(db));
        let name = &self.topo.clusters[to].name;
        if !Arc::ptr_eq(name, &self.cluster_name) {
            // Looked up only for a cluster other than the one the session was made with.
            self.cluster_name = name.clone();
            self.positions = self.shared.cluster_positions(&self.cluster_name);
        }
        self.cluster = to;
        self.db_here = true;
    }

    /// After a reload: the current cluster's position in the new snapshot (it may have
    /// moved); a removed cluster leaves the session on "main" (its connections are let go
    /// like those of any removed backend), and parked clusters that are gone are dropped.
    pub(super) fn relocate_cluster(&mut self) {
        match self.topo.cluster_index(&self.cluster_name) {
            Some(i) => {
                self.cluster = i;
                // The snapshot's own name: `place_statement` compares by pointer.
                self.cluster_name = self.topo.clusters[i].name.clone();
            }
            None => {
                // The position must stay valid; the session works on "main" from now on.
                self.cluster = MAIN;
                if self.routing.trx().is_none() {
                    self.cluster_name = self.topo.main().name.clone();
                    self.positions = self.shared.cluster_positions(&self.cluster_name);
                }
                // Inside a transaction the name stays: the transaction finishes on its
                // connection, and `place_statement` moves the session once it ended.
            }
        }
        let topo = self.topo.clone();
        let gone: Vec<Parked> = {
            let (keep, gone) = std::mem::take(&mut self.parked)
                .into_iter()
                .partition(|p| topo.cluster_index(&p.name).is_some());
            self.parked = keep;
            gone
        };
        for p in gone {
            for conn in p.master.into_iter().chain(p.replica) {
                tokio::spawn(conn.quit());
            }
        }
        // A parked connection whose backend left its cluster goes too (its state with it,
        // as a direct connection's would with its server).
        for p in &mut self.parked {
            for slot in [&mut p.master, &mut p.replica] {
                if slot.as_ref().is_some_and(|c| !topo.contains(&c.backend)) {
                    if let Some(conn) = slot.take() {
                        tokio::spawn(conn.quit());
                    }
                }
            }
        }
        self.db_here = self.db_owned_here();
    }

    /// Every parked cluster's connections go (back to the pool, reset there) and its state
    /// is forgotten: the session ended, or it was reset (COM_RESET_CONNECTION,
    /// COM_CHANGE_USER).
    pub(super) fn leave_parked(&mut self) {
        for p in std::mem::take(&mut self.parked) {
            for conn in p.master.into_iter().chain(p.replica) {
                self.release(conn);
            }
        }
    }
}
