//! Prepared statements (binary protocol): proxy-side ids, lazy prepares per backend,
//! parameter types and long data carried along, cursors pinned to their backend.

use super::*;

/// The session's prepared statements, by the proxy's own ids.
pub(super) struct Prepared {
    pub(super) stmts: foldhash::HashMap<u32, PreparedStmt>,
    pub(super) next_stmt_id: u32,
    /// The statement a COM_STMT_EXECUTE with id -1 (0xFFFFFFFF) means, as MariaDB reads it:
    /// the last *successful* prepare. A failed or blocked prepare, or closing that statement,
    /// clears it, so a pipelined execute-direct after a failed prepare gets 1243 instead of
    /// running the statement prepared before.
    pub(super) last_prepared: Option<u32>,
    /// Reused for rewriting COM_STMT_EXECUTE packets.
    pub(super) exec_buf: Vec<u8>,
}

impl Default for Prepared {
    fn default() -> Self {
        Prepared {
            stmts: Default::default(),
            next_stmt_id: 1,
            last_prepared: None,
            exec_buf: Vec::new(),
        }
    }
}

/// One COM_STMT_EXECUTE as the client sent it, with what every attempt needs to rewrite it
/// for the backend it runs on.
pub(super) struct ExecPlan<'a> {
    pub(super) id: u32,
    pub(super) pkt: &'a [u8],
    /// Where the new-params-bound flag sits in `pkt`.
    pub(super) flag_at: usize,
    pub(super) client_sent_types: bool,
    /// COM_STMT_SEND_LONG_DATA payloads collected since the last execute.
    pub(super) long_data: Vec<(u16, Vec<u8>)>,
}

/// A prepared statement as the client sees it (the proxy's own id).
pub(super) struct PreparedStmt {
    pub(super) sql: Vec<u8>,
    /// The single scan of `sql`, made at prepare time: every execute is routed from it by the
    /// same function as a text query.
    pub(super) class: Arc<Classification>,
    /// The route of the rule that matched the statement (`rules`), checked at prepare with its
    /// text and again at the first execute after a reload brought other rules.
    pub(super) rule: Option<crate::rules::RouteTo>,
    /// The cluster it was prepared on, and where every execute runs: the statement belongs
    /// to the databases of the moment it was prepared, as on a server.
    pub(super) cluster: Arc<str>,
    /// The rule set `rule` came from.
    pub(super) rules_of: crate::rules::Rules,
    pub(super) num_params: u16,
    /// Parameter types from the last execute that sent them, for backends that have not seen them.
    pub(super) param_types: Option<Vec<u8>>,
    /// COM_STMT_SEND_LONG_DATA payloads (already re-encoded per backend on use).
    pub(super) long_data: Vec<(u16, Vec<u8>)>,
    /// Its bytes, counted in the process-wide budget (`long_data`) until cleared.
    pub(super) long_data_held: crate::long_data::Held,
    /// Long data past the limit arrived since the last execute: it was dropped, and the next
    /// execute answers the server's error instead of running with a parameter cut short.
    pub(super) long_data_overflow: bool,
    /// Where the last execute ran (COM_STMT_FETCH and COM_STMT_RESET go there).
    pub(super) last_role: Option<Role>,
    /// The last execute opened a cursor that lives on that backend.
    pub(super) cursor_open: bool,
}

