//! rwsplit: a MySQL/MariaDB read/write-splitting proxy meant to run beside every app server.
//!
//! A query's path through the modules: `server` (accept) → `session::login` (with
//! `protocol::handshake`) → `session::command` (the command loop) → `classify` (one scan of the
//! statement) → `rules` (the operator's `[[rules]]`: block, or a route) → `route` (the routing
//! decision, pure) → `session::backends` (make the connection
//! ready: `session::replay`, `session::consistency`) → `backend` (relay the answer as raw bytes)
//! → `metrics`.
//!
//! Beside it: `topology` (backend types and the immutable topology snapshot), `shared` (the
//! runtime state every session uses), `tls`, `pool` (backend connections kept between sessions
//! and shared by idle ones), `monitor` (health), `reload` (config changes), `metrics_http`,
//! `admin`, `log_limit` (rate limits for repeated warnings), `long_data` (the process-wide
//! budget for buffered COM_STMT_SEND_LONG_DATA) and `privileges` (accounts that
//! may write on a read_only replica). No import cycles: `topology`,
//! `metrics`, `classify`, `rules`, `route`, `gtid`, `registry`, `digest`, `log_limit` and
//! `privileges::grants` depend on no runtime module; `shared` sits above `backend`, `pool`,
//! `accounts` and `privileges` (whose `watch` alone reads `shared`).

pub mod accounts;
pub mod admin;
pub mod backend;
pub mod classify;
pub mod cli;
pub mod config;
pub mod digest;
pub mod gtid;
pub mod log_limit;
pub mod login_throttle;
pub mod long_data;
pub mod metrics;
pub mod metrics_http;
pub mod monitor;
pub mod pool;
pub mod privileges;
pub mod protocol;
pub mod registry;
pub mod reload;
pub mod route;
pub mod rules;
pub mod server;
pub mod session;
pub mod shared;
pub mod tls;
pub mod topology;
pub mod topology_file;
pub mod writes_in_flight;
