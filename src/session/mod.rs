//! One client session: login, the command loop, routing each command to the master or a
//! replica, and carrying the session's state to whichever backend runs the next statement.
//!
//! The path of a query: `server` accepts → `login` (with `protocol::handshake`) → `command`
//! reads and dispatches it → `classify` scans it once → `routing` decides where it runs →
//! `backends` makes that connection ready (`replay`, `consistency`) and relays the answer;
//! `rules` applies the operator's query rules between the scan and the decision, and `clusters`
//! moves the session to the cluster a statement belongs to.
//! Prepared statements and the control commands (KILL, CHANGE USER, RESET) have their own files.

mod backends;
mod clusters;
mod command;
mod consistency;
mod control;
mod login;
mod prepared;
mod replay;
mod routing;
mod rules;
mod tracked;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::backend::{BackendConn, BackendStmt, ConnectError, LoginParams, RelayError, Watch};
use crate::classify::{self, Classification, Kind, Route};
use crate::config::Consistency;
use crate::gtid::GtidPos;
use crate::metrics::{RouteLabel, METRICS};
use crate::pool::PoolKey;
use crate::protocol::auth::Credential;
use crate::protocol::command::*;
use crate::protocol::error::MyError;
use crate::protocol::handshake::{self, Login, LoginError};
use crate::protocol::packet::{PacketStream, ReadError};
use crate::protocol::scan::{Expect, Scanner};
use crate::protocol::{StatusFlags, MAX_CHUNK};
use crate::registry::SessionEntry;
use crate::route::{self, Decision, Protocol, RoutingState, Target};
use crate::shared::Shared;
use crate::tls::Stream;
use crate::topology::{Backend, Role, State, Topology};

/// A backend connection idle longer than this is checked for a server-side close before use.
pub(super) const IDLE_CHECK_AFTER: Duration = Duration::from_millis(500);

/// How often a read is retried on another backend after its replica failed.
pub(super) const MAX_READ_RETRIES: u32 = 3;
/// How long a backend that refused a connection gets no new sessions.
pub(super) const FAILED_BACKEND_PAUSE_MS: u64 = 2000;

pub struct Session {
    shared: Arc<Shared>,
    pub id: u32,
    peer: SocketAddr,
    client: PacketStream<Stream>,
    login: Login,
    /// What the backends are logged in to with (a password, or a passthrough hash).
    credential: Credential,
    master: Option<BackendConn>,
    replica: Option<BackendConn>,
    /// Where statements go: transaction, pin, previous statement (see `route`).
    routing: RoutingState,
    /// Temporary tables this session created: statements naming them go to the master.
    temp_tables: Vec<String>,
    /// The client character set the server reads this session's statements in (handshake
    /// collation, then SET NAMES / CHARACTER SET / character_set_client): the classifier
    /// reads them in the same set.
    charset: classify::Charset,
    /// Session state carried to other backends (`replay`).
    replay: replay::Replay,
    /// What the client would see of the servers' session-state reports on a direct
    /// connection: its capability and its own tracking settings (`tracker`).
    track_view: crate::protocol::tracker::ClientView,
    /// The statement at hand shows the session's tracking settings: its backend connection
    /// runs it with the client's (`BackendConn::client_tracking`).
    show_client_tracking: bool,
    /// The statement at hand is about the previous one: a connection still running with the
    /// client's tracking settings keeps them for it (`replay::sync_state`).
    keep_client_tracking: bool,
    /// Prepared statements by proxy id (`prepared`).
    prepared: prepared::Prepared,
    buf: Vec<u8>,
    /// When the command being handled arrived: its latency starts here, and the backend
    /// idle checks measure from it (one clock read per command).
    cmd_started: Instant,
    /// Wakes the session waiting for its client: `KILL <this id>`, reloads, shutdown.
    attention: Arc<crate::registry::Attention>,
    /// The session cannot go on (its transaction's backend died): close after this command.
    fatal: bool,
    /// Topology version last acted on (reloads, health changes).
    topo_rx: tokio::sync::watch::Receiver<u64>,
    /// The topology as of that version: one snapshot per statement, without a load of the
    /// shared one at every step (`refresh_topology`).
    topo: Arc<Topology>,
    shutdown_rx: tokio::sync::watch::Receiver<bool>,
    /// Read-your-writes positions (`consistency`).
    rw: consistency::ReadYourWrites,
    /// The replica connection the last statement ran on was handed back to the pool while the
    /// session was idle (multiplexing): statements about "the last statement" (SHOW WARNINGS)
    /// still belong on a replica connection, and any clean one answers as that one would.
    replica_released: bool,
    /// The cluster the session works on (`clusters`): its position in `topo` and its name
    /// (the position may change with a reload). `master`, `replica`, `routing`,
    /// `temp_tables` and `rw` are this cluster's.
    cluster: usize,
    cluster_name: Arc<str>,
    /// Clusters the session worked on and left, with their connections and state.
    parked: Vec<clusters::Parked>,
    /// The current cluster owns the session's database (connections there select it).
    db_here: bool,
    /// A database the statement at hand names on the current cluster, selected for it when
    /// the session's own database is not there (see `clusters::place_statement`).
    stmt_db: Option<String>,
    /// The current cluster's shared read-your-writes positions.
    positions: Arc<crate::shared::Positions>,
    /// What the master connection holds that the proxy cannot rebuild on another connection
    /// besides what the routing state shows (see `master_state_at_risk`): a named lock, a
    /// SQL prepared statement.
    master_holds: Option<&'static str>,
    /// That state was lost with its connection: the client connection closes without another
    /// answer (its library reports the lost connection, 2013, as with a direct connection),
    /// never a quiet reconnect that would let a lock or a temporary table vanish unnoticed.
    state_lost: bool,
    /// The last statement was refused by a replica as read-only and ran on the master
    /// instead (`run_command`): `after_statement` treats it as the write it turned out to be.
    rerouted_write: bool,
    /// The rules in force at the last statement placed outside a transaction: an open
    /// transaction's statements are placed by them (`clusters::place_statement`).
    trx_rules: Option<crate::rules::Rules>,
}

