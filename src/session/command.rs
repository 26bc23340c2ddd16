//! The command loop: waits for the client (and for KILL, reloads, shutdown, idle hand-back),
//! reads one command and dispatches it; text queries are routed and relayed here.

use super::*;

/// A statement that leaves no trace on the connection it ran on: a single plain SELECT that
/// assigned nothing, counted no SQL_CALC_FOUND_ROWS, and ended without warnings or error (either would fill the diagnostics
/// area a later SHOW WARNINGS reads). Such a connection needs no reset before the next session.
pub(super) fn leaves_nothing(c: &Classification, scanner: &Scanner) -> bool {
    c.kind == Kind::Select
        && c.route == Route::Replica
        && !c.multi
        && !c.record
        && !c.user_var_write
        && !c.calc_found_rows
        && c.temp_ops.is_empty()
        && !scanner.error
        && scanner.warnings == 0
        && !scanner.state_changed()
        && !scanner
            .status
            .is_some_and(|s| s.contains(StatusFlags::SERVER_STATUS_IN_TRANS))
}

impl Session {
    pub(super) async fn command_loop(&mut self) {
        let idle = self
            .shared
            .topology
            .load()
            .config
            .limits
            .idle_client_timeout;
        let idle_or_never = idle.unwrap_or(Duration::from_secs(10 * 365 * 86400));
        // What wakes the wait besides the client (KILL, reloads, shutdown): one future for
        // the whole session, polled again only after it fired.
        let attention = self.attention.clone();
        let mut notified = std::pin::pin!(attention.notified());
        // One timer for the whole session, for the idle timeout and for handing idle backend
        // connections back (multiplexing). It is not moved per statement: when it fires, the
        // time of the last command decides what is due, and it is set again from there. A
        // busy session so pays at most one timer per `multiplex_after`, not one per statement.
        let mut last_active = tokio::time::Instant::now();
        let mut timer = Box::pin(tokio::time::sleep_until(last_active + idle_or_never));
        if matches!(self.attend(), Flow::Quit) {
            return;
        }
        loop {
            self.client.reset_seq();
            let mut buf = std::mem::take(&mut self.buf);
            let idle_due = last_active + idle_or_never;
            // Wait for the client without holding a half-read packet, so a topology change or
            // a KILL can be handled in between (reading a packet is not cancel-safe).
            if self.client.rbuf.is_empty() {
                let release_due = self.release_after().map(|after| last_active + after);
                if let Some(due) = release_due {
                    if timer.deadline() > due {
                        timer.as_mut().reset(due);
                    }
                }
                tokio::select! {
                    biased;
                    // Reading into the buffer is cancel-safe; readiness of the socket would
                    // not do for TLS, whose layer may already hold decrypted bytes.
                    r = self.client.fill() => {
                        if r.is_err() {
                            self.buf = buf;
                            return;
                        }
                    }
                    _ = &mut notified => {
                        notified.set(attention.notified());
                        self.buf = buf;
                        if matches!(self.attend(), Flow::Quit) {
                            return;
                        }
                        continue;
                    }
                    _ = &mut timer => {
                        self.buf = buf;
                        let now = tokio::time::Instant::now();
                        if now >= idle_due {
                            debug!(client = %self.peer, "idle timeout");
                            return;
                        }
                        if release_due.is_some_and(|due| now >= due) {
                            self.release_idle();
                        }
                        let next = match self.release_after() {
                            Some(after) if last_active + after > now => last_active + after,
                            _ => idle_due,
                        };
                        timer.as_mut().reset(next);
                        continue;
                    }
                }
            }
            // A packet that started arriving must finish within `[timeouts] client_read` (the
            // server's net_read_timeout), and within the idle timeout too: half a packet and
            // silence must not hold the session for hours.
            // The timer is moved only when the packet is not whole at the first look (most
            // arrive in one read): no per-statement timer cost.
            let read: Result<Result<(), ReadError>, ()> = {
                let client_read = self.topo.config.timeouts.client_read;
                let mut due = idle_due;
                let mut armed = false;
                let packet = self.client.read_packet(&mut buf);
                tokio::pin!(packet);
                loop {
                    tokio::select! {
                        biased;
                        r = &mut packet => break Ok(r),
                        _ = std::future::ready(()), if !armed => {
                            armed = true;
                            due = (tokio::time::Instant::now() + client_read).min(idle_due);
                            timer.as_mut().reset(due);
                        }
                        _ = &mut timer => {
                            if tokio::time::Instant::now() >= due {
                                break Err(());
                            }
                            timer.as_mut().reset(due);
                        }
                    }
                }
            };
            self.cmd_started = std::time::Instant::now();
            // A change while the client kept sending (no wait above) is taken here.
            self.refresh_topology();
            let flow = match read {
                Err(()) => {
                    info!(client = %self.peer, "a client packet did not arrive whole within [timeouts] client_read; closing");
                    Flow::Quit
                }
                Ok(Err(ReadError::Closed)) => Flow::Quit,
                Ok(Err(ReadError::TooLarge)) => {
                    // As the server does: ERR 1153, then the connection closes.
                    let max = self.shared.max_packet(&self.topo.config.limits);
                    if let Some(suppressed) =
                        crate::log_limit::PACKET_TOO_LARGE.check(crate::log_limit::LISTENER)
                    {
                        info!(client = %self.peer, max_packet_size = max, suppressed, "client packet larger than [limits] max_packet_size; answered 1153 and closed");
                    }
                    let _ = self
                        .client
                        .answer_too_large(&MyError::packet_too_large().to_payload())
                        .await;
                    Flow::Quit
                }
                Ok(Err(ReadError::OutOfSync)) => {
                    let _ = self.send_error(&MyError::packets_out_of_order()).await;
                    Flow::Quit
                }
                Ok(Err(e)) => {
                    debug!(client = %self.peer, error = %e, "client read failed");
                    Flow::Quit
                }
                Ok(Ok(())) => match self.dispatch(&buf).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                        info!(client = %self.peer, error = %e, "closing the client connection");
                        Flow::Quit
                    }
                    Err(e) => {
                        debug!(client = %self.peer, error = %e, "client write failed");
                        Flow::Quit
                    }
                },
            };
            self.buf = buf;
            if matches!(flow, Flow::Quit) || self.fatal {
                return;
            }
            // Idle from the end of the answer: a statement that ran for a while does not count
            // toward the idle timeout or toward handing its connections back.
            last_active = tokio::time::Instant::now();
        }
    }

    /// The session was woken while waiting for its client: killed, shutting down, or the
    /// topology changed (reload, health).
    fn attend(&mut self) -> Flow {
        if self.attention.is_killed() {
            debug!(client = %self.peer, "killed by KILL CONNECTION");
            return Flow::Quit;
        }
        if *self.shutdown_rx.borrow() {
            debug!(client = %self.peer, "closing for shutdown");
            return Flow::Quit;
        }
        self.refresh_topology();
        Flow::Continue
    }

    /// Takes the newest topology if it changed since the last look, and re-picks backends.
    fn refresh_topology(&mut self) {
        if self.topo_rx.has_changed().unwrap_or(false) {
            self.topo_rx.mark_unchanged();
            self.topo = self.shared.topology.load_full();
            self.on_topology_change();
        }
    }

    /// Multiplexing: how long this session may idle before its clean backend connections go
    /// back to the pool; None while it holds none that could (settings as of now: a reload
    /// may change them).
    fn release_after(&self) -> Option<Duration> {
        if !self.any_releasable() {
            return None;
        }
        let topo = self.topo.clone();
        let r = &topo.config.routing;
        r.multiplex.then_some(r.multiplex_after)
    }

    /// Handles one client command. Err means the client connection is gone.
    pub(super) async fn dispatch(&mut self, pkt: &[u8]) -> std::io::Result<Flow> {
        let Some(&cmd) = pkt.first() else {
            self.send_error(&MyError::unknown_command()).await?;
            return Ok(Flow::Continue);
        };
        // Set for a statement by its placement only.
        self.stmt_db = None;
        // Set for a statement that shows the tracking settings only (`query`).
        self.show_client_tracking = false;
        self.keep_client_tracking = false;
        match cmd {
            COM_QUIT => return Ok(Flow::Quit),
            COM_QUERY => return self.query(pkt).await,
            COM_INIT_DB => self.init_db(pkt).await?,
            COM_PING | COM_STATISTICS => {
                let target = self.current();
                self.forward(target, pkt, Expect::Single, false).await?;
            }
            COM_FIELD_LIST => {
                // COM_FIELD_LIST table [wildcard]: routed as the SHOW COLUMNS it stands for.
                let table = pkt[1..].split(|&b| b == 0).next().unwrap_or_default();
                let mut sql = b"SHOW COLUMNS FROM `".to_vec();
                for &b in table {
                    sql.push(b);
                    if b == b'`' {
                        sql.push(b'`');
                    }
                }
                sql.push(b'`');
                let c = self.analyze(&sql);
                // Checked like the statement it stands for: a block holds for it too.
                if let rules::Verdict::Block(e) = self.rule_verdict(&c, &sql) {
                    self.send_error(&e).await?;
                    return Ok(Flow::Continue);
                }
                let d = self.decide(&c, Protocol::Text);
                self.forward(d.target, pkt, Expect::Rows, d.retry).await?;
            }
            // The server's processlist, as `SHOW PROCESSLIST` shows it: the master's.
            COM_PROCESS_INFO => {
                let expect = Expect::Results { binary: false };
                self.forward(Target::Master, pkt, expect, false).await?;
            }
            // Never passed on (an account allowed to would stop the server or stream its
            // binlog through a client connection): the answer an account without the
            // privilege gets.
            COM_SHUTDOWN => {
                self.send_error(&MyError::specific_access_denied("SHUTDOWN"))
                    .await?
            }
            COM_DEBUG => {
                self.send_error(&MyError::specific_access_denied("SUPER"))
                    .await?
            }
            COM_BINLOG_DUMP | COM_REGISTER_SLAVE => {
                self.send_error(&MyError::specific_access_denied("REPLICATION SLAVE"))
                    .await?
            }
            COM_SET_OPTION => self.set_option(pkt).await?,
            COM_RESET_CONNECTION => self.reset_connection(pkt).await?,
            COM_CHANGE_USER => return self.change_user(pkt).await,
            COM_STMT_PREPARE => self.prepare(pkt).await?,
            COM_STMT_EXECUTE => self.execute(pkt).await?,
            COM_STMT_SEND_LONG_DATA => self.send_long_data(pkt),
            COM_STMT_CLOSE => self.close_stmt(pkt).await,
            COM_STMT_RESET => self.reset_stmt(pkt).await?,
            COM_STMT_FETCH => self.fetch(pkt).await?,
            COM_PROCESS_KILL => {
                let Some(id) = pkt
                    .get(1..5)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                else {
                    self.send_error(&MyError::wrong_arguments("KILL")).await?;
                    return Ok(Flow::Continue);
                };
                return self.kill(id as u64, false).await;
            }
            _ => {
                debug!(client = %self.peer, command = cmd, "unsupported command");
                self.send_error(&MyError::unknown_command()).await?;
            }
        }
        Ok(Flow::Continue)
    }

    pub(super) async fn query(&mut self, pkt: &[u8]) -> std::io::Result<Flow> {
        let sql = &pkt[1..];
        let mut c = self.analyze(sql);
        let rule = match self.rule_verdict(&c, sql) {
            rules::Verdict::Run(rule) => rule,
            rules::Verdict::Block(e) => {
                self.send_error(&e).await?;
                return Ok(Flow::Continue);
            }
        };
        if let Some(kill) = c.kill {
            // Never forwarded as it is: a thread id means something else on each server.
            return self.kill_statement(kill).await;
        }
        match self.place_statement(&c, sql, &rule) {
            // On another cluster: its temporary tables are the ones that count.
            Ok(true) if c.mentions_named || !self.temp_tables.is_empty() => {
                c = self.analyze(sql);
            }
            Ok(_) => {}
            Err(e) => {
                self.send_error(&e).await?;
                return Ok(Flow::Continue);
            }
        }
        let started = self.cmd_started;
        if c.kind == Kind::Other && matches!(c.route, Route::Master) {
            METRICS.unclassified.inc();
            debug!(client = %self.peer, "statement not classified; sent to the master");
        }
        // A statement that shows the tracking settings sees the client's, not the proxy's —
        // unless it also asks about the previous statement, which the SET that swaps them
        // would replace (ROW_COUNT(), FOUND_ROWS(), warnings): then it sees the proxy's.
        self.show_client_tracking = c.shows_tracking
            && !c.kinds.contains(Kind::Set)
            && !c.multi
            && !tracked::about_previous(sql);
        // And a statement about the previous one (ROW_COUNT(), SHOW WARNINGS) after such a
        // statement runs with the client's settings still: putting the proxy's back first
        // would replace the previous statement's diagnostics.
        self.keep_client_tracking =
            c.depends_on_previous || c.reads_found_rows || c.route == Route::Last;
        let d = self.decide_ruled(&c, Protocol::Text, rule.route);
        let mut target = d.target;
        if d.consistent_read {
            // Read-your-writes: only a replica that has this session's writes.
            target = self.consistent(target).await;
        }
        let _ticket = self.write_ticket(&c, target);
        let expect = Expect::Results { binary: false };
        let forwarded = if c.use_db.is_some() {
            self.forward_selecting_db(target, pkt, expect, d.retry)
                .await
        } else {
            self.forward(target, pkt, expect, d.retry).await
        };
        let Some((used, scanner)) = forwarded? else {
            return Ok(Flow::Continue);
        };
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
        if used == Target::Replica && leaves_nothing(&c, &scanner) && self.routing.trx().is_none() {
            if let Some(conn) = self.replica.as_mut() {
                conn.mark_clean();
            }
        }
        self.after_statement(&c, sql, used, &scanner, Protocol::Text)
            .await;
        if c.release && !scanner.error {
            // COMMIT RELEASE: the server closed that connection; so does the proxy, the client's.
            if let Some(conn) = self.conn_mut(used) {
                conn.broken = true;
            }
            return Ok(Flow::Quit);
        }
        Ok(Flow::Continue)
    }

    /// Metrics and digests for one relayed statement.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn account(
        &self,
        wanted: Target,
        used: Target,
        kind: Kind,
        started: Instant,
        scanner: &Scanner,
        digest: u64,
        sql: &[u8],
        bytes_in: usize,
    ) {
        let elapsed = started.elapsed();
        let route = match (wanted, used) {
            (_, Target::Replica) => RouteLabel::Replica,
            (Target::Replica, Target::Master) => RouteLabel::Fallback,
            _ => RouteLabel::Master,
        };
        METRICS.query(route, kind);
        METRICS.bytes_in.inc_by(bytes_in as u64 + 4);
        METRICS.bytes_out.inc_by(scanner.bytes);
        let conn = match used {
            Target::Master => self.master.as_ref(),
            Target::Replica => self.replica.as_ref(),
        };
        if let Some(conn) = conn {
            conn.latency.observe(elapsed.as_secs_f64());
        }
        let label = match route {
            RouteLabel::Master => "master",
            RouteLabel::Replica => "replica",
            RouteLabel::Fallback => "fallback",
        };
        self.shared
            .digests
            .record_key(digest, sql, elapsed, scanner.rows, label);
    }
}
