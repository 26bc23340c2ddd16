//! Reloading proxy.toml while the proxy runs: on SIGHUP and whenever the file changes.
//!
//! Both triggers call the same [`reload`]: the file is parsed and validated completely into a
//! new snapshot, and only a valid one is swapped in; otherwise the old topology stays, the
//! problems are logged with file, line and key, and the failure is counted. Lifecycle hooks
//! (`rwsplit topology add-replica ...`) write the file with a rename, so a half-written file is
//! never read; the directory is watched (not the file) so renames are seen. A file written in
//! place is read when its writer closes it, never on the writes before.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use crate::config::Config;
use crate::shared::Shared;
use crate::topology::Topology;

/// How long a burst of file events is collected before one reload.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Unchanged,
}

/// Reads `path` and the certificate files it names (file I/O: call it off the event loop).
fn load(path: &Path) -> Result<(Config, crate::tls::TlsSetup), String> {
    let config = Config::from_file(path).map_err(|e| e.to_string())?;
    // Certificate files are read now, so a bad one keeps everything as it is.
    let tls = crate::tls::TlsSetup::load(config.tls.as_ref())?;
    Ok((config, tls))
}

/// Reads `path`, validates it, and swaps in the new topology if it is valid and different.
/// Blocking (file I/O); from async code use [`reload_off_thread`].
pub fn reload(shared: &Shared, path: &Path) -> Result<Outcome, String> {
    apply(shared, path, load(path))
}

/// [`reload`] with the files read on the blocking pool, so a slow disk or a large file never
/// stalls the sessions on the event loop.
pub async fn reload_off_thread(shared: &Shared, path: &Path) -> Result<Outcome, String> {
    let p = path.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || load(&p))
        .await
        .unwrap_or_else(|e| Err(format!("reading the configuration failed: {e}")));
    apply(shared, path, loaded)
}

fn apply(
    shared: &Shared,
    path: &Path,
    loaded: Result<(Config, crate::tls::TlsSetup), String>,
) -> Result<Outcome, String> {
    let (mut config, tls) = match loaded {
        Ok(x) => x,
        Err(e) => {
            shared.reloads_failed.fetch_add(1, Ordering::Relaxed);
            error!(file = %path.display(), "reload failed, keeping the running topology:\n{e}");
            return Err(e);
        }
    };
    shared.tls.store(Arc::new(tls));
    // Grants are not in the file: an operator who revoked a privilege reloads to see it.
    shared.read_only_bypass.request_check();
    let old = shared.topology.load_full();
    if config.listen != old.config.listen {
        warn!(
            running = %old.config.listen,
            file = %config.listen,
            "`listen` changed in the file: needs a restart; still listening on the old address"
        );
        config.listen = old.config.listen.clone();
    }
    if *old.config == config {
        return Ok(Outcome::Unchanged);
    }
    // A rule unchanged at its position keeps counting where it was.
    config.rules.inherit_hits(&old.config.rules);
    let new = Topology::from_config(Arc::new(config), Some(&old));
    for c in &new.clusters {
        let Some(o) = old.clusters.iter().find(|o| o.name == c.name) else {
            info!(cluster = %c.name, master = %c.master.address, replicas = c.replicas.len(), "cluster added");
            continue;
        };
        if c.master.address != o.master.address {
            info!(cluster = %c.name, old = %o.master.address, new = %c.master.address, "master changed: new writes go to the new master");
        }
        for r in &c.replicas {
            if !o.replicas.iter().any(|x| x.address == r.address) {
                info!(cluster = %c.name, replica = %r.address, weight = r.weight, "replica added");
            }
        }
        for r in &o.replicas {
            if !c.replicas.iter().any(|n| n.address == r.address) {
                info!(cluster = %c.name, replica = %r.address, "replica removed: draining (no new reads, running statements finish)");
            }
        }
    }
    for o in &old.clusters {
        if !new.clusters.iter().any(|c| c.name == o.name) {
            info!(cluster = %o.name, "cluster removed: its sessions move at their next statement; open transactions finish where they are");
        }
    }
    shared.swap(new);
    shared.reloads_ok.fetch_add(1, Ordering::Relaxed);
    info!(file = %path.display(), "configuration reloaded");
    Ok(Outcome::Applied)
}

/// Reloads on SIGHUP and on changes to the config file, until the runtime stops.
pub fn spawn_triggers(shared: Arc<Shared>, path: PathBuf, watch: bool) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();

    // SIGHUP: the handler is installed before this returns, so an early signal reloads
    // instead of killing the process (SIGHUP's default action).
    let hup_tx = tx.clone();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let _ = hup_tx.send("SIGHUP");
                }
            });
        }
        Err(e) => error!(error = %e, "cannot install the SIGHUP handler"),
    }

    // File watch: the directory, filtered to the file's name.
    let watcher = if watch { watch_file(&path, tx) } else { None };

    tokio::spawn(async move {
        let _watcher = watcher; // dropping it would stop the watch
        while let Some(why) = rx.recv().await {
            // Collect the rest of a burst (editors and hooks write several events), and again
            // while events keep coming: a file that changed while it was being read (its rules
            // gone for a moment and back) is read again, and only the settled text is applied.
            loop {
                tokio::time::sleep(DEBOUNCE).await;
                let mut more = false;
                while rx.try_recv().is_ok() {
                    more = true;
                }
                if !more {
                    break;
                }
            }
            let outcome = reload_off_thread(&shared, &path).await;
            if outcome == Ok(Outcome::Unchanged) {
                tracing::debug!(trigger = why, "config file unchanged");
            }
        }
    });
}

fn watch_file(
    path: &Path,
    tx: tokio::sync::mpsc::UnboundedSender<&'static str>,
) -> Option<notify::RecommendedWatcher> {
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    use notify::{EventKind, RecursiveMode, Watcher};
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = abs.file_name().map(|n| n.to_os_string());
    let mut watcher =
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            // A file is read once it is complete: when its writer closes it (a writer that
            // rewrites it in place may pause half-way: its first half without the [[rules]]
            // must never be applied), or when it is renamed or created in place (hooks).
            // Writes themselves (IN_MODIFY), reads and metadata changes are not a reason.
            let complete = matches!(
                ev.kind,
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                    | EventKind::Create(_)
                    | EventKind::Remove(_)
                    | EventKind::Modify(ModifyKind::Name(_))
            );
            if !complete {
                return;
            }
            if ev
                .paths
                .iter()
                .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            {
                let _ = tx.send("file change");
            }
        }) {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "cannot watch the config file; reload with SIGHUP");
                return None;
            }
        };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        warn!(dir = %dir.display(), error = %e, "cannot watch the config directory; reload with SIGHUP");
        return None;
    }
    Some(watcher)
}
