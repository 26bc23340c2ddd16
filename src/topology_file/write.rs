//! The safe write of `topology_file`: the lock every writer takes first, and the atomic
//! replacement of the file (temporary file, fsync, permissions, rename, directory fsync).

use super::*;
use std::os::unix::fs::OpenOptionsExt;

// ---------------------------------------------------------------------------------------------
// Locking and writing
// ---------------------------------------------------------------------------------------------

/// `<path>.lock`.
pub(super) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens (creating if needed) and exclusively locks `<path>.lock`, waiting for other holders.
/// The lock is `flock(2)`-style: it belongs to the open file, so it is released when the file
/// is closed — including when the process dies — and a crashed hook cannot leave it stuck.
pub(super) fn lock_file(path: &Path) -> anyhow::Result<File> {
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
pub(super) fn apply_locked(path: &Path, edit: &Edit) -> anyhow::Result<EditOutcome> {
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
pub(super) fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.tmp.")
}

/// Replaces `path` with `text` so that readers and crashes see either the old or the new
/// content, never a partial file.
pub(super) fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
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

    // Created readable by its owner only (whatever the umask), and given the original's owner
    // and mode before a byte of the text is in it: the file holds the passwords, and another
    // local user must never be able to read it, not even for the moment before a chmod.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut guard = TempGuard(&tmp, false);
    let ctx = || format!("cannot write {}", tmp.display());
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
    file.write_all(text.as_bytes()).with_context(ctx)?;
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
pub(super) fn remove_stale_temp_files(path: &Path) {
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
