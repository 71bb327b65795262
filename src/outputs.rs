//! Writing the outputs: `upstreams.yaml` atomically (a temporary file in
//! the same folder, then a rename) and only when its bytes change; cert
//! files in place (Synapse's cert watcher ignores renames); the list of
//! what synroute owns in the certs folder, and pruning what it no longer
//! needs — never any other file. Used by `render` and `watch`; it knows
//! nothing of the commands.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::Rendered;
use crate::emit::certs::{CertFile, OWNED_LIST};

/// Writes a render: cert files first (in place), then `upstreams.yaml`
/// (atomically; not when `output` is None, the caller prints it), then
/// prunes the cert files no longer needed — the order in which Synapse
/// never sees a host whose certificate is missing. True when any file
/// changed.
pub fn write_outputs(
    output: Option<&Path>,
    certs_out: Option<&Path>,
    r: &Rendered,
    upstreams: Emit<'_>,
) -> io::Result<bool> {
    let mut changed = false;
    let previously_owned = match certs_out {
        Some(dir) => {
            let (old, c) = write_certs(dir, &r.certs)?;
            changed |= c;
            Some(old)
        }
        None => None,
    };
    if let Some(path) = output {
        changed |= write_atomic_if_changed(path, upstreams)?;
    }
    if let (Some(dir), Some(old)) = (certs_out, previously_owned) {
        changed |= prune_certs(dir, &old, &r.certs)?;
    }
    Ok(changed)
}

/// The empty-render guard: a diagnostic when `r` routes no host and the
/// file at `output` — the one the proxy reads — routes some. Writing it
/// would drop every site at once, and an empty render is far more often a
/// mistake (a wrong class, namespace or Gateway filter; an empty checkout;
/// CRDs not yet installed) than a wish. None when the render routes
/// something, or the file is missing, empty or not a routing file.
pub fn empty_render_refusal(output: &Path, r: &Rendered) -> Option<crate::diag::Diagnostic> {
    if !r.table.hosts.is_empty() || !fs::metadata(output).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let text = fs::read_to_string(output).ok()?;
    // A routing file, or a ConfigMap synroute emitted that holds one.
    let hosts = crate::route::file::routed_hosts(&text)
        .or_else(|| {
            let inner = crate::gitops::routing_file_of(&text)?;
            crate::route::file::routed_hosts(&inner)
        })
        .filter(|n| *n > 0)?;
    let mut d = crate::diag::Diagnostic::new(
        crate::diag::Code::EmptyRenderRefused,
        format!(
            "the render routes no host, and {} routes {hosts} host{}: writing it would take them all down; nothing was written and the file stays as it was",
            output.display(),
            if hosts == 1 { "" } else { "s" }
        ),
    );
    d.location = Some(crate::diag::Location {
        file: output.display().to_string(),
        line: 1,
        column: None,
    });
    d.hint = Some(
        "check --ingress-class, --namespace, --gateway and the input paths; pass --allow-empty when routing nothing is meant".to_string(),
    );
    Some(d)
}

/// Something that writes a file's bytes to a writer (`upstreams.yaml` from
/// the table, or bytes already built).
pub type Emit<'a> = &'a dyn Fn(&mut dyn Write) -> io::Result<()>;

/// Writes what `emit` writes to `path` through a temporary file in the
/// same folder and a rename, unless the file already holds exactly those
/// bytes.
pub fn write_atomic_if_changed(path: &Path, emit: Emit<'_>) -> io::Result<bool> {
    // A device, a pipe or a socket (`-o /dev/null`, `-o /dev/stdout`) is
    // written to as it is: a rename would put a regular file in its place
    // (as root, /dev/null itself).
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut w =
            io::BufWriter::new(fs::OpenOptions::new().write(true).open(path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
            })?);
        emit(&mut w)?;
        w.flush()?;
        return Ok(true);
    }
    if holds(path, emit) {
        return Ok(false);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.synroute-{}.tmp", std::process::id()));
    let result = (|| {
        let mut w = io::BufWriter::with_capacity(1 << 16, fs::File::create(&tmp)?);
        emit(&mut w)?;
        w.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))?;
    Ok(true)
}

