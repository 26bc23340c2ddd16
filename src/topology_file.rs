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

// ---------------------------------------------------------------------------------------------
// Locking and writing
// ---------------------------------------------------------------------------------------------

/// `<path>.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens (creating if needed) and exclusively locks `<path>.lock`, waiting for other holders.
/// The lock is `flock(2)`-style: it belongs to the open file, so it is released when the file
/// is closed — including when the process dies — and a crashed hook cannot leave it stuck.
fn lock_file(path: &Path) -> anyhow::Result<File> {
    let lock_path = lock_path(path);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    Ok(file)
}

/// Steps 3–5 of [`apply`]; the caller holds the lock.
fn apply_locked(path: &Path, edit: &Edit) -> anyhow::Result<EditOutcome> {
    let origin = path.display().to_string();
    let original = fs::read_to_string(path).with_context(|| format!("cannot read {origin}"))?;
    let mut file = EditableFile::parse(&original, &origin)?;
    let (changed, message) = file.apply(edit, &origin)?;
    if !changed {
        return Ok(EditOutcome { changed, message });
    }
    let text = file.render();
    if let Err(problems) = validate(&text, &origin) {
        // Point at the file as it is when it was already broken: those line numbers match
        // what the operator sees. Otherwise the edit itself is at fault.
        if let Err(before) = validate(&original, &origin) {
            bail!("{origin} is invalid; fix it before editing it:\n{before}");
        }
        bail!(
            "refusing to write {origin}: after this edit it would be invalid \
             (line numbers refer to the edited text):\n{problems}"
        );
    }
    remove_stale_temp_files(path);
    write_atomically(path, &text)?;
    Ok(EditOutcome { changed, message })
}

/// Counter for temporary file names, unique within the process (threads may edit different
/// files at once).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The name prefix of temporary files for `path`: `.<name>.tmp.`. Hidden, so globs such as
/// `conf.d/*.toml` never pick one up.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.tmp.")
}

/// Replaces `path` with `text` so that readers and crashes see either the old or the new
/// content, never a partial file.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        "{}{}.{}",
        temp_prefix(path),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let original = fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;

    // Removes the temporary file unless the rename happened.
    struct TempGuard<'a>(&'a Path, bool);
    impl Drop for TempGuard<'_> {
        fn drop(&mut self) {
            if !self.1 {
                let _ = fs::remove_file(self.0);
            }
        }
    }

    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut guard = TempGuard(&tmp, false);
    let ctx = || format!("cannot write {}", tmp.display());
    file.write_all(text.as_bytes()).with_context(ctx)?;
    // Owner first: chown may clear set-id bits, which the mode then restores. Only when it
    // differs (a root hook editing a file owned by the proxy's user), since only root may
    // give a file away — and keeping the owner matters: a 0600 file owned by root would be
    // unreadable to the proxy after the next reload.
    let created = file.metadata().with_context(ctx)?;
    if (created.uid(), created.gid()) != (original.uid(), original.gid()) {
        std::os::unix::fs::fchown(&file, Some(original.uid()), Some(original.gid())).with_context(
            || {
                format!(
                    "cannot give {} the owner of {} (uid {}, gid {})",
                    tmp.display(),
                    path.display(),
                    original.uid(),
                    original.gid()
                )
            },
        )?;
    }
    file.set_permissions(original.permissions())
        .with_context(ctx)?;
    // Data on disk before the rename makes it visible; otherwise a crash could leave an
    // empty file under the real name.
    file.sync_all().with_context(ctx)?;
    drop(file);
    fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    guard.1 = true;
    // The rename is a change to the directory; fsync it so the new name survives a crash.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot fsync directory {}", dir.display()))?;
    Ok(())
}

/// Removes temporary files left by a writer that died between creating and renaming its
/// temporary file. Safe only under the lock: every live writer holds it while its temporary
/// file exists, so any such file seen now belongs to a dead one. Best effort.
fn remove_stale_temp_files(path: &Path) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let prefix = temp_prefix(path);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Editing the document
// ---------------------------------------------------------------------------------------------

/// Which cluster of the document an edit applies to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The top-level `[master]` and `[[replicas]]`: the cluster named "main".
    Main,
    /// The `[[clusters]]` entry at this index.
    Named(usize),
}

