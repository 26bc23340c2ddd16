//! rwsplit: a MySQL/MariaDB read/write-splitting proxy meant to run beside every app server.
//!
//! A query's path through the modules: `server` (accept) → `protocol::handshake` (login) →
//! `session` (command loop) → `classify` (statement → route) → `topology` (which backend) →
//! `backend` (relay the answer as raw bytes). Beside it: `tls` (the stream under both sides,
//! plain or TLS), `pool` (backend connections kept between sessions and shared by idle ones),
//! `monitor` (health), `topology::reload` (config changes), `metrics` and `admin`.

pub mod accounts;
pub mod admin;
pub mod backend;
pub mod classify;
pub mod cli;
pub mod config;
pub mod digest;
pub mod gtid;
pub mod metrics;
pub mod monitor;
pub mod pool;
pub mod protocol;
pub mod registry;
pub mod route;
pub mod server;
pub mod session;
pub mod tls;
pub mod topology;
pub mod topology_file;
pub mod writes_in_flight;