/// True when the file at `path` holds exactly what `emit` writes: compared
/// as it is written, so that a large output is never held, and given up
/// at the first difference.
pub(crate) fn holds(path: &Path, emit: Emit<'_>) -> bool {
    /// Compares what is written with what a file holds; fails at the
    /// first difference, which ends the writing early.
    struct Same {
        file: io::BufReader<fs::File>,
        block: Vec<u8>,
    }
    impl Write for Same {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.block.resize(buf.len(), 0);
            self.file.read_exact(&mut self.block)?;
            if self.block != buf {
                return Err(io::Error::other("differs"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let Ok(file) = fs::File::open(path) else {
        return false;
    };
    let mut same = Same {
        file: io::BufReader::with_capacity(1 << 16, file),
        block: Vec::new(),
    };
    // All written alike, and nothing left in the file.
    emit(&mut same).is_ok() && same.file.read(&mut [0u8; 1]).is_ok_and(|n| n == 0)
}

/// A name synroute may create or remove inside the certs folder.
fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']) && name != OWNED_LIST
}

pub(crate) fn read_owned(dir: &Path) -> BTreeSet<String> {
    fs::read_to_string(dir.join(OWNED_LIST))
        .map(|s| {
            s.lines()
                .map(str::trim)
                // The header is a comment, not a file synroute wrote.
                .filter(|l| !l.starts_with('#') && safe_name(l))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the cert files in place, only where the content changed, and
/// records them as owned. Returns what was owned before.
/// Returns the files owned before and whether any file changed.
fn write_certs(
    dir: &Path,
    files: &BTreeMap<String, CertFile>,
) -> io::Result<(BTreeSet<String>, bool)> {
    fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
    let old = read_owned(dir);
    let mut changed = false;
    for (name, file) in files {
        if !safe_name(name) {
            continue;
        }
        changed |= write_in_place(&dir.join(name), &file.bytes, file.private)?;
    }
    let mut owned: BTreeSet<String> = files.keys().filter(|n| safe_name(n)).cloned().collect();
    // Files that are owned until pruned stay listed until then.
    owned.extend(old.iter().cloned());
    write_owned(dir, &owned)?;
    Ok((old, changed))
}

fn write_owned(dir: &Path, owned: &BTreeSet<String>) -> io::Result<()> {
    let mut text =
        String::from("# Files written by synroute; it removes them when no longer needed.\n");
    for n in owned {
        text.push_str(n);
        text.push('\n');
    }
    write_atomic_if_changed(&dir.join(OWNED_LIST), &|w: &mut dyn Write| {
        w.write_all(text.as_bytes())
    })
    .map(|_| ())
}

/// Writes a file in place (Synapse's cert watcher ignores renames). A
/// symlink at that name is replaced by a regular file, so nothing is ever
/// written outside the folder.
fn write_in_place(path: &Path, bytes: &[u8], private: bool) -> io::Result<bool> {
    let err =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()));
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::remove_file(path).map_err(err)?,
        Ok(m) if m.is_dir() => {
            return Err(err(io::Error::other("a folder has that name")));
        }
        Ok(_) => {
            if fs::read(path).is_ok_and(|old| old == bytes) {
                set_mode(path, private).map_err(err)?;
                return Ok(false);
            }
        }
        Err(_) => {}
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    set_mode(path, private).map_err(err)?;
    Ok(true)
}

fn set_mode(path: &Path, private: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let want = if private { 0o600 } else { 0o644 };
        let cur = fs::metadata(path)?.permissions().mode() & 0o777;
        if cur != want {
            fs::set_permissions(path, fs::Permissions::from_mode(want))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, private);
    Ok(())
}

/// Removes files synroute wrote before and no longer needs; nothing else.
fn prune_certs(
    dir: &Path,
    old: &BTreeSet<String>,
    files: &BTreeMap<String, CertFile>,
) -> io::Result<bool> {
    let mut removed = false;
    for name in old {
        if files.contains_key(name) || !safe_name(name) {
            continue;
        }
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() || m.file_type().is_symlink() => {
                fs::remove_file(&path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot remove {}: {e}", path.display()))
                })?;
                removed = true;
            }
            _ => {}
        }
    }
    let owned: BTreeSet<String> = files.keys().filter(|n| safe_name(n)).cloned().collect();
    write_owned(dir, &owned)?;
    Ok(removed)
}
