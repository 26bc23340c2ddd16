//! Command line: run the proxy, or check a config file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::shared::Shared;

/// rwsplit — a MySQL/MariaDB read/write-splitting proxy. Applications connect to it as to a
/// MySQL server; writes go to the master, reads to the replicas.
#[derive(Parser, Debug)]
#[command(name = "rwsplit", version, about, long_about = None)]
pub struct Cli {
    /// Path of the configuration file (TOML).
    #[arg(short, long, default_value = "proxy.toml", global = true)]
    pub config: PathBuf,

    /// Log as JSON lines instead of human-readable text (overrides [log] format).
    #[arg(long, global = true)]
    pub log_json: bool,

    /// Do not watch the config file for changes (reload on SIGHUP only).
    #[arg(long, global = true)]
    pub no_watch: bool,

    /// On SIGTERM/SIGINT, how many seconds running statements get to finish before the
    /// remaining client connections are closed.
    #[arg(long, default_value_t = 30, global = true)]
    pub drain_timeout: u64,

    /// Threads serving clients: 1 runs everything on one thread (the cheapest per query on a
    /// small shared node); N > 1 runs N single-threaded runtimes, each with its own listening
    /// socket on the same port (SO_REUSEPORT: the kernel spreads new connections over them),
    /// so a session and its backend connections stay on one thread and never wake another;
    /// 0 one per core.
    #[arg(long, default_value_t = 1, global = true)]
    pub threads: usize,

    /// Write the proxy's pid here (lifecycle hooks send SIGHUP to it after editing the config).
    #[arg(long, global = true)]
    pub pid_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the proxy (the default when no subcommand is given).
    Run,
    /// Validate a configuration file and print every problem with its line number (offline:
    /// nothing is contacted). Exit status 0 valid, 2 invalid.
    CheckConfig {
        /// The file to check (defaults to --config).
        file: Option<PathBuf>,
        /// Also log in to every replica with the configured accounts (and, with auth
        /// passthrough, read the user table with the monitor account) and print a WARNING line
        /// for each account that may write there despite read_only (READ_ONLY ADMIN; SUPER
        /// before MariaDB 10.11; ALL PRIVILEGES) or whose grants could not be read. Exit
        /// status 1 when an account may write on a replica, else 3 when an account could not
        /// be checked, else 0.
        #[arg(long)]
        connect: bool,
    },
    /// Change the topology in the config file (for cluster lifecycle hooks). The file is
    /// rewritten atomically with comments kept, under a lock; the running proxy picks the
    /// change up by itself (file watch), or at once when --pid-file names it (SIGHUP).
    #[command(subcommand)]
    Topology(TopologyCommand),
}