/// A parsed config file plus what is needed to write it back byte-for-byte: `toml_edit`
/// normalizes line endings to `\n`, drops a byte-order mark and adds a final newline, so those
/// are restored when rendering.
struct EditableFile {
    doc: DocumentMut,
    /// The text as parsed (without a byte-order mark): messages quote line numbers from it,
    /// which `doc` no longer knows.
    source: String,
    crlf: bool,
    bom: bool,
}

impl EditableFile {
    /// Parses `text`; refuses a file that `toml_edit` would not reproduce exactly, so that
    /// editing one entry can never reformat the rest of the operator's file.
    fn parse(text: &str, origin: &str) -> anyhow::Result<EditableFile> {
        let bom = text.starts_with('\u{feff}');
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc: DocumentMut = match body.parse() {
            Ok(doc) => doc,
            Err(e) => {
                // The config loader words syntax errors as `file:line:col: key ...`.
                if let Err(problems) = validate(text, origin) {
                    bail!("{origin} is invalid; fix it before editing it:\n{problems}");
                }
                bail!("cannot parse {origin}: {e}");
            }
        };
        let file = EditableFile {
            doc,
            source: body.to_string(),
            crlf: body.contains("\r\n"),
            bom,
        };
        let again = file.render();
        let newline = if file.crlf { "\r\n" } else { "\n" };
        if again != text && again != format!("{text}{newline}") {
            bail!(
                "cannot edit {origin} without reformatting it (mixed line endings?); \
                 edit it by hand or normalize its line endings"
            );
        }
        Ok(file)
    }

