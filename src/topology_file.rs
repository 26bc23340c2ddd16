//! Editing the topology part of `proxy.toml` from lifecycle hooks (`rwsplit topology ...`).
//!
//! Orchestrators call these hooks when a server appears, disappears or is promoted, often
//! several at once and sometimes twice for the same event. So an edit here:
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
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use crate::config::{Config, DEFAULT_WEIGHT, MAX_WEIGHT};

/// A change to the topology section of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Add a `[[replicas]]` entry. With `weight: None` a new entry gets `weight = 1`; an
    /// existing entry is then left alone. With `Some(w)` an existing entry's weight is set to `w`.
    AddReplica {
        address: String,
        weight: Option<u32>,
    },
    /// Remove the `[[replicas]]` entry with this address; absent is not an error.
    RemoveReplica { address: String },
    /// Set `[master] address`. A replica with that address is removed from `[[replicas]]` (a
    /// promoted server stops being a read target); the old master is not added as a replica,
    /// since it is usually gone or about to be re-provisioned.
    SetMaster { address: String },
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
/// It shows what the proxy would use — the validated configuration, with default weights
/// filled in — so an invalid file is an error listing its problems.
pub fn list(path: &Path) -> anyhow::Result<String> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = validate(&text, &path.display().to_string()).map_err(|e| anyhow!("{e}"))?;
    let mut out = format!("master  {}\n", config.master.address);
    for r in &config.replicas {
        out.push_str(&format!("replica {} weight {}\n", r.address, r.weight));
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

/// `edit` with its address trimmed, after checking the address and weight syntax.
fn checked(edit: &Edit) -> anyhow::Result<Edit> {
    Ok(match edit {
        Edit::AddReplica { address, weight } => {
            if let Some(w) = *weight {
                if w > MAX_WEIGHT {
                    bail!("weight {w} is out of range 0..={MAX_WEIGHT}");
                }
            }
            Edit::AddReplica {
                address: checked_address(address)?,
                weight: *weight,
            }
        }
        Edit::RemoveReplica { address } => Edit::RemoveReplica {
            address: checked_address(address)?,
        },
        Edit::SetMaster { address } => Edit::SetMaster {
            address: checked_address(address)?,
        },
    })
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

/// A parsed config file plus what is needed to write it back byte-for-byte: `toml_edit`
/// normalizes line endings to `\n`, drops a byte-order mark and adds a final newline, so those
/// are restored when rendering.
struct EditableFile {
    doc: DocumentMut,
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
    fn apply(&mut self, edit: &Edit, origin: &str) -> anyhow::Result<(bool, String)> {
        match edit {
            Edit::AddReplica { address, weight } => self.add_replica(address, *weight, origin),
            Edit::RemoveReplica { address } => Ok(match self.remove_replica(address, origin)? {
                true => (
                    true,
                    format!("removed replica {address}{}", self.none_left()),
                ),
                false => (
                    false,
                    format!("replica {address} not present: nothing to do"),
                ),
            }),
            Edit::SetMaster { address } => self.set_master(address, origin),
        }
    }

    /// `; no replicas left, ...` when the last replica is gone, so the operator learns that
    /// all reads now go to the master.
    fn none_left(&self) -> &'static str {
        let empty = match self.doc.get("replicas") {
            Some(Item::ArrayOfTables(a)) => a.is_empty(),
            _ => true,
        };
        if empty {
            "; no replicas left: reads go to the master"
        } else {
            ""
        }
    }

    fn add_replica(
        &mut self,
        address: &str,
        weight: Option<u32>,
        origin: &str,
    ) -> anyhow::Result<(bool, String)> {
        if self.master_address().is_some_and(|m| m == address) {
            bail!("{address} is the master in {origin}; it cannot also be a replica");
        }
        let new_position = self.new_replica_position();
        if self.replicas_mut(origin)?.is_none() {
            self.doc
                .insert("replicas", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        let replicas = self.replicas_mut(origin)?.expect("inserted above");
        if let Some(existing) = find_replica(replicas, address) {
            let table = replicas.get_mut(existing).expect("index from find_replica");
            // No `weight` line means the default; a non-integer one (an invalid file) is
            // shown as written and never equals a requested weight.
            let (current, shown) = match table.get("weight") {
                None => (Some(i64::from(DEFAULT_WEIGHT)), DEFAULT_WEIGHT.to_string()),
                Some(w) => (w.as_integer(), bare(w)),
            };
            return Ok(match weight {
                Some(w) if current != Some(i64::from(w)) => {
                    set_value(table, "weight", Value::from(i64::from(w)));
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
        let weight = weight.unwrap_or(DEFAULT_WEIGHT);
        let mut table = Table::new();
        table.insert("address", Item::Value(Value::from(address)));
        table.insert("weight", Item::Value(Value::from(i64::from(weight))));
        table.set_position(Some(new_position));
        replicas.push(table);
        Ok((true, format!("added replica {address} (weight {weight})")))
    }

    /// Removes the replica with `address`; `false` if there is none.
    fn remove_replica(&mut self, address: &str, origin: &str) -> anyhow::Result<bool> {
        let Some(replicas) = self.replicas_mut(origin)? else {
            return Ok(false);
        };
        let Some(index) = find_replica(replicas, address) else {
            return Ok(false);
        };
        let removed = replicas.remove(index);
        if replicas.is_empty() {
            // An empty array of tables prints nothing; dropping the key keeps the document
            // free of a phantom entry.
            self.doc.remove("replicas");
        }
        self.keep_comments_of(&removed);
        Ok(true)
    }

    fn set_master(&mut self, address: &str, origin: &str) -> anyhow::Result<(bool, String)> {
        let master = self
            .doc
            .get_mut("master")
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| anyhow!("{origin} has no [master] table"))?;
        let old = master
            .get("address")
            .and_then(Item::as_str)
            .map(|a| a.trim().to_string());
        let master_changed = old.as_deref() != Some(address);
        if master_changed {
            match master.get_mut("address") {
                Some(Item::Value(v)) => replace_keeping_decor(v, Value::from(address)),
                _ => {
                    master.insert("address", Item::Value(Value::from(address)));
                }
            }
        }
        let was_replica = self.remove_replica(address, origin)?;
        let mut message = match (&old, master_changed) {
            (_, false) => format!("master is already {address}"),
            (Some(old), true) => format!("master changed from {old} to {address}"),
            (None, true) => format!("master set to {address}"),
        };
        if was_replica {
            message.push_str(&format!(
                "; {address} removed from the replicas{}",
                self.none_left()
            ));
        }
        let changed = master_changed || was_replica;
        if !changed {
            message.push_str(": nothing to do");
        }
        Ok((changed, message))
    }

    /// `[master] address`, trimmed, if present.
    fn master_address(&self) -> Option<String> {
        self.doc
            .get("master")
            .and_then(Item::as_table_like)
            .and_then(|m| m.get("address"))
            .and_then(Item::as_str)
            .map(|a| a.trim().to_string())
    }

    /// The `[[replicas]]` array, `None` when the file has no replicas.
    /// The inline form `replicas = [{ ... }]` is valid TOML but refused: appending to it while
    /// keeping its layout is guesswork, and the documented form is `[[replicas]]`.
    fn replicas_mut(&mut self, origin: &str) -> anyhow::Result<Option<&mut ArrayOfTables>> {
        match self.doc.get_mut("replicas") {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
            Some(_) => bail!(
                "`replicas` in {origin} is not written as [[replicas]] tables; \
                 rewrite it in that form so hooks can edit it"
            ),
        }
    }

    /// Where a new `[[replicas]]` table goes in the output: right after the last existing
    /// one (tables with equal positions keep document order, and the new table is the next
    /// one in that order), so the entries stay grouped; with none, after every other table,
    /// i.e. at the end of the file.
    fn new_replica_position(&self) -> isize {
        if let Some(Item::ArrayOfTables(a)) = self.doc.get("replicas") {
            if let Some(pos) = a.iter().filter_map(Table::position).max() {
                return pos;
            }
        }
        let mut max = 0;
        for_each_header_table(self.doc.as_table(), &mut |t| {
            if let Some(p) = t.position() {
                max = max.max(p);
            }
        });
        max + 1
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

/// Index of the `[[replicas]]` entry whose address equals `address` (exact match after
/// trimming; no DNS and no normalization, so `localhost` and `127.0.0.1` differ — the config
/// loader's duplicate check, which does normalize, still guards the result).
fn find_replica(replicas: &ArrayOfTables, address: &str) -> Option<usize> {
    replicas.iter().position(|t| {
        t.get("address")
            .and_then(Item::as_str)
            .is_some_and(|a| a.trim() == address)
    })
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