#[derive(Subcommand, Debug)]
pub enum TopologyCommand {
    /// Add a replica (or change its weight if it is already there).
    AddReplica {
        /// host:port of the replica.
        address: String,
        /// Share of reads (default 1; 0 = no reads).
        #[arg(long)]
        weight: Option<u32>,
        /// The [[clusters]] entry to edit (default: main, the top-level [master]/[[replicas]]).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Remove a replica; running statements on it finish, new reads go elsewhere.
    RemoveReplica {
        /// host:port of the replica.
        address: String,
        /// The [[clusters]] entry to edit (default: main, the top-level [master]/[[replicas]]).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Point writes at a new master (a replica with that address stops serving reads).
    SetMaster {
        /// host:port of the new master.
        address: String,
        /// The [[clusters]] entry to edit (default: main, the top-level [master]/[[replicas]]).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Add a [[clusters]] entry (nothing to do if an identical one exists; an error if one of
    /// that name differs). Statements reach it once a [[rules]] entry names it.
    AddCluster {
        /// The cluster's name, as rules will name it (letters, digits, `_`, `-`).
        name: String,
        /// host:port of its master.
        #[arg(long)]
        master: String,
        /// host:port of a replica, optionally with its weight as host:port:weight (repeat for
        /// more).
        #[arg(long = "replica")]
        replicas: Vec<String>,
    },
    /// Remove a [[clusters]] entry (refused while a [[rules]] entry names it).
    RemoveCluster {
        /// The cluster's name.
        name: String,
    },
    /// Print every cluster's master and replicas.
    List,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { ref file, connect }) => {
            let path = file.clone().unwrap_or_else(|| cli.config.clone());
            let checked = Config::from_file(&path)
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    crate::tls::TlsSetup::load(c.tls.as_ref())
                        .map(|_| c)
                        .map_err(|e| format!("{}: {e}", path.display()))
                });
            match checked {
                Ok(c) => {
                    println!(
                        "{}: OK (master {}, {} replica(s), {} user(s), {} rule(s))",
                        path.display(),
                        c.master.address,
                        c.replicas.len(),
                        c.users.len(),
                        c.rules.len()
                    );
                    if connect {
                        check_replicas_online(&c)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(Command::Topology(ref t)) => topology(&cli, t),
        Some(Command::Run) | None => run(&cli),
    }
}

/// `check-config --connect`: the read_only check of every replica of every cluster, one line
/// per account and replica (`WARNING:` first where it matters), after the offline check.
fn check_replicas_online(config: &Config) -> ExitCode {
    use crate::privileges::{check, Verdict};
    let tls = match crate::tls::TlsSetup::load(config.tls.as_ref()) {
        Ok(t) => std::sync::Arc::new(t),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let topo = crate::topology::Topology::from_config(std::sync::Arc::new(config.clone()), None);
    let (mut bypass, mut unknown, mut replicas) = (false, false, 0);
    runtime.block_on(async {
        for cluster in &topo.clusters {
            for replica in &cluster.replicas {
                replicas += 1;
                let at = format!("replica {} (cluster {})", replica.address, cluster.name);
                let findings = check::check_replica(config, replica.clone(), tls.clone()).await;
                if findings.is_empty() {
                    println!("{at}: no account of the proxy's to check there");
                }
                for f in findings {
                    match f.verdict {
                        Verdict::Clean => {
                            println!("{at}: {} cannot write despite read_only", f.account)
                        }
                        Verdict::Bypasses(p) => {
                            bypass = true;
                            println!(
                                "WARNING: {at}: {} may write despite read_only ({}): a write sent there by mistake would succeed and fork the replica's data instead of failing with error 1290",
                                f.account,
                                p.join(", ")
                            );
                        }
                        Verdict::Unknown(why) => {
                            unknown = true;
                            println!(
                                "WARNING: {at}: could not check whether {} may write despite read_only: {why}",
                                f.account
                            );
                        }
                    }
                }
            }
        }
    });
    if replicas == 0 {
        println!("no replicas to check");
    }
    if bypass {
        ExitCode::from(1)
    } else if unknown {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn topology(cli: &Cli, cmd: &TopologyCommand) -> ExitCode {
    use crate::topology_file::{apply, list, signal_reload, Edit, NewReplica};
    let edit = match cmd {
        TopologyCommand::List => {
            return match list(&cli.config) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e:#}");
                    ExitCode::from(2)
                }
            };
        }
        TopologyCommand::AddReplica {
            address,
            weight,
            cluster,
        } => Edit::AddReplica {
            cluster: cluster.clone(),
            address: address.clone(),
            weight: *weight,
        },
        TopologyCommand::RemoveReplica { address, cluster } => Edit::RemoveReplica {
            cluster: cluster.clone(),
            address: address.clone(),
        },
        TopologyCommand::SetMaster { address, cluster } => Edit::SetMaster {
            cluster: cluster.clone(),
            address: address.clone(),
        },
        TopologyCommand::AddCluster {
            name,
            master,
            replicas,
        } => {
            let parsed: anyhow::Result<Vec<NewReplica>> =
                replicas.iter().map(|r| NewReplica::parse(r)).collect();
            match parsed {
                Ok(replicas) => Edit::AddCluster {
                    name: name.clone(),
                    master: master.clone(),
                    replicas,
                },
                Err(e) => {
                    eprintln!("--replica: {e:#}");
                    return ExitCode::from(2);
                }
            }
        }
        TopologyCommand::RemoveCluster { name } => Edit::RemoveCluster { name: name.clone() },
    };
    match apply(&cli.config, &edit) {
        Ok(outcome) => {
            println!("{}", outcome.message);
            if outcome.changed {
                if let Some(pid_file) = &cli.pid_file {
                    match signal_reload(pid_file) {
                        Ok(true) => println!("signalled the proxy to reload"),
                        Ok(false) => println!("no running proxy found via {}; it reloads on its own when it watches the file", pid_file.display()),
                        Err(e) => eprintln!("could not signal the proxy: {e:#}"),
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(json: bool, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RWSPLIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// How long the proxy waits at start for the first read_only check of the replicas (see
/// `privileges::watch`) before it listens; a longer check goes on in the background.
const FIRST_CHECK_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

fn run(cli: &Cli) -> ExitCode {
    let config = match Config::from_file(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(
        cli.log_json || config.log.format == crate::config::LogFormat::Json,
        &config.log.level,
    );
    let tls = match crate::tls::TlsSetup::load(config.tls.as_ref()) {
        Ok(t) => t,
        Err(why) => {
            error!("{why}");
            eprintln!("{}: {why}", cli.config.display());
            return ExitCode::from(2);
        }
    };
    if tls.backend != crate::config::BackendTls::Disabled && !tls.backend_verified {
        warn!("[tls] backend_ca is not set: backend connections are encrypted but the servers' certificates are not verified");
    }
    let threads = match cli.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // One single-threaded runtime per thread, not a work-stealing pool: a pool moves tasks
    // between its workers, and every wake-up of a task another worker owns goes through that
    // worker's unpark (measured with 2 workers: +13-29% CPU per point select, 2-3x the context
    // switches). This thread's runtime also runs the monitor, reloads, admin and metrics.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let (code, workers) = runtime.block_on(async move {
        let listen = config.listen.clone();
        let shared = Shared::new(config, tls, threads);
        info!(config = %cli.config.display(), "configuration loaded");
        crate::monitor::spawn(shared.clone());
        let first_check = crate::privileges::watch::spawn(shared.clone());
        if shared.topology.load().config.auth.passthrough {
            let s = shared.clone();
            tokio::spawn(async move {
                let topo = s.topology.load_full();
                // The first load: no login is waiting on it (no user name to look for).
                s.accounts.reload("", &topo, s.tls.load_full()).await;
            });
        }
        // Reload triggers are in place before the first client can connect.
        crate::reload::spawn_triggers(shared.clone(), cli.config.clone(), !cli.no_watch);
        // The read_only check's warnings come before the first client, and its logins to the
        // replicas before any client's; a replica slow to answer does not hold the start up.
        let _ = tokio::time::timeout(FIRST_CHECK_WAIT, first_check).await;
        let mut listeners = match crate::server::bind_all(&listen, threads).await {
            Ok(l) => l,
            Err(e) => {
                error!(listen = %listen, error = %e, "cannot listen");
                return (ExitCode::FAILURE, Workers::default());
            }
        };
        let listener = listeners.remove(0);
        let mut workers = Workers::default();
        for (i, l) in listeners.into_iter().enumerate() {
            if let Err(e) = workers.start(i + 1, l, shared.clone()) {
                error!(error = %e, "cannot start a worker thread");
                return (ExitCode::FAILURE, workers);
            }
        }
        if let Some(pid_file) = &cli.pid_file {
            if let Err(e) = std::fs::write(pid_file, format!("{}\n", std::process::id())) {
                error!(file = %pid_file.display(), error = %e, "cannot write the pid file");
            }
        }
        let topo = shared.topology.load_full();
        if let Some(admin) = topo.config.admin.clone() {
            tokio::spawn(crate::admin::serve(admin, shared.clone(), cli.config.clone()));
        }
        if let Some(metrics) = topo.config.metrics.clone() {
            tokio::spawn(crate::metrics_http::serve(metrics.listen, shared.clone()));
        }
        // The accept loop is a task of its own, not part of this `block_on` future: a wake-up
        // of the `block_on` future goes through the runtime's eventfd (a write and an extra
        // epoll round per accepted client), a task's does not.
        let serving = tokio::spawn(crate::server::serve(listener, shared.clone()));
        let abort_serving = serving.abort_handle();
        let code = tokio::select! {
            r = serving => {
                match r {
                    Ok(Err(e)) => { error!(error = %e, "listener failed"); return (ExitCode::FAILURE, workers); }
                    Err(e) => { error!(error = %e, "the accept loop ended"); return (ExitCode::FAILURE, workers); }
                    Ok(Ok(())) => {}
                }
                ExitCode::SUCCESS
            }
            _ = shutdown_signal() => {
                // The listeners are dropped with the accept tasks: new connections are refused.
                abort_serving.abort();
                workers.stage.send_replace(Stage::Draining);
                // Running statements finish; idle sessions close at once.
                let active = shared.clients.load(std::sync::atomic::Ordering::Relaxed);
                info!(active, drain_timeout_secs = cli.drain_timeout, "shutting down: draining client sessions");
                shared.begin_shutdown();
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(cli.drain_timeout);
                while shared.clients.load(std::sync::atomic::Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                let left = shared.clients.load(std::sync::atomic::Ordering::Relaxed);
                if left > 0 {
                    info!(left, "drain timeout reached; closing the remaining sessions");
                }
                ExitCode::SUCCESS
            }
        };
        (code, workers)
    });
    // The other runtimes close the sessions they still hold (past the drain timeout) and stop.
    workers.stop();
    drop(runtime);
    if let Some(pid_file) = &cli.pid_file {
        let _ = std::fs::remove_file(pid_file);
    }
    code
}

/// Where the other runtimes (`--threads N`) are in the proxy's life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Stage {
    Accepting,
    /// Shutdown: stop accepting; running sessions finish their statement (they see
    /// `Shared::shutdown` themselves).
    Draining,
    /// Drained or out of time: drop the runtime with whatever sessions it still holds.
    Exit,
}

/// The threads that run runtimes 1..N, each with a listener of its own.
struct Workers {
    stage: tokio::sync::watch::Sender<Stage>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            stage: tokio::sync::watch::Sender::new(Stage::Accepting),
            threads: Vec::new(),
        }
    }
}

impl Workers {
    /// Starts the thread of runtime `shard`, accepting on `listener` (moved out of this
    /// runtime's reactor into the new runtime's).
    fn start(
        &mut self,
        shard: usize,
        listener: tokio::net::TcpListener,
        shared: std::sync::Arc<Shared>,
    ) -> std::io::Result<()> {
        let listener = listener.into_std()?;
        let mut stage = self.stage.subscribe();
        let thread = std::thread::Builder::new()
            .name(format!("rwsplit-{shard}"))
            .spawn(move || {
                crate::pool::set_shard(shard);
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        error!(error = %e, shard, "cannot start a runtime");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            error!(error = %e, shard, "cannot listen");
                            return;
                        }
                    };
                    // A task, not this `block_on` future: see the main runtime's accept loop.
                    let serving = tokio::spawn(crate::server::serve(listener, shared));
                    let abort_serving = serving.abort_handle();
                    tokio::select! {
                        r = serving => {
                            if let Ok(Err(e)) | Err(e) = r.map_err(std::io::Error::other) {
                                error!(error = %e, shard, "listener failed");
                            }
                        }
                        _ = stage.wait_for(|s| *s >= Stage::Draining) => abort_serving.abort(),
                    }
                    // A closed channel (the main thread gave up) counts as Exit too.
                    let _ = stage.wait_for(|s| *s >= Stage::Exit).await;
                });
            })?;
        self.threads.push(thread);
        Ok(())
    }

    /// Tells every worker to drop its runtime, and waits for them.
    fn stop(self) {
        self.stage.send_replace(Stage::Exit);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