    /// The document as text, with the file's line endings and byte-order mark.
    fn render(&self) -> String {
        let mut text = self.doc.to_string();
        if self.crlf {
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        if self.bom {
            text.insert(0, '\u{feff}');
        }
        text
    }

    /// Applies `edit` (already checked) to the document: whether it changed, and a message.
    /// Messages about a `[[clusters]]` entry start with `cluster NAME: `; those about "main"
    /// read as they did before there were clusters.
    fn apply(&mut self, edit: &Edit, origin: &str) -> anyhow::Result<(bool, String)> {
        let (target, (changed, message)) = match edit {
            Edit::AddReplica {
                cluster,
                address,
                weight,
            } => {
                let target = self.target(cluster.as_deref(), origin)?;
                (target, self.add_replica(target, address, *weight, origin)?)
            }
            Edit::RemoveReplica { cluster, address } => {
                let target = self.target(cluster.as_deref(), origin)?;
                let outcome = match self.remove_replica(target, address, origin)? {
                    true => (
                        true,
                        format!("removed replica {address}{}", self.none_left(target)),
                    ),
                    false => (
                        false,
                        format!("replica {address} not present: nothing to do"),
                    ),
                };
                (target, outcome)
            }
            Edit::SetMaster { cluster, address } => {
                let target = self.target(cluster.as_deref(), origin)?;
                (target, self.set_master(target, address, origin)?)
            }
            Edit::AddCluster {
                name,
                master,
                replicas,
            } => return self.add_cluster(name, master, replicas, origin),
            Edit::RemoveCluster { name } => return self.remove_cluster(name, origin),
        };
        let message = match target {
            Target::Main => message,
            Target::Named(_) => format!("cluster {}: {message}", self.name_of(target)),
        };
        Ok((changed, message))
    }

    // --- Clusters --------------------------------------------------------------------------

    /// The `[[clusters]]` array, `None` when the file has no clusters. The inline form
    /// `clusters = [{ ... }]` is refused, like inline replicas once were: the documented form is
    /// `[[clusters]]`, and a whole cluster on one line is not something to append to.
    fn clusters(&self, origin: &str) -> anyhow::Result<Option<&ArrayOfTables>> {
        match self.doc.get("clusters") {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
            Some(_) => bail!(
                "`clusters` in {origin} is not written as [[clusters]] tables; \
                 rewrite it in that form so hooks can edit it"
            ),
        }
    }

    /// Index of the `[[clusters]]` entry named `name` (exactly, as the config loader compares).
    fn cluster_index(&self, name: &str, origin: &str) -> anyhow::Result<Option<usize>> {
        Ok(self
            .clusters(origin)?
            .and_then(|a| a.iter().position(|t| cluster_name(t) == Some(name))))
    }

    /// Resolves `--cluster`: `None` is "main"; a name must be a `[[clusters]]` entry, and the
    /// error for one that is not lists those that are, so a typo is obvious.
    fn target(&self, cluster: Option<&str>, origin: &str) -> anyhow::Result<Target> {
        let Some(name) = cluster else {
            return Ok(Target::Main);
        };
        if let Some(i) = self.cluster_index(name, origin)? {
            return Ok(Target::Named(i));
        }
        let known: Vec<String> = std::iter::once(MAIN_CLUSTER)
            .chain(
                self.clusters(origin)?
                    .into_iter()
                    .flat_map(ArrayOfTables::iter)
                    .filter_map(cluster_name),
            )
            .map(|n| format!("{n:?}"))
            .collect();
        bail!(
            "no cluster {name:?} in {origin}: the clusters are {}",
            known.join(", ")
        )
    }

    /// The table holding a cluster's `master` and `replicas` keys: the document root for
    /// "main", the `[[clusters]]` entry otherwise.
    fn table(&self, target: Target) -> &Table {
        match (target, self.doc.get("clusters")) {
            (Target::Main, _) => self.doc.as_table(),
            (Target::Named(i), Some(Item::ArrayOfTables(a))) => a.get(i).expect("from target()"),
            (Target::Named(_), _) => unreachable!("target() found [[clusters]]"),
        }
    }

    fn table_mut(&mut self, target: Target) -> &mut Table {
        match target {
            Target::Main => self.doc.as_table_mut(),
            Target::Named(i) => match self.doc.get_mut("clusters") {
                Some(Item::ArrayOfTables(a)) => a.get_mut(i).expect("from target()"),
                _ => unreachable!("target() found [[clusters]]"),
            },
        }
    }

    fn name_of(&self, target: Target) -> String {
        match target {
            Target::Main => MAIN_CLUSTER.to_string(),
            Target::Named(_) => cluster_name(self.table(target)).unwrap_or("").to_string(),
        }
    }

    fn add_cluster(
        &mut self,
        name: &str,
        master: &str,
        replicas: &[NewReplica],
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        if let Some(i) = self.cluster_index(name, origin)? {
            let target = Target::Named(i);
            let current = self.master_address(target);
            if current.as_deref() != Some(master) {
                bail!(
                    "cluster {name} already exists in {origin} with master {}; \
                     to move its writes use `rwsplit topology set-master {master} --cluster {name}`",
                    current.as_deref().unwrap_or("(none)")
                );
            }
            let mut have: Vec<(String, Option<i64>)> = replica_list(self.table(target))
                .into_iter()
                .map(|(a, w)| {
                    let w = w.map_or(Some(i64::from(DEFAULT_WEIGHT)), |w| w.as_integer());
                    (a.unwrap_or_default(), w)
                })
                .collect();
            let mut want: Vec<(String, Option<i64>)> = replicas
                .iter()
                .map(|r| (r.address.clone(), Some(i64::from(r.weight))))
                .collect();
            have.sort();
            want.sort();
            if have != want {
                let shown: Vec<String> = have
                    .iter()
                    .map(|(a, w)| match w {
                        Some(w) => format!("{a} weight {w}"),
                        None => a.clone(),
                    })
                    .collect();
                bail!(
                    "cluster {name} already exists in {origin} with master {master} and other \
                     replicas ({}); change them with `rwsplit topology add-replica` / \
                     `remove-replica` and `--cluster {name}`",
                    if shown.is_empty() {
                        "none".to_string()
                    } else {
                        shown.join(", ")
                    }
                );
            }
            return Ok((
                false,
                format!(
                    "cluster {name} already present with master {master} and the same \
                     replicas: nothing to do"
                ),
            ));
        }
        let position = self.new_cluster_position();
        let mut table = Table::new();
        table.insert("name", Item::Value(Value::from(name)));
        table.insert(
            "master",
            Item::Value(Value::InlineTable(address_table(master))),
        );
        if !replicas.is_empty() {
            let mut list = Array::new();
            for r in replicas {
                list.push(replica_table(&r.address, r.weight));
            }
            table.insert("replicas", Item::Value(Value::Array(list)));
        }
        table.set_position(Some(position));
        if self.clusters(origin)?.is_none() {
            self.doc
                .insert("clusters", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        match self.doc.get_mut("clusters") {
            Some(Item::ArrayOfTables(a)) => a.push(table),
            _ => unreachable!("checked or inserted above"),
        }
        let shown: Vec<String> = replicas
            .iter()
            .map(|r| format!("{} (weight {})", r.address, r.weight))
            .collect();
        Ok((
            true,
            format!(
                "added cluster {name}: master {master}, replicas {}",
                if shown.is_empty() {
                    "none: reads go to the master".to_string()
                } else {
                    shown.join(", ")
                }
            ),
        ))
    }

    fn remove_cluster(&mut self, name: &str, origin: &str) -> anyhow::Result<(bool, String)> {
        let Some(index) = self.cluster_index(name, origin)? else {
            return Ok((false, format!("cluster {name} not present: nothing to do")));
        };
        let naming = self.rules_naming(name);
        if !naming.is_empty() {
            let (count, lines) = match naming.len() {
                1 => ("a rule".to_string(), "line"),
                n => (format!("{n} rules"), "lines"),
            };
            let at: Vec<String> = naming.iter().map(usize::to_string).collect();
            bail!(
                "cluster {name} is still named by {count} in {origin} ([[rules]] with \
                 cluster = {name:?} on {lines} {}); point those rules at another cluster or \
                 remove them first",
                at.join(", ")
            );
        }
        let Some(Item::ArrayOfTables(clusters)) = self.doc.get_mut("clusters") else {
            unreachable!("cluster_index() found [[clusters]]");
        };
        let removed = clusters.remove(index);
        if clusters.is_empty() {
            self.doc.remove("clusters");
        }
        self.keep_comments_of(&removed);
        Ok((true, format!("removed cluster {name}")))
    }

    /// Line numbers of the `[[rules]]` entries that send statements to cluster `name`.
    fn rules_naming(&self, name: &str) -> Vec<usize> {
        // `doc` dropped the spans when it became editable; a read-only parse keeps them.
        let Ok(doc) = toml_edit::Document::parse(self.source.as_str()) else {
            return Vec::new();
        };
        let spans: Vec<Option<std::ops::Range<usize>>> = match doc.get("rules") {
            Some(Item::ArrayOfTables(a)) => a
                .iter()
                .filter_map(|t| t.get("cluster"))
                .filter(|c| c.as_str() == Some(name))
                .map(Item::span)
                .collect(),
            Some(Item::Value(Value::Array(a))) => a
                .iter()
                .filter_map(Value::as_inline_table)
                .filter_map(|t| t.get("cluster"))
                .filter(|c| c.as_str() == Some(name))
                .map(Value::span)
                .collect(),
            _ => Vec::new(),
        };
        spans
            .into_iter()
            .map(|s| {
                let at = s.map_or(0, |s| s.start);
                self.source[..at].matches('\n').count() + 1
            })
            .collect()
    }

    /// Where a new `[[clusters]]` entry goes: right after the last one (with its
    /// `[clusters.master]` / `[[clusters.replicas]]` tables, if it has any), so the entries
    /// stay grouped; with none, at the end of the file. See [`Self::new_replica_position`] for
    /// why an equal position places it after.
    fn new_cluster_position(&self) -> isize {
        if let Some(Item::ArrayOfTables(a)) = self.doc.get("clusters") {
            if let Some(pos) = a.iter().filter_map(max_position).max() {
                return pos;
            }
        }
        max_position(self.doc.as_table()).unwrap_or(0) + 1
    }

    // --- Servers of one cluster -------------------------------------------------------------

    /// `; no replicas left, ...` when the last replica is gone, so the operator learns that
    /// all reads now go to the master.
    fn none_left(&self, target: Target) -> &'static str {
        if replica_list(self.table(target)).is_empty() {
            "; no replicas left: reads go to the master"
        } else {
            ""
        }
    }

    fn add_replica(
        &mut self,
        target: Target,
        address: &str,
        weight: Option<u32>,
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        if self.master_address(target).is_some_and(|m| m == address) {
            bail!("{address} is the master in {origin}; it cannot also be a replica");
        }
        let listed = replica_list(self.table(target));
        if let Some(existing) = listed
            .iter()
            .position(|(a, _)| a.as_deref() == Some(address))
        {
            // No `weight` key means the default; a non-integer one (an invalid file) is
            // shown as written and never equals a requested weight.
            let (current, shown) = match &listed[existing].1 {
                None => (Some(i64::from(DEFAULT_WEIGHT)), DEFAULT_WEIGHT.to_string()),
                Some(w) => (w.as_integer(), bare(w)),
            };
            return Ok(match weight {
                Some(w) if current != Some(i64::from(w)) => {
                    let mut replicas = self.replicas_mut(target, origin)?.expect("listed above");
                    replicas.set_weight(existing, w);
                    (
                        true,
                        format!(
                            "replica {address} already present: weight changed from \
                             {shown} to {w}"
                        ),
                    )
                }
                _ => (
                    false,
                    format!("replica {address} already present with weight {shown}: nothing to do"),
                ),
            });
        }
        let position = self.new_replica_position(target);
        if self.replicas_mut(target, origin)?.is_none() {
            let new_list = match target {
                Target::Main => Item::ArrayOfTables(ArrayOfTables::new()),
                // Whatever form the entry's master is in: a `[clusters.master]` table gets
                // `[[clusters.replicas]]` tables beside it, an inline master (the documented
                // form) an inline list.
                Target::Named(_) => match self.table(target).get("master") {
                    Some(Item::Table(m)) if !m.is_dotted() => {
                        Item::ArrayOfTables(ArrayOfTables::new())
                    }
                    _ => Item::Value(Value::Array(Array::new())),
                },
            };
            self.table_mut(target).insert("replicas", new_list);
        }
        let weight = weight.unwrap_or(DEFAULT_WEIGHT);
        let mut replicas = self.replicas_mut(target, origin)?.expect("inserted above");
        replicas.push(address, weight, position);
        Ok((true, format!("added replica {address} (weight {weight})")))
    }

    /// Removes the replica with `address`; `false` if there is none.
    fn remove_replica(
        &mut self,
        target: Target,
        address: &str,
        origin: &str,
    ) -> anyhow::Result<bool> {
        let Some(index) = replica_list(self.table(target))
            .iter()
            .position(|(a, _)| a.as_deref() == Some(address))
        else {
            return Ok(false);
        };
        let mut replicas = self.replicas_mut(target, origin)?.expect("listed above");
        let removed = replicas.remove(index);
        let empty = replicas.is_empty();
        if let Some(removed) = removed {
            if empty {
                // An empty array of tables prints nothing; dropping the key keeps the
                // document free of a phantom entry. (An inline list stays, as `[]`.)
                self.table_mut(target).remove("replicas");
            }
            self.keep_comments_of(&removed);
        }
        Ok(true)
    }

    fn set_master(
        &mut self,
        target: Target,
        address: &str,
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        let old = self.master_address(target);
        let master_changed = old.as_deref() != Some(address);
        if master_changed {
            let table = self.table_mut(target);
            match table.get_mut("master").and_then(Item::as_table_like_mut) {
                Some(master) => match master.get_mut("address") {
                    Some(Item::Value(v)) => replace_keeping_decor(v, Value::from(address)),
                    _ => {
                        master.insert("address", Item::Value(Value::from(address)));
                    }
                },
                None if matches!(target, Target::Main) => {
                    bail!("{origin} has no [master] table")
                }
                None => {
                    table.insert(
                        "master",
                        Item::Value(Value::InlineTable(address_table(address))),
                    );
                }
            }
        }
        let was_replica = self.remove_replica(target, address, origin)?;
        let mut message = match (&old, master_changed) {
            (_, false) => format!("master is already {address}"),
            (Some(old), true) => format!("master changed from {old} to {address}"),
            (None, true) => format!("master set to {address}"),
        };
        if was_replica {
            message.push_str(&format!(
                "; {address} removed from the replicas{}",
                self.none_left(target)
            ));
        }
        let changed = master_changed || was_replica;
        if !changed {
            message.push_str(": nothing to do");
        }
        Ok((changed, message))
    }

    /// The cluster's master address, trimmed, if present.
    fn master_address(&self, target: Target) -> Option<String> {
        self.table(target)
            .get("master")
            .and_then(Item::as_table_like)
            .and_then(|m| m.get("address"))
            .and_then(Item::as_str)
            .map(|a| a.trim().to_string())
    }

    /// The cluster's replica list for editing, `None` when it has none.
    fn replicas_mut(
        &mut self,
        target: Target,
        origin: &str,
    ) -> anyhow::Result<Option<Replicas<'_>>> {
        let name = self.name_of(target);
        match self.table_mut(target).get_mut("replicas") {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(Replicas::Tables(a))),
            Some(Item::Value(Value::Array(a))) => Ok(Some(Replicas::Inline(a))),
            Some(_) => bail!(
                "`replicas` of cluster {name} in {origin} is not a list of replicas; \
                 fix it before editing it"
            ),
        }
    }