/// What one attempt of `Session::run_command` sends to the chosen backend.
enum Command<'a> {
    /// A command whose response is relayed to the client as it arrives.
    Relay { pkt: &'a [u8], expect: Expect },
    /// COM_STMT_PREPARE: the whole answer is read before the client gets any of it.
    Prepare { pkt: &'a [u8] },
    /// COM_STMT_EXECUTE, prepared on the chosen backend first if it is not there yet.
    Execute(&'a prepared::ExecPlan<'a>),
}

impl Command<'_> {
    fn name(&self) -> &'static str {
        match self {
            Command::Relay { .. } => "query",
            Command::Prepare { .. } => "prepare",
            Command::Execute(_) => "execute",
        }
    }
}

/// A command's answer, once the backend gave it.
enum Answer {
    /// Relayed to the client; the scanner knows how it ended.
    Relayed(Scanner),
    /// A prepare's raw answer (not sent yet) and, if it succeeded, (statement id, params,
    /// columns).
    Prepared {
        raw: Vec<u8>,
        ok: Option<(u32, u16, u16)>,
    },
}

/// How one attempt went.
enum Attempt {
    Done(Answer),
    /// The backend failed before any byte reached the client.
    Failed(String),
    /// The command cannot run; this error is the client's answer.
    Refused(MyError),
    /// A replica refused the statement as read-only before running any of it: it writes
    /// after all, and runs on the master instead.
    ReadOnly {
        code: u16,
    },
}

/// Whether a failed attempt may run again elsewhere.
#[derive(Clone, Copy)]
struct Retry {
    /// A plain read: another replica or the master may answer instead.
    allowed: bool,
    /// The next replica must have this session's writes (read-your-writes).
    consistent: bool,
}

/// How relaying one response ended.
enum Relayed {
    Done(Scanner),
    /// The backend failed before any byte reached the client.
    Failed {
        error: String,
    },
    /// A replica refused the statement as read-only (1290/1836) before running any of it.
    ReadOnly {
        code: u16,
    },
}

enum Flow {
    Continue,
    Quit,
}

impl Session {
    async fn send_error(&mut self, e: &MyError) -> std::io::Result<()> {
        if self.state_lost {
            // No answer at all: the client sees its connection end, as a direct one would.
            return Err(std::io::Error::other(
                "the master connection and the session state it held are gone",
            ));
        }
        self.client.write_packet(&e.to_payload()).await
    }
}

pub(super) fn conn_role(t: Target) -> Role {
    match t {
        Target::Master => Role::Master,
        Target::Replica => Role::Replica,
    }
}

pub(super) fn conn_role_name(t: Target) -> &'static str {
    conn_role(t).as_str()
}