impl Session {
    pub(super) async fn prepare(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let sql = &pkt[1..];
        let mut c = Arc::new(self.analyze(sql));
        // A blocked statement is not prepared anywhere: the prepare gets the rule's error.
        // Whatever happens below, only a prepare that succeeds becomes "the last one".
        self.prepared.last_prepared = None;
        let rule = match self.rule_verdict(&c, sql) {
            rules::Verdict::Run(rule) => rule,
            rules::Verdict::Block(e) => return self.send_error(&e).await,
        };
        match self.place_statement(&c, sql, &rule) {
            Ok(true) if c.mentions_named || !self.temp_tables.is_empty() => {
                c = Arc::new(self.analyze(sql));
            }
            Ok(_) => {}
            Err(e) => return self.send_error(&e).await,
        }
        let rules_of = self.topo.config.rules.clone();
        let d = self.decide_ruled(&c, Protocol::Prepare, rule.route);
        // A prepare sends nothing to the client until the whole answer is in, so one on a
        // replica that fails can run again elsewhere, like a read.
        let retry = Retry {
            allowed: d.retry,
            consistent: d.consistent_read,
        };
        // Read-your-writes: a replica that has not seen this session's CREATE TABLE would
        // refuse the prepare.
        let wanted = if d.consistent_read {
            self.consistent(d.target).await
        } else {
            d.target
        };
        let Some((target, Answer::Prepared { mut raw, ok })) = self
            .run_command(wanted, Command::Prepare { pkt }, retry)
            .await?
        else {
            return Ok(());
        };
        let proxy_id = self.prepared.next_stmt_id;
        let conn = self.conn_mut(target).expect("ready");
        if let Some((backend_id, num_params, _cols)) = ok {
            conn.stmts.insert(
                proxy_id,
                BackendStmt {
                    id: backend_id,
                    types_bound: false,
                },
            );
            raw[5..9].copy_from_slice(&proxy_id.to_le_bytes());
            // 0 is no id and 0xFFFFFFFF means "the last prepared statement": never hand out either.
            self.prepared.next_stmt_id = match self.prepared.next_stmt_id.wrapping_add(1) {
                0 | u32::MAX => 1,
                n => n,
            };
            self.prepared.stmts.insert(
                proxy_id,
                PreparedStmt {
                    sql: sql.to_vec(),
                    class: c,
                    rule: rule.route,
                    cluster: self.cluster_name.clone(),
                    rules_of,
                    num_params,
                    param_types: None,
                    long_data: Vec::new(),
                    long_data_held: Default::default(),
                    long_data_overflow: false,
                    last_role: Some(conn_role(target)),
                    cursor_open: false,
                },
            );
            self.prepared.last_prepared = Some(proxy_id);
        }
        self.routing.last = Some(target);
        self.client.write_raw(&raw).await
    }

    /// The statement id of a COM_STMT_* packet (None: the packet is too short). Id -1 is the
    /// last successfully prepared statement; with none it stays -1, which names no statement
    /// (the caller answers 1243 as the server does).
    pub(super) fn stmt_id(&self, pkt: &[u8]) -> Option<u32> {
        let id = u32::from_le_bytes(pkt.get(1..5)?.try_into().ok()?);
        if id == u32::MAX {
            Some(self.prepared.last_prepared.unwrap_or(u32::MAX))
        } else {
            Some(id)
        }
    }

    /// Prepares statement `id` on `target` if it is not there yet. Err is for the client.
    pub(super) async fn ensure_prepared(
        &mut self,
        target: Target,
        id: u32,
    ) -> Result<BackendStmt, MyError> {
        let Some(conn) = self.conn_mut(target) else {
            return Err(MyError::backend_unavailable(
                conn_role_name(target),
                "",
                "not connected",
            ));
        };
        if let Some(bs) = conn.stmts.get(&id) {
            return Ok(*bs);
        }
        let Some(st) = self.prepared.stmts.get(&id) else {
            return Err(MyError::unknown_stmt(id, "mysqld_stmt_execute"));
        };
        let mut p = Vec::with_capacity(st.sql.len() + 1);
        p.push(COM_STMT_PREPARE);
        p.extend_from_slice(&st.sql);
        let conn = self.conn_mut(target).expect("checked above");
        let lost = |e: String| MyError::backend_lost(conn_role_name(target), "", &e);
        if let Err(e) = conn.send_command(&p).await {
            conn.broken = true;
            return Err(lost(e.to_string()));
        }
        match conn.read_prepare_response().await {
            Ok((_, Some((backend_id, _, _)))) => {
                let bs = BackendStmt {
                    id: backend_id,
                    types_bound: false,
                };
                conn.stmts.insert(id, bs);
                Ok(bs)
            }
            Ok((raw, None)) => Err(MyError::from_payload(&raw[4..])
                .unwrap_or_else(|| MyError::new(1105, b"HY000", "prepare failed"))),
            Err(e) => {
                conn.broken = true;
                Err(lost(e.to_string()))
            }
        }
    }