    /// Where a new `[[replicas]]` (or `[[clusters.replicas]]`) table goes in the output: right
    /// after the last existing one (tables with equal positions keep document order, and the
    /// new table is the next one in that order), so the entries stay grouped. With none: for
    /// "main", after every other table, i.e. at the end of the file; for a `[[clusters]]`
    /// entry, after the entry's own tables, i.e. before the next entry.
    fn new_replica_position(&self, target: Target) -> isize {
        let table = self.table(target);
        if let Some(Item::ArrayOfTables(a)) = table.get("replicas") {
            if let Some(pos) = a.iter().filter_map(Table::position).max() {
                return pos;
            }
        }
        match target {
            Target::Main => max_position(self.doc.as_table()).unwrap_or(0) + 1,
            Target::Named(_) => max_position(table).unwrap_or(0),
        }
    }

    /// Keeps the comments written above a removed table's header. Such a comment may well
    /// describe the whole section (the example file has one above the first `[[replicas]]`),
    /// so it moves to whatever comes next in the file. The blank lines that separated the
    /// removed table go with it; comments inside the removed table (on or below its header)
    /// describe that entry and go too.
    fn keep_comments_of(&mut self, removed: &Table) {
        let prefix = removed
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        if !prefix.contains('#') {
            return;
        }
        let after = removed.position().unwrap_or(isize::MAX);
        let mut next = None;
        for_each_header_table(self.doc.as_table(), &mut |t| {
            if let Some(p) = t.position().filter(|p| *p > after) {
                next = Some(next.map_or(p, |n: isize| n.min(p)));
            }
        });
        let merge = |own: &str| {
            if own.contains('#') {
                format!("{prefix}{own}")
            } else {
                prefix.clone()
            }
        };
        match next {
            Some(next) => {
                with_header_table_mut(self.doc.as_table_mut(), next, &mut |t| {
                    let own = t
                        .decor()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .unwrap_or("")
                        .to_string();
                    t.decor_mut().set_prefix(merge(&own));
                });
            }
            None => {
                let own = self.doc.trailing().as_str().unwrap_or("").to_string();
                // The removed table's body ended with a newline; the comment lines follow it.
                let kept = if own.contains('#') {
                    format!("{prefix}{own}")
                } else {
                    format!("{prefix}{}", own.trim_start_matches(['\n', '\r']))
                };
                self.doc.set_trailing(kept);
            }
        }
    }
}

