//! Reading the inputs: the files and folders named on the command line
//! (walked in order, `--exclude` globs applied, each file read once even
//! when reached twice), large files read in parts on several cores, and
//! stdin. Used by every command and by `watch`; it knows nothing of the
//! commands and writes nothing.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::Source;

/// Reads files and folders (recursively) into sources, each file once.
pub fn collect_sources(paths: &[String], exclude: &[String]) -> io::Result<Vec<Source>> {
    read_sources(paths, exclude, 0)
}

/// `collect_sources` on `jobs` threads (0: every core): a tree of small
/// files is mostly system calls, which run on every core like the parse.
/// Files are listed first, read in parallel, then taken in order: the
/// first of two paths to one file is kept, and the first error in the
/// order of the paths is the one returned, as when read one by one.
pub fn read_sources(paths: &[String], exclude: &[String], jobs: usize) -> io::Result<Vec<Source>> {
    let excludes = Excludes::new(exclude)?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut listing = Ok(());
    for p in paths {
        let path = Path::new(p);
        let found = fs::metadata(path)
            .map_err(|e| with_path(e, path))
            .and_then(|meta| {
                if meta.is_dir() {
                    walk(path, excludes.as_ref())
                } else {
                    Ok(vec![path.to_path_buf()])
                }
            });
        match found {
            Ok(found) => files.extend(found),
            Err(e) => {
                listing = Err(e);
                break;
            }
        }
    }
    // One file alone (a `helm template` output, say) is read on every job.
    let jobs_per_file = if files.len() == 1 {
        crate::load::resolve_jobs(jobs)
    } else {
        1
    };
    let read = crate::load::parallel_map(&files, jobs, |path| read_file(path, jobs_per_file));
    let mut sources = Vec::with_capacity(files.len());
    let mut seen: BTreeSet<FileId> = BTreeSet::new();
    for (path, r) in files.iter().zip(read) {
        let (id, content) = r.map_err(|e| with_path(e, path))?;
        if seen.insert(id) {
            sources.push(Source::new(path.display().to_string(), content));
        }
    }
    listing.map(|()| sources)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
}