    pub(super) async fn execute(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let wrong = || MyError::wrong_arguments("mysqld_stmt_execute");
        let Some(id) = self.stmt_id(pkt) else {
            return self.send_error(&wrong()).await;
        };
        let Some(st) = self.prepared.stmts.get_mut(&id) else {
            return self
                .send_error(&MyError::unknown_stmt(id, "mysqld_stmt_execute"))
                .await;
        };
        let num_params = st.num_params as usize;
        let mut c = st.class.clone();
        if !c.mentions_named
            && !self.temp_tables.is_empty()
            && classify::analyze_for_routing(&st.sql, &self.temp_tables, self.charset)
                .mentions_named
        {
            // A temporary table created after the prepare shadows the table it named: the
            // execute runs where the temporary table is.
            let mut now = (*c).clone();
            now.mentions_named = true;
            c = Arc::new(now);
        }
        let started = self.cmd_started;
        // Parameter types: the client sends them once; remember them for backends that
        // prepare the statement later.
        let flag_at = 10 + num_params.div_ceil(8);
        let client_sent_types = if num_params > 0 {
            match pkt.get(flag_at) {
                Some(1) => match pkt.get(flag_at + 1..flag_at + 1 + 2 * num_params) {
                    Some(t) => {
                        st.param_types = Some(t.to_vec());
                        true
                    }
                    None => return self.send_error(&wrong()).await,
                },
                Some(_) => false,
                None => return self.send_error(&wrong()).await,
            }
        } else {
            true
        };
        st.cursor_open = pkt.get(5).is_some_and(|f| f & 0x0F != 0);
        let long_data = std::mem::take(&mut st.long_data);
        st.long_data_held.clear();
        if std::mem::take(&mut st.long_data_overflow) {
            // What the server answers an execute whose long data went past its limit.
            return self
                .send_error(&MyError::new(
                    1105,
                    b"HY000",
                    "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
                ))
                .await;
        }
        let plan = ExecPlan {
            id,
            pkt,
            flag_at,
            client_sent_types,
            long_data,
        };
        let rule = match self.stmt_rule(id, &c) {
            Ok(rule) => rule,
            // Parameter types are kept above: a later execute, once a reload lets the statement
            // run again, may not send them again.
            Err(e) => return self.send_error(&e).await,
        };
        if let Err(e) = self.enter_stmt_cluster(id) {
            return self.send_error(&e).await;
        }
        let d = self.decide_ruled(&c, Protocol::Execute, rule);
        let _ticket = self.write_ticket(&c, d.target);
        let target = if d.consistent_read {
            self.consistent(d.target).await
        } else {
            d.target
        };
        let retry = Retry {
            allowed: d.retry,
            consistent: d.consistent_read,
        };
        let Some((used, Answer::Relayed(scanner))) = self
            .run_command(target, Command::Execute(&plan), retry)
            .await?
        else {
            return Ok(());
        };
        let sql = self
            .prepared
            .stmts
            .get(&id)
            .map(|s| &s.sql[..])
            .unwrap_or(&[]);
        self.account(
            target,
            used,
            c.kind,
            started,
            &scanner,
            c.digest,
            sql,
            pkt.len(),
        );
        self.after_statement(&c, &[], used, &scanner, Protocol::Execute)
            .await;
        Ok(())
    }

