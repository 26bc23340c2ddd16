//! Editing the topology part of `proxy.toml` from lifecycle hooks (`rwsplit topology ...`).
//!
//! Orchestrators call these hooks when a server appears, disappears or is promoted, often
//! several at once and sometimes twice for the same event. The topology is the top-level
//! `[master]` / `[[replicas]]` (the cluster "main") and the `[[clusters]]` entries, which hooks
//! add and remove whole, or edit server by server like "main". So an edit here:
//!
//! - is **serialized**: every writer takes an exclusive lock on a sidecar file `<file>.lock`
//!   first. The config file itself cannot carry the lock, because it is replaced by a rename
//!   and a lock on the old inode would not exclude a writer that opened the new one;
//! - is **idempotent**: adding a replica that is already there, or removing one that is not,
//!   succeeds without touching the file, so a hook that fires twice is harmless;
//! - **preserves the file**: it is edited with `toml_edit`, so comments, blank lines, key order
//!   and the formatting of everything not edited stay byte-for-byte as the operator wrote them
//!   (a file `toml_edit` could not reproduce exactly is refused rather than reformatted);
//! - is **validated before it is written**: the edited text must pass [`Config`]'s full
//!   validation, so a hook can never leave a file the proxy would refuse to (re)load;
//! - is **atomic**: the new text goes to a temporary file in the same directory, which is
//!   fsynced and renamed over the original, and the directory is fsynced; the proxy (which
//!   watches the file) and any crash see either the old file or the new one, never a mix.
//!
//! The request is checked here; `write` holds the lock and the atomic write, `document` the
//! edits on the parsed file.
//!
//! [`signal_reload`] then nudges a running proxy with SIGHUP so it does not have to wait for its
//! file watcher.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{anyhow, bail, Context};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::config::{Config, DEFAULT_WEIGHT, MAIN_CLUSTER, MAX_WEIGHT};

mod document;
mod write;
use document::*;
use write::*;

/// A change to the topology section of the config file.
///
/// `cluster` names the `[[clusters]]` entry an edit applies to; `None` (or `"main"`, which
/// [`apply`] treats the same) is the top-level `[master]` / `[[replicas]]`, the cluster named
/// "main". A name no entry has is an error that lists the clusters there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Add a replica. With `weight: None` a new entry gets `weight = 1`; an existing entry is
    /// then left alone. With `Some(w)` an existing entry's weight is set to `w`.
    AddReplica {
        cluster: Option<String>,
        address: String,
        weight: Option<u32>,
    },
    /// Remove the replica with this address; absent is not an error.
    RemoveReplica {
        cluster: Option<String>,
        address: String,
    },
    /// Set the master's address. A replica of the same cluster with that address is removed
    /// (a promoted server stops being a read target); the old master is not added as a
    /// replica, since it is usually gone or about to be re-provisioned.
    SetMaster {
        cluster: Option<String>,
        address: String,
    },
    /// Append a `[[clusters]]` entry, in the inline style of the example configuration
    /// (`master = { address = ... }`, `replicas = [{ address = ..., weight = ... }]`). An entry
    /// of that name with the same master and replicas is success without a change (a hook
    /// that fires twice); one that differs is an error, since silently merging or replacing
    /// a cluster could move data routing an operator did not ask to move.
    AddCluster {
        name: String,
        master: String,
        replicas: Vec<NewReplica>,
    },
    /// Remove the `[[clusters]]` entry with this name; absent is not an error. Refused while a
    /// `[[rules]]` entry names the cluster: its statements would have nowhere to go (the
    /// proxy refuses such a file), and which cluster should take them is the operator's call.
    RemoveCluster { name: String },
}

/// A replica of a new cluster ([`Edit::AddCluster`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReplica {
    pub address: String,
    pub weight: u32,
}