/// A `[[clusters]]` entry's `name`.
fn cluster_name(t: &Table) -> Option<&str> {
    t.get("name").and_then(Item::as_str)
}

/// The replicas listed in a cluster's table (`[[replicas]]` / `[[clusters.replicas]]` tables
/// or an inline `replicas = [{ ... }]` list), in file order: each one's address (trimmed;
/// `None` when it has no string address — an invalid file) and its `weight` as written.
/// Addresses are compared exactly: no DNS and no normalization, so `localhost` and
/// `127.0.0.1` differ — the config loader's duplicate check, which does normalize, still
/// guards the result.
fn replica_list(table: &Table) -> Vec<(Option<String>, Option<Item>)> {
    let entry = |address: Option<&str>, weight: Option<Item>| {
        (address.map(|a| a.trim().to_string()), weight)
    };
    match table.get("replicas") {
        Some(Item::ArrayOfTables(a)) => a
            .iter()
            .map(|t| {
                entry(
                    t.get("address").and_then(Item::as_str),
                    t.get("weight").cloned(),
                )
            })
            .collect(),
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .map(|v| match v.as_inline_table() {
                Some(t) => entry(
                    t.get("address").and_then(Value::as_str),
                    t.get("weight").cloned().map(Item::Value),
                ),
                None => (None, None),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A cluster's replica list, in either of the forms TOML allows and the config loader takes.
enum Replicas<'a> {
    /// `[[replicas]]` / `[[clusters.replicas]]` tables.
    Tables(&'a mut ArrayOfTables),
    /// `replicas = [{ address = "...", weight = 1 }, ...]`, on one line or several.
    Inline(&'a mut Array),
}

impl Replicas<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Replicas::Tables(a) => a.is_empty(),
            Replicas::Inline(a) => a.is_empty(),
        }
    }

    /// Sets entry `index`'s weight, keeping the spacing and comment around the old value.
    fn set_weight(&mut self, index: usize, weight: u32) {
        let value = Value::from(i64::from(weight));
        match self {
            Replicas::Tables(a) => {
                if let Some(t) = a.get_mut(index) {
                    set_value(t, "weight", value);
                }
            }
            Replicas::Inline(a) => {
                if let Some(t) = a.get_mut(index).and_then(Value::as_inline_table_mut) {
                    match t.get_mut("weight") {
                        Some(v) => replace_keeping_decor(v, value),
                        None => push_inline(t, "weight", value),
                    }
                }
            }
        }
    }

    /// Appends an entry; `position` orders a new table among the document's tables (see
    /// [`EditableFile::new_replica_position`]). An inline entry is laid out like the one
    /// before it: on its own line, indented the same, in a list written one per line; after
    /// `, ` in a list written on one line.
    fn push(&mut self, address: &str, weight: u32, position: isize) {
        match self {
            Replicas::Tables(a) => {
                let mut table = Table::new();
                table.insert("address", Item::Value(Value::from(address)));
                table.insert("weight", Item::Value(Value::from(i64::from(weight))));
                table.set_position(Some(position));
                a.push(table);
            }
            Replicas::Inline(a) => {
                let last = a.len().checked_sub(1).and_then(|i| {
                    let v = a.get_mut(i)?;
                    let prefix = decor_str(v.decor().prefix());
                    let suffix = decor_str(v.decor().suffix());
                    Some((v, prefix, suffix))
                });
                let decor = last.map(|(last, prefix, suffix)| {
                    let indent = match prefix.rfind('\n') {
                        Some(at) => format!("\n{}", &prefix[at + 1..]),
                        None => " ".to_string(),
                    };
                    match suffix.rfind('\n') {
                        // A list without a trailing comma keeps its closing line break (and
                        // any comment after the last entry) in that entry's suffix: the comma
                        // must come before them, so they move to the new entry.
                        Some(at) => {
                            last.decor_mut().set_suffix("");
                            (
                                format!("{}{indent}", &suffix[..at]),
                                suffix[at..].to_string(),
                            )
                        }
                        None => (indent, String::new()),
                    }
                });
                // After a trailing comma, a comment on the last entry's line is the start of
                // what precedes `]`; it stays on that entry's line, before the new entry.
                let mut decor = decor;
                if let (true, Some((prefix, _))) = (a.trailing_comma(), decor.as_mut()) {
                    let trailing = decor_str(Some(a.trailing()));
                    if let Some(at) = trailing.find('\n') {
                        if trailing[..at].contains('#') {
                            *prefix = format!("{}{prefix}", &trailing[..at]);
                            a.set_trailing(&trailing[at..]);
                        }
                    }
                }
                a.push(replica_table(address, weight));
                if let Some((prefix, suffix)) = decor {
                    let new = a.get_mut(a.len() - 1).expect("just pushed");
                    new.decor_mut().set_prefix(prefix);
                    new.decor_mut().set_suffix(suffix);
                }
            }
        }
    }

    /// Removes entry `index`. A table is returned so its comments can be kept (they sit
    /// between tables of the document); an inline entry's are kept here, by the same rule:
    /// comment lines above the entry stay (they may describe the list, and the line the
    /// entry sat on may end with the previous entry's comment); the entry and the comment on
    /// its own line go.
    ///
    /// In `toml_edit`'s terms a list is `[` prefix₀ value₀ suffix₀ `,` prefix₁ value₁ … `]`:
    /// a comment after an entry's comma starts the next entry's prefix, comment lines above
    /// an entry end its own prefix, and whatever follows the last entry (after its comma if
    /// there is one) is the list's trailing text or, without a trailing comma, that entry's
    /// suffix.
    fn remove(&mut self, index: usize) -> Option<Table> {
        match self {
            Replicas::Tables(a) => Some(a.remove(index)),
            Replicas::Inline(a) => {
                let removed = a.remove(index);
                let prefix = decor_str(removed.decor().prefix());
                let suffix = decor_str(removed.decor().suffix());
                let above = match prefix.rfind('\n') {
                    Some(at) => prefix[..at].to_string(),
                    None => String::new(),
                };
                if let Some(next) = a.get_mut(index) {
                    let own = decor_str(next.decor().prefix());
                    let merged = match (own.find('\n'), prefix.contains('\n')) {
                        (Some(at), true) => format!("{above}{}", &own[at..]),
                        (Some(at), false) => {
                            format!("{}{}", prefix.trim_end_matches([' ', '\t']), &own[at..])
                        }
                        (None, _) => prefix,
                    };
                    next.decor_mut().set_prefix(merged);
                    return None;
                }
                let trailing = decor_str(Some(a.trailing()));
                let closing = if a.trailing_comma() {
                    &trailing
                } else {
                    &suffix
                };
                let rest = match closing.find('\n') {
                    Some(at) => closing[at..].to_string(),
                    // A comment line kept must not swallow the `]` (or `,`) after it.
                    None if !above.is_empty() => format!("\n{closing}"),
                    None => closing.clone(),
                };
                let kept = format!("{above}{rest}");
                if a.trailing_comma() {
                    a.set_trailing(kept);
                } else if index == 0 {
                    a.set_trailing(format!("{kept}{trailing}"));
                } else {
                    let last = a.get_mut(index - 1).expect("index > 0");
                    let own = decor_str(last.decor().suffix());
                    last.decor_mut().set_suffix(format!("{own}{kept}"));
                }
                None
            }
        }
    }
}

/// `{ address = "..." }`.
fn address_table(address: &str) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("address", Value::from(address));
    t
}

/// `{ address = "...", weight = N }`.
fn replica_table(address: &str, weight: u32) -> InlineTable {
    let mut t = address_table(address);
    t.insert("weight", Value::from(i64::from(weight)));
    t
}

/// Adds `key = value` at the end of an inline table. `toml_edit` would leave the space before
/// `}` on the previous value (`{ a = 1 , b = 2 }`); it moves to the new one.
fn push_inline(t: &mut InlineTable, key: &str, mut value: Value) {
    let mut closing = None;
    if let Some((_, last)) = t.iter_mut().last() {
        closing = Some(decor_str(last.decor().suffix()));
        last.decor_mut().set_suffix("");
    }
    if let Some(closing) = closing {
        value.decor_mut().set_suffix(closing);
        value.decor_mut().set_prefix(" ");
    }
    t.insert(key, value);
}

fn decor_str(raw: Option<&toml_edit::RawString>) -> String {
    raw.and_then(|r| r.as_str()).unwrap_or("").to_string()
}

/// The highest position of `table` and the tables under it that are printed with a header
/// (see [`EditableFile::new_replica_position`]).
fn max_position(table: &Table) -> Option<isize> {
    let mut max = table.position().filter(|_| is_header_table(table));
    for_each_header_table(table, &mut |t| {
        if let Some(p) = t.position() {
            max = Some(max.map_or(p, |m| m.max(p)));
        }
    });
    max
}

/// Sets `key` in `table`, keeping the existing value's surrounding whitespace and trailing
/// comment (`weight = 2  # canary`).
fn set_value(table: &mut Table, key: &str, value: Value) {
    match table.get_mut(key) {
        Some(Item::Value(v)) => replace_keeping_decor(v, value),
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// An item as written, without its surrounding whitespace and comment.
fn bare(item: &Item) -> String {
    let mut item = item.clone();
    if let Some(v) = item.as_value_mut() {
        v.decor_mut().clear();
    }
    item.to_string()
}

fn replace_keeping_decor(slot: &mut Value, value: Value) {
    let decor = slot.decor().clone();
    *slot = value;
    *slot.decor_mut() = decor;
}

/// Calls `f` on every table that is printed with a header (`[x]` or `[[x]]`), i.e. the ones
/// that carry a position and a header decor.
fn for_each_header_table(table: &Table, f: &mut dyn FnMut(&Table)) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => {
                if is_header_table(t) {
                    f(t);
                }
                for_each_header_table(t, f);
            }
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    f(t);
                    for_each_header_table(t, f);
                }
            }
            _ => {}
        }
    }
}

/// Calls `f` on the header table at `position`; whether one was found.
fn with_header_table_mut(
    table: &mut Table,
    position: isize,
    f: &mut dyn FnMut(&mut Table),
) -> bool {
    for (_, item) in table.iter_mut() {
        let found = match item {
            Item::Table(t) => {
                if is_header_table(t) && t.position() == Some(position) {
                    f(t);
                    true
                } else {
                    with_header_table_mut(t, position, f)
                }
            }
            Item::ArrayOfTables(a) => a.iter_mut().any(|t| {
                if t.position() == Some(position) {
                    f(t);
                    true
                } else {
                    with_header_table_mut(t, position, f)
                }
            }),
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// A table with its own `[header]` line: not a dotted key (`a.b = 1`) and not an implicit
/// parent that is never printed (`a` in `[a.b]`).
fn is_header_table(t: &Table) -> bool {
    let hidden_parent = t.is_implicit() && t.get_values().is_empty();
    !t.is_dotted() && !hidden_parent
}

#[cfg(test)]
mod tests;