    /// The rule route of prepared statement `id` for an execute: the one found at prepare,
    /// unless a reload brought other rules since, which are then checked (and remembered).
    /// Err: a rule now blocks it; the statement stays prepared, a later reload may free it.
    fn stmt_rule(
        &mut self,
        id: u32,
        c: &Classification,
    ) -> Result<Option<crate::rules::RouteTo>, MyError> {
        let current = self.topo.config.rules.clone();
        let Some(st) = self.prepared.stmts.get_mut(&id) else {
            return Ok(None);
        };
        if st.rules_of.same_as(&current) {
            return Ok(st.rule);
        }
        let sql = std::mem::take(&mut st.sql);
        // Prepared while no rule read names (`Session::analyze`): scanned again for them.
        let rescanned;
        let need = current.extras();
        let c = if (c.rule.scanned || !need.names) && (c.rule.keyed || !need.keys) {
            c
        } else {
            rescanned = classify::analyze_in(&sql, &self.temp_tables, self.charset);
            &rescanned
        };
        let verdict = self.rule_verdict(c, &sql);
        let Some(st) = self.prepared.stmts.get_mut(&id) else {
            return Ok(None);
        };
        st.sql = sql;
        match verdict {
            rules::Verdict::Run(rule) => {
                st.rule = rule.route;
                st.rules_of = current;
                Ok(rule.route)
            }
            rules::Verdict::Block(e) => {
                // Not remembered: every execute under these rules is checked (and blocked).
                st.rule = None;
                Err(e)
            }
        }
    }

    /// An execute runs on the cluster its statement was prepared on (see `clusters`).
    fn enter_stmt_cluster(&mut self, id: u32) -> Result<(), MyError> {
        if self.topo.clusters.len() == 1 && self.cluster == crate::topology::MAIN {
            return Ok(());
        }
        let Some(st) = self.prepared.stmts.get(&id) else {
            return Ok(());
        };
        match self.topo.cluster_index(&st.cluster) {
            Some(to) => self.enter_cluster(to),
            None => Err(MyError::new(
                1105,
                b"HY000",
                format!(
                    "rwsplit: cluster {:?}, where this statement was prepared, was removed; \
                     prepare it again",
                    st.cluster
                ),
            )),
        }
    }

    /// One attempt of an execute on `t`: the statement is prepared there if it is not yet, and
    /// the execute is rewritten for that backend (its statement id, the parameter types if it
    /// never got them, the long data).
    pub(super) async fn execute_attempt(
        &mut self,
        t: Target,
        plan: &ExecPlan<'_>,
        failover: Watch,
    ) -> std::io::Result<Attempt> {
        let bs = match self.ensure_prepared(t, plan.id).await {
            Ok(bs) => bs,
            Err(e) if self.conn_mut(t).is_none_or(|c| c.broken) => {
                return Ok(Attempt::Failed(e.to_string()))
            }
            Err(e) => return Ok(Attempt::Refused(e)),
        };
        let flag_at = plan.flag_at;
        // Built in a reused buffer.
        let mut payload = std::mem::take(&mut self.prepared.exec_buf);
        payload.clear();
        payload.extend_from_slice(plan.pkt);
        payload[1..5].copy_from_slice(&bs.id.to_le_bytes());
        let mut types_now = bs.types_bound || plan.client_sent_types;
        if !types_now {
            if let Some(types) = self
                .prepared
                .stmts
                .get(&plan.id)
                .and_then(|s| s.param_types.as_deref())
            {
                payload[flag_at] = 1;
                payload.splice(flag_at + 1..flag_at + 1, types.iter().copied());
                types_now = true;
            }
        }
        if let Some(st) = self.prepared.stmts.get_mut(&plan.id) {
            st.last_role = Some(conn_role(t));
        }
        let Some(conn) = self.conn_mut(t) else {
            self.prepared.exec_buf = payload;
            return Ok(Attempt::Failed("not connected".into()));
        };
        for (param, data) in &plan.long_data {
            let mut p = Vec::with_capacity(7 + data.len());
            p.push(COM_STMT_SEND_LONG_DATA);
            p.extend_from_slice(&bs.id.to_le_bytes());
            p.extend_from_slice(&param.to_le_bytes());
            p.extend_from_slice(data);
            if conn.queue_command(&p).is_err() {
                conn.broken = true;
            }
        }
        if let Some(b) = conn.stmts.get_mut(&plan.id) {
            b.types_bound = types_now;
        }
        let sent = conn.send_command(&payload).await;
        self.prepared.exec_buf = payload;
        let client_packets = (plan.pkt.len() / MAX_CHUNK + 1) as u8;
        Ok(match sent {
            Ok(sent) => match self
                .relay(
                    t,
                    Expect::Results { binary: true },
                    client_packets.wrapping_sub(sent),
                    failover,
                )
                .await?
            {
                Relayed::Done(scanner) => Attempt::Done(Answer::Relayed(scanner)),
                Relayed::Failed { error } => Attempt::Failed(error),
                Relayed::ReadOnly { code } => Attempt::ReadOnly { code },
            },
            Err(e) => Attempt::Failed(e.to_string()),
        })
    }