impl NewReplica {
    /// Parses the CLI form `ADDR[:WEIGHT]`, e.g. `10.0.1.11:3306` or `10.0.1.11:3306:2`.
    /// An address has a port of its own, so a last `:N` is a weight only when what precedes
    /// it is a whole address (`[::1]:3306` is an address, `[::1]:3306:2` one with weight 2).
    pub fn parse(spec: &str) -> anyhow::Result<NewReplica> {
        let spec = spec.trim();
        if let Some((address, weight)) = spec.rsplit_once(':') {
            if let (Ok(address), Ok(weight)) = (checked_address(address), weight.parse::<u32>()) {
                return Ok(NewReplica { address, weight });
            }
        }
        Ok(NewReplica {
            address: checked_address(spec)?,
            weight: DEFAULT_WEIGHT,
        })
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditOutcome {
    /// Whether the file was rewritten. `false` means the file already said what was asked
    /// and was not touched (not even its modification time, so file watchers stay quiet).
    pub changed: bool,
    /// One line for the operator, e.g. `added replica 10.0.0.5:3306 (weight 1)`.
    pub message: String,
}

/// Applies `edit` to the config file at `path`, atomically and safely under concurrency.
///
/// 1. The address (and weight) are checked first, so a typo fails before any file is touched.
/// 2. An exclusive, blocking lock is taken on `<path>.lock` (created if missing), so concurrent
///    invocations — threads or processes — run one after the other, each seeing the previous
///    one's result. A symlinked `path` is resolved first, so the real file is edited and all
///    callers agree on the lock file.
/// 3. The file is read and edited with `toml_edit`, keeping every comment and the formatting of
///    the untouched parts.
/// 4. The result is validated with [`Config::from_str_with_env`], with every `env:NAME`
///    resolving to a placeholder: a hook's environment rarely holds the proxy's secrets, and
///    what matters here is the structure. An invalid result is not written; the error lists
///    the problems.
/// 5. The text is written to `.<name>.tmp.<pid>.<n>` in the same directory, fsynced, given
///    the original's permissions (and owner, when it differs), renamed over the original, and
///    the directory is fsynced so the rename itself survives a crash.
///
/// When nothing needs to change, the file is not rewritten and `changed` is `false`.
pub fn apply(path: &Path, edit: &Edit) -> anyhow::Result<EditOutcome> {
    let edit = checked(edit)?;
    let path = fs::canonicalize(path).with_context(|| format!("cannot open {}", path.display()))?;

    let lock = lock_file(&path)?;
    let outcome = apply_locked(&path, &edit)?;
    // Unlocking also happens when `lock` is dropped (on every error path above); doing it
    // explicitly here just makes the end of the critical section visible.
    lock.unlock()
        .with_context(|| format!("cannot unlock {}", lock_path(&path).display()))?;
    Ok(outcome)
}

/// The current topology, one line per server, each ending in `\n` (print it with `print!`):
///
/// ```text
/// master  10.0.0.10:3306
/// replica 10.0.0.11:3306 weight 1
/// ```
///
/// With `[[clusters]]` in the file, each cluster's lines follow a `cluster NAME` line, "main"
/// first; without, the output is exactly the single-cluster form above, which scripts
/// written before clusters existed parse.
///
/// It shows what the proxy would use — the validated configuration, with default weights
/// filled in — so an invalid file is an error listing its problems.
pub fn list(path: &Path) -> anyhow::Result<String> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = validate(&text, &path.display().to_string()).map_err(|e| anyhow!("{e}"))?;
    let servers = |master: &str, replicas: &[crate::config::Backend]| {
        let mut out = format!("master  {master}\n");
        for r in replicas {
            out.push_str(&format!("replica {} weight {}\n", r.address, r.weight));
        }
        out
    };
    let main = servers(&config.master.address, &config.replicas);
    if config.clusters.is_empty() {
        return Ok(main);
    }
    let mut out = format!("cluster {MAIN_CLUSTER}\n{main}");
    for c in &config.clusters {
        out.push_str(&format!("cluster {}\n", c.name));
        out.push_str(&servers(&c.master.address, &c.replicas));
    }
    Ok(out)
}

/// Tells a running proxy to reload its configuration: reads the pid in `pid_file` and sends
/// it SIGHUP.
///
/// Returns `Ok(false)` when there is no pid file or no process with that pid: the proxy also
/// watches its config file, so the signal only makes the reload immediate, and a hook must not
/// fail because the proxy happens to be down. A pid file that does not hold a positive pid is
/// an error — in particular `0` and negative numbers are refused, since `kill` would signal a
/// whole process group (or every process) with them. Failing to signal an existing process
/// (e.g. `EPERM`: it belongs to another user) is an error as well.
pub fn signal_reload(pid_file: &Path) -> anyhow::Result<bool> {
    let text = match fs::read_to_string(pid_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", pid_file.display())),
    };
    let pid: libc::pid_t = match text.trim().parse() {
        Ok(pid) if pid > 0 => pid,
        _ => bail!(
            "{} does not hold a process id: {:?}",
            pid_file.display(),
            text.trim()
        ),
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; `pid` is positive,
    // so exactly one process is targeted.
    let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        return Ok(false);
    }
    Err(err).with_context(|| {
        format!(
            "cannot send SIGHUP to process {pid} (from {})",
            pid_file.display()
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Checking the request
// ---------------------------------------------------------------------------------------------

/// `edit` with its addresses and names trimmed and `--cluster main` turned into `None`,
/// after checking the address, weight and cluster name syntax.
fn checked(edit: &Edit) -> anyhow::Result<Edit> {
    Ok(match edit {
        Edit::AddReplica {
            cluster,
            address,
            weight,
        } => {
            if let Some(w) = *weight {
                checked_weight(w)?;
            }
            Edit::AddReplica {
                cluster: checked_target(cluster.as_deref()),
                address: checked_address(address)?,
                weight: *weight,
            }
        }
        Edit::RemoveReplica { cluster, address } => Edit::RemoveReplica {
            cluster: checked_target(cluster.as_deref()),
            address: checked_address(address)?,
        },
        Edit::SetMaster { cluster, address } => Edit::SetMaster {
            cluster: checked_target(cluster.as_deref()),
            address: checked_address(address)?,
        },
        Edit::AddCluster {
            name,
            master,
            replicas,
        } => {
            let name = checked_cluster_name(name)?;
            let master = checked_address(master)?;
            let mut checked = Vec::new();
            for r in replicas {
                checked_weight(r.weight)?;
                let address = checked_address(&r.address)?;
                if address == master {
                    bail!("{address} is the master of cluster {name}; it cannot also be a replica");
                }
                if checked.iter().any(|c: &NewReplica| c.address == address) {
                    bail!("replica {address} is given twice");
                }
                checked.push(NewReplica {
                    address,
                    weight: r.weight,
                });
            }
            Edit::AddCluster {
                name,
                master,
                replicas: checked,
            }
        }
        Edit::RemoveCluster { name } => {
            let name = name.trim();
            if name == MAIN_CLUSTER {
                bail!(
                    "cluster {MAIN_CLUSTER:?} is the top-level [master] and [[replicas]]; \
                     it cannot be removed"
                );
            }
            Edit::RemoveCluster { name: name.into() }
        }
    })
}

fn checked_weight(w: u32) -> anyhow::Result<()> {
    if w > MAX_WEIGHT {
        bail!("weight {w} is out of range 0..={MAX_WEIGHT}");
    }
    Ok(())
}

/// The `--cluster` argument: `None` and `"main"` both mean the top-level cluster. Any other
/// name is looked up in the file, where an unknown one is reported with the known ones.
fn checked_target(cluster: Option<&str>) -> Option<String> {
    cluster
        .map(str::trim)
        .filter(|c| *c != MAIN_CLUSTER)
        .map(str::to_string)
}

/// Checks a new cluster's name with exactly the rules the config loader applies, by
/// validating a minimal document that uses it (as [`checked_address`] does for addresses), so
/// the error comes before any file is touched and never disagrees with the proxy.
fn checked_cluster_name(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    let probe = format!(
        "[master]\naddress = \"m:1\"\n[[users]]\nname = \"u\"\npassword = \"p\"\n\
         [[clusters]]\nname = {}\nmaster = {{ address = \"n:1\" }}\n",
        Value::from(name)
    );
    match validate(&probe, "") {
        Ok(_) => Ok(name.to_string()),
        Err(e) => {
            let why: Vec<&str> = e.problems().iter().map(|p| p.message.as_str()).collect();
            bail!("invalid cluster name {name:?}: {}", why.join("; "))
        }
    }
}

/// Checks `host:port` syntax (port 1..=65535) with exactly the rules the config loader
/// applies, by validating a minimal document that uses the address: one rule, so a hook can
/// never accept an address the proxy would then reject. Returns the trimmed address.
fn checked_address(address: &str) -> anyhow::Result<String> {
    let address = address.trim();
    let probe = format!(
        "[master]\naddress = {}\n[[users]]\nname = \"u\"\npassword = \"p\"\n",
        Value::from(address)
    );
    match validate(&probe, "") {
        Ok(_) => Ok(address.to_string()),
        Err(e) => {
            let why: Vec<&str> = e.problems().iter().map(|p| p.message.as_str()).collect();
            bail!("invalid address {address:?}: {}", why.join("; "))
        }
    }
}

/// Validates `text` as a whole config, structure only: every `env:NAME` resolves to a
/// placeholder, because the hook's environment need not hold the proxy's secrets.
fn validate(text: &str, origin: &str) -> Result<Config, crate::config::ConfigError> {
    Config::from_str_with_env(text, origin, &|_| Ok("placeholder".to_string()))
}

#[cfg(test)]
mod tests;