/// What makes two paths one file: its device and inode where there are
/// some (found with the open file, no further system call), else its
/// canonical path.
#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(unix)]
fn file_id(_path: &Path, meta: &fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(path: &Path, _meta: &fs::Metadata) -> FileId {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The bytes of `path` and what identifies the file (two paths to one
/// file, named twice or through a symlink or a hard link, give one id).
/// Canonicalising every path cost a system call per path component: with
/// a file per app that was most of the time spent reading a tree.
fn read_file(path: &Path, jobs: usize) -> io::Result<(FileId, Vec<u8>)> {
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    let len = usize::try_from(meta.len()).unwrap_or(0);
    #[cfg(unix)]
    if jobs > 1
        && len >= PARALLEL_READ
        && let Some(content) = read_in_parts(&file, len, jobs)
    {
        return Ok((file_id(path, &meta), content));
    }
    let mut content = Vec::with_capacity(len);
    // Through `Take`: `File`'s own read_to_end asks the size again (two
    // more system calls) though the room is made already.
    file.take(u64::MAX).read_to_end(&mut content)?;
    Ok((file_id(path, &meta), content))
}

/// Files from this size on are read in parts on every job.
#[cfg(unix)]
const PARALLEL_READ: usize = 8 << 20;

/// The `len` bytes of `file` read in `jobs` parts at once (copying a large
/// file out of the page cache into fresh memory is bound by the faults on
/// that memory, which every core can take). None when the file is not
/// `len` bytes long any more: it is then read from its start as any other.
#[cfg(unix)]
fn read_in_parts(file: &fs::File, len: usize, jobs: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt as _;
    let mut content = vec![0u8; len];
    let part = len.div_ceil(jobs);
    let whole = std::thread::scope(|s| {
        let parts: Vec<_> = content
            .chunks_mut(part)
            .enumerate()
            .map(|(i, chunk)| s.spawn(move || file.read_exact_at(chunk, (i * part) as u64)))
            .collect();
        parts.into_iter().all(|p| matches!(p.join(), Ok(Ok(()))))
    });
    // Nothing may follow: the file grew since its length was asked.
    let mut probe = [0u8; 1];
    (whole && matches!(file.read_at(&mut probe, len as u64), Ok(0))).then_some(content)
}

/// The manifest files below `root`: `*.yaml`, `*.yml`, `*.json`; hidden
/// folders, excluded paths and symlink loops skipped; sorted.
fn walk(root: &Path, excludes: Option<&Excludes>) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let it = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_dir() && name.starts_with('.') {
                return false;
            }
            let Some(excludes) = excludes else {
                return true;
            };
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            let rel = rel.to_string_lossy().replace('\\', "/");
            !excludes.matches(&rel, &name)
        });
    for entry in it {
        let entry = match entry {
            Ok(e) => e,
            // A symlink loop or a vanished file inside a walk is skipped; an
            // unreadable folder is an error.
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::other("walk failed"));
                if io.kind() == io::ErrorKind::NotFound {
                    continue;
                }
                return Err(with_path(io, &path));
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json") {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// The `--exclude` globs, compiled once: one without `/` matches a file
/// or folder name anywhere in a walk, one with `/` the path below the
/// folder given (`./` and a trailing `/` ignored). `*` and `?` stay within
/// a folder, `**` spans folders.
pub struct Excludes {
    names: GlobSet,
    paths: GlobSet,
}

impl Excludes {
    /// None when there are no globs; a glob that does not parse is an
    /// `InvalidInput` error naming it.
    pub fn new(globs: &[String]) -> io::Result<Option<Excludes>> {
        if globs.is_empty() {
            return Ok(None);
        }
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for glob in globs {
            let g = glob.trim_end_matches('/');
            let (set, pattern) = if g.contains('/') {
                (&mut paths, g.trim_start_matches("./"))
            } else {
                (&mut names, g)
            };
            let compiled = GlobBuilder::new(pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("--exclude {glob:?}: {}", e.kind()),
                    )
                })?;
            set.add(compiled);
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--exclude: {e}")))
        };
        Ok(Some(Excludes {
            names: build(names)?,
            paths: build(paths)?,
        }))
    }

    /// Whether the entry at `rel` (below the folder walked, `/`-separated)
    /// named `name` is excluded.
    pub fn matches(&self, rel: &str, name: &str) -> bool {
        self.names.is_match(name) || self.paths.is_match(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file read in parts on several jobs is the file's bytes; a
    /// file whose length is not the one asked for (it grew or shrank
    /// since) is left to the plain read.
    #[cfg(unix)]
    #[test]
    fn large_file_read_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        // Not a multiple of any job count below, every byte telling its place.
        let len = PARALLEL_READ + 4099;
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &bytes).unwrap();
        for jobs in [1, 2, 3, 7] {
            let (_, content) = read_file(&path, jobs).unwrap();
            assert!(content == bytes, "jobs {jobs}");
        }
        let name = path.display().to_string();
        let sources = read_sources(&[name], &[], 3).unwrap();
        assert!(sources.first().is_some_and(|s| s.content == bytes));
        let file = fs::File::open(&path).unwrap();
        assert!(read_in_parts(&file, len, 2).is_some_and(|c| c == bytes));
        assert!(read_in_parts(&file, len - 1, 2).is_none(), "grew");
        assert!(read_in_parts(&file, len + 1, 2).is_none(), "shrank");
    }

    fn excluded(glob: &str, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let ex = Excludes::new(&[glob.to_string()]).unwrap().unwrap();
        ex.matches(rel, name)
    }

    #[test]
    fn globs() {
        assert!(excluded("archive", "k8s/archive"));
        assert!(
            excluded("*.json", "d/a.json"),
            "a name glob matches at any depth"
        );
        assert!(
            !excluded("d/*.json", "d/e/a.json"),
            "`*` stays within a folder"
        );
        assert!(excluded("**/templates", "charts/x/templates"));
        assert!(excluded("archive/**", "archive/a/b.yaml"));
        assert!(!excluded("archive/**", "x/archive/a.yaml"));
        assert!(excluded("a?c", "abc"));
        assert!(!excluded("x/a?c", "x/a/c"));
        assert!(excluded("k8s/archive/", "k8s/archive"));
        assert!(excluded("./k8s/archive", "k8s/archive"));
        assert!(!excluded("k8s/archive", "x/archive"));
        assert!(excluded("*.{json,yml}", "a.yml"));
        assert!(excluded("[ab].yaml", "b.yaml"));
        assert!(Excludes::new(&[]).unwrap().is_none());
        let bad = Excludes::new(&["apps/[a".to_string()]).err().unwrap();
        assert_eq!(bad.kind(), io::ErrorKind::InvalidInput);
        assert!(bad.to_string().contains("apps/[a"), "{bad}");
    }

    /// Many `*` against a long name that fails at its end: a backtracking
    /// matcher takes exponential time here; the compiled set answers.
    #[test]
    fn many_stars_are_answered() {
        let glob = "*a".repeat(30) + "b";
        let name = "a".repeat(200);
        assert!(!excluded(&glob, &name));
    }
}