    pub(super) fn send_long_data(&mut self, pkt: &[u8]) {
        // No response is ever sent for this command, errors included; the execute reports them.
        let (Some(id), Some(param)) = (self.stmt_id(pkt), pkt.get(5..7)) else {
            return;
        };
        // One statement's long data, and all the session's together, stay within
        // max_packet_size: 16 statements of 60 MiB each took the proxy to 1 GiB before; and
        // all sessions' together within `[limits] long_data_total`.
        let max = self.shared.max_packet(&self.topo.config.limits);
        let total = self.topo.config.limits.long_data_total as usize;
        let session_total: usize = self
            .prepared
            .stmts
            .values()
            .map(|s| s.long_data_held.bytes())
            .sum();
        if let Some(st) = self.prepared.stmts.get_mut(&id) {
            if st.long_data_overflow {
                return; // already refused until the next execute or reset
            }
            let data = &pkt[7..];
            let over = st.long_data_held.bytes() + data.len() > max
                || session_total + data.len() > max
                || !st.long_data_held.take(data.len(), total);
            if over {
                st.long_data.clear();
                st.long_data_held.clear();
                st.long_data_overflow = true;
                if let Some(suppressed) =
                    crate::log_limit::LONG_DATA_DROPPED.check(crate::log_limit::LISTENER)
                {
                    warn!(client = %self.peer, max_packet_size = max, long_data_total = total, suppressed, "long data over max_packet_size (per statement or per session) or over long_data_total (all sessions) dropped; the execute gets an error");
                }
                return;
            }
            st.long_data
                .push((u16::from_le_bytes([param[0], param[1]]), data.to_vec()));
        }
    }

    pub(super) async fn close_stmt(&mut self, pkt: &[u8]) {
        let Some(id) = self.stmt_id(pkt) else { return };
        if self.prepared.stmts.remove(&id).is_none() {
            return;
        }
        if self.prepared.last_prepared == Some(id) {
            self.prepared.last_prepared = None;
        }
        // Wherever it was prepared, also on the connections of clusters the session left.
        let here = [self.master.as_mut(), self.replica.as_mut()].into_iter();
        let parked = self.parked.iter_mut().flat_map(|p| p.conns_mut());
        for conn in here.flatten().chain(parked) {
            if let Some(bs) = conn.stmts.remove(&id) {
                let mut p = vec![COM_STMT_CLOSE];
                p.extend_from_slice(&bs.id.to_le_bytes());
                // No response: it rides along with the next command on that connection.
                if conn.queue_command(&p).is_err() {
                    conn.broken = true;
                }
            }
        }
    }

    /// The backend holding statement `id`'s execution state (cursor, long data).
    pub(super) fn stmt_target(&self, id: u32) -> Option<Target> {
        let st = self.prepared.stmts.get(&id)?;
        let t = match st.last_role? {
            Role::Master => Target::Master,
            Role::Replica => Target::Replica,
        };
        let conn = match t {
            Target::Master => self.master.as_ref(),
            Target::Replica => self.replica.as_ref(),
        }?;
        conn.stmts.contains_key(&id).then_some(t)
    }

    pub(super) async fn reset_stmt(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let Some(id) = self.stmt_id(pkt) else {
            return self
                .send_error(&MyError::wrong_arguments("mysqld_stmt_reset"))
                .await;
        };
        let Some(st) = self.prepared.stmts.get_mut(&id) else {
            return self
                .send_error(&MyError::unknown_stmt(id, "mysqld_stmt_reset"))
                .await;
        };
        st.long_data.clear();
        st.long_data_held.clear();
        st.long_data_overflow = false;
        if let Err(e) = self.enter_stmt_cluster(id) {
            return self.send_error(&e).await;
        }
        // Where the statement last ran; if that backend cannot serve any more, wherever
        // `ready` falls back to (the statement is prepared there first).
        let wanted = self.stmt_target(id).unwrap_or(Target::Master);
        let target = match self.ready(wanted).await {
            Ok(t) => t,
            Err(e) => return self.send_error(&e).await,
        };
        let bs = match self.ensure_prepared(target, id).await {
            Ok(bs) => bs,
            Err(e) => return self.send_error(&e).await,
        };
        let mut p = pkt.to_vec();
        p[1..5].copy_from_slice(&bs.id.to_le_bytes());
        self.forward(target, &p, Expect::Single, false).await?;
        Ok(())
    }

    pub(super) async fn fetch(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let Some(id) = self.stmt_id(pkt) else {
            return self
                .send_error(&MyError::wrong_arguments("mysqld_stmt_fetch"))
                .await;
        };
        if let Err(e) = self.enter_stmt_cluster(id) {
            return self.send_error(&e).await;
        }
        let Some(target) = self.stmt_target(id) else {
            return self
                .send_error(&MyError::unknown_stmt(id, "mysqld_stmt_fetch"))
                .await;
        };
        let bs = self
            .conn_mut(target)
            .and_then(|c| c.stmts.get(&id).copied())
            .expect("stmt_target checked");
        let mut p = pkt.to_vec();
        p[1..5].copy_from_slice(&bs.id.to_le_bytes());
        // A cursor lives on one connection: no replay, no re-route.
        let conn = self.conn_mut(target).expect("stmt_target checked");
        if let Err(e) = conn.send_command(&p).await {
            conn.broken = true;
            return self
                .send_error(&MyError::backend_unavailable(
                    conn_role_name(target),
                    "",
                    &e.to_string(),
                ))
                .await;
        }
        // ER_STMT_HAS_NO_OPEN_CURSOR names the statement: the client knows it by the proxy's
        // id, not the backend's. The first packet is read whole to tell (one packet either
        // way: the rows, or this error).
        let first = conn.io.read_raw_packet().await;
        match first {
            Ok(n) if n > 6 && conn.io.rbuf[4] == 0xFF => {
                let code = u16::from_le_bytes([conn.io.rbuf[5], conn.io.rbuf[6]]);
                if code == 1421 {
                    conn.io.consume(n);
                    return self
                        .send_error(&MyError::new(
                            1421,
                            b"HY000",
                            format!("The statement ({id}) has no open cursor"),
                        ))
                        .await;
                }
            }
            Ok(_) => {}
            Err(e) => {
                conn.broken = true;
                let (addr, was_trx) = self.backend_failed(target);
                return self
                    .report_failure(target, &addr, &e.to_string(), was_trx)
                    .await;
            }
        }
        if let Relayed::Failed { error } =
            self.relay(target, Expect::Rows, 0, Watch::Nothing).await?
        {
            let (addr, was_trx) = self.backend_failed(target);
            self.report_failure(target, &addr, &error, was_trx).await?;
        }
        Ok(())
    }
}
