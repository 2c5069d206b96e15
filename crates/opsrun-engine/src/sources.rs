//! The content digests of `sources` files, and the cache that spares reading unchanged ones.
//!
//! A task's `sources` part of its fingerprint covers the content of every matching file. Reading
//! every file on every run is what made an up-to-date check of a large tree slow, so a
//! [`SourceCache`] remembers each file's digest with its metadata (size, modification and
//! change times to the nanosecond, inode, device) in `<state dir>/sources.cache`, and a file
//! whose metadata all match is not read. What changed is read and hashed on several threads.
//!
//! A cached digest is only as good as the metadata it was recorded with, so:
//!
//! - A file changed without changing its size is noticed by its modification time, and, when
//!   that was put back (`touch -d`), by its change time, which no one can set; a file replaced
//!   by another (a rename over it) has another inode.
//! - A digest is cached only when the file's newest time (modification or change) is older than
//!   the moment hashing started by [`RACY_MARGIN`]. A file written in the same clock tick as its
//!   digest was taken, and again after, can keep the same times and size (git's "racily clean"
//!   entries): such a file is hashed again by every run until it is old enough to be trusted.
//!   The margin covers file systems with coarse timestamps (2 s on FAT) and the kernel's coarse
//!   clock.
//! - The cache file is never trusted blindly: it is read without following a link, checked
//!   against its own digest, and ignored (then rebuilt) when anything about it is wrong. It is
//!   replaced atomically, once per run, only when it changed, through `private_fs`.
//!
//! One cache serves everything a process fingerprints (the preflight's and `explain`'s
//! predictions, the run's dispatcher for callers, each unit), so a file is read at most once per
//! process unless it changes (or is too new to trust). `explain` and `--dry-run` use the cache
//! file but never write it; a run writes it when it ends. A run without a state directory keeps
//! the cache in memory for the run only.
//!
//! The cache never decides anything: the fingerprint of the same content is the same with or
//! without it, so `state.json` files written before it existed stay valid.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opsrun_spec::{FileStamp, MatchedFile, matched_files};

/// The cache's file in the state directory.
pub(crate) const FILE_NAME: &str = "sources.cache";

/// How much older than the start of hashing a file's newest time must be for its digest to be
/// cached (see the module documentation).
pub(crate) const RACY_MARGIN: Duration = Duration::from_secs(2);

/// The format's name and version, first in the file.
const MAGIC: &[u8; 16] = b"opsrun-sources\0\x01";

/// Saves an entry survives without its file being seen, before it is dropped (files deleted
/// or no longer named by any task's sources).
const MAX_AGE: u16 = 32;

/// A larger cache file is ignored rather than read.
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Files one thread checks, at least, before another thread is worth starting.
const FILES_PER_THREAD: usize = 64;

/// Digests of source files by their metadata, shared by everything that fingerprints a run's
/// tasks (the run itself, `explain`, `--dry-run`, the preflight), so that a file is read at
/// most once per process while it does not change, and not at all while it matches what an
/// earlier run recorded (files changed in the last two seconds excepted: they are always
/// read).
///
/// Cloning shares the cache. [`SourceCache::open`] reads nothing until a task's sources are
/// first fingerprinted; a [`Runner`](crate::Runner) with a state directory opens one there
/// unless given one with [`Runner::source_cache`](crate::Runner::source_cache), and saves it
/// when the run ends.
#[derive(Clone, Default)]
pub struct SourceCache {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// `None`: kept in memory only.
    file: Option<PathBuf>,
    loaded: bool,
    /// The entries read from the file (sorted by key), as they are there.
    saved: Saved,
    /// Entries added in this process, by key; they replace a saved entry with the same key.
    added: HashMap<Box<str>, Entry>,
    /// An entry was added since the file was read.
    dirty: bool,
    /// Files read so far (for tests and `-vv`).
    read: usize,
}

/// A cache entry. Keys are paths relative to the project's directory (absolute outside it).
struct Entry {
    meta: Meta,
    digest: [u8; 32],
    /// Saves since the file was last seen.
    age: u16,
    /// Seen in this process.
    used: bool,
}

/// What must not change for a cached digest to stand.
type Meta = FileStamp;

/// The later of the modification and change times, in nanoseconds since the epoch.
fn newest(m: &Meta) -> i128 {
    let ns = |s: i64, n: u32| i128::from(s) * 1_000_000_000 + i128::from(n);
    ns(m.mtime, m.mtime_nsec).max(ns(m.ctime, m.ctime_nsec))
}

/// Whether a digest taken after `started` (nanoseconds since the epoch) may be cached: the
/// file was last touched [`RACY_MARGIN`] before.
fn settled(m: &Meta, started: i128) -> bool {
    let margin = crate::fault::racy_margin().unwrap_or(RACY_MARGIN);
    newest(m) < started - margin.as_nanos().cast_signed()
}

/// What one file contributes to a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileDigest {
    /// The blake3 digest of its content.
    Content([u8; 32]),
    /// It could not be read.
    Unreadable(io::ErrorKind),
}

impl SourceCache {
    /// The cache kept in `state_dir` (read when first needed; a missing, unreadable or damaged
    /// file is an empty cache).
    pub fn open(state_dir: impl Into<PathBuf>) -> SourceCache {
        let inner = Inner { file: Some(state_dir.into().join(FILE_NAME)), ..Inner::default() };
        SourceCache { inner: Arc::new(Mutex::new(inner)) }
    }

    /// A cache kept in memory only (what a run without a state directory uses).
    pub fn in_memory() -> SourceCache {
        SourceCache::default()
    }

    /// Writes the cache file if anything was added since it was read (atomically, `0600`,
    /// never through a link). Entries of files not seen for a while are dropped then. Nothing
    /// to do for a cache in memory.
    pub fn save(&self) -> io::Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(path) = inner.file.clone() else { return Ok(()) };
        if !inner.dirty {
            return Ok(());
        }
        let bytes = inner.encode();
        if let Some(dir) = path.parent() {
            crate::private_fs::create_dir(dir)?;
        }
        crate::private_fs::write_atomic(&path, &bytes, None)?;
        inner.dirty = false;
        Ok(())
    }

    /// The files under `dir` matching `globs` (see [`matched_files`]) with the digest of each,
    /// in order; `root` is the project's directory, which cache keys are relative to. Files
    /// whose metadata match the cache are not read; the others are read and hashed on several
    /// threads. The cache file is read (the first time) while the directories are walked.
    pub(crate) fn files(&self, dir: &Path, globs: &[String], root: &Path) -> (Vec<MatchedFile>, Vec<FileDigest>) {
        // Taken before any file is looked at: what changes after it has a newer time.
        self.files_at(dir, globs, root, now())
    }

    /// [`SourceCache::files`] as if hashing started at `started` (nanoseconds since the epoch).
    fn files_at(
        &self,
        dir: &Path,
        globs: &[String],
        root: &Path,
        started: i128,
    ) -> (Vec<MatchedFile>, Vec<FileDigest>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let files = if let Some(path) = inner.file.clone().filter(|_| !inner.loaded) {
            let (files, saved) = std::thread::scope(|scope| {
                let loader = scope.spawn(|| read(&path));
                let files = matched_files(dir, globs);
                (files, loader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            });
            inner.loaded(&path, saved);
            files
        } else {
            inner.loaded = true;
            matched_files(dir, globs)
        };
        let base = Base::of(dir, root);
        let mut found: Vec<Option<FileDigest>> = Vec::with_capacity(files.len());
        // Keys come in order (the files are sorted): each search starts where the last ended.
        let mut cursor = 0;
        for file in &files {
            let key = file.stamp.as_ref().and_then(|_| base.key(&file.rel));
            found.push(key.and_then(|key| inner.cached(&key, file.stamp?, &mut cursor)).map(FileDigest::Content));
        }
        let misses: Vec<usize> = (0..files.len()).filter(|&i| found[i].is_none()).collect();
        for (i, digest) in hash_files(&files, &misses) {
            if let FileDigest::Content(d) = digest
                && let Some(meta) = files[i].stamp.filter(|m| settled(m, started))
                && let Some(key) = base.key(&files[i].rel)
            {
                inner.insert(&key, meta, d);
            }
            found[i] = Some(digest);
        }
        inner.read += misses.len();
        tracing::debug!(dir = %dir.display(), files = files.len(), read = misses.len(), "source digests");
        // Every miss was hashed: each file has its digest.
        let digests = found.into_iter().map(|d| d.unwrap_or(FileDigest::Unreadable(io::ErrorKind::Other))).collect();
        (files, digests)
    }
}

/// Where a task's directory is, for cache keys.
enum Base {
    /// The project's directory: keys are the files' relative paths.
    Root,
    /// Under it (`sub/dir`), or elsewhere (an absolute path).
    Prefix(String),
    /// Not UTF-8: nothing is cached.
    None,
}

impl Base {
    fn of(dir: &Path, root: &Path) -> Base {
        match dir.strip_prefix(root).unwrap_or(dir).to_str() {
            Some("") => Base::Root,
            Some(prefix) => Base::Prefix(prefix.trim_end_matches('/').to_string()),
            None => Base::None,
        }
    }

    /// The key of a file at `rel` in the task's directory.
    fn key<'r>(&self, rel: &'r str) -> Option<std::borrow::Cow<'r, str>> {
        match self {
            Base::Root => Some(std::borrow::Cow::Borrowed(rel)),
            Base::Prefix(prefix) => Some(std::borrow::Cow::Owned(format!("{prefix}/{rel}"))),
            Base::None => None,
        }
    }
}

/// Reads and hashes `files[i]` for each `i` of `which`, on several threads when there are
/// enough of them.
fn hash_files(files: &[MatchedFile], which: &[usize]) -> Vec<(usize, FileDigest)> {
    let hash = |i: usize| {
        let digest = match hash_file(&files[i].path) {
            Ok(d) => FileDigest::Content(d),
            Err(e) => FileDigest::Unreadable(e.kind()),
        };
        (i, digest)
    };
    let threads = parallelism().min(which.len().div_ceil(FILES_PER_THREAD)).max(1);
    if threads == 1 {
        return which.iter().map(|&i| hash(i)).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = which
            .chunks(which.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(|&i| hash(i)).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

impl std::fmt::Debug for SourceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SourceCache")
            .field("file", &inner.file)
            .field("saved", &inner.saved.len())
            .field("added", &inner.added.len())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Takes what was read from the cache file at `path`; anything wrong with it leaves the
    /// cache empty.
    fn loaded(&mut self, path: &Path, read: io::Result<Option<Saved>>) {
        self.loaded = true;
        match read {
            Ok(Some(saved)) => self.saved = saved,
            Ok(None) => tracing::debug!(path = %path.display(), "source cache ignored: not one opsrun wrote"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::debug!(path = %path.display(), error = %e, "source cache ignored"),
        }
    }

    /// The cached digest of the file at `key` if it was recorded with `meta`; `cursor` is where
    /// the search in the saved entries starts (see [`Saved::find`]).
    fn cached(&mut self, key: &str, meta: Meta, cursor: &mut usize) -> Option<[u8; 32]> {
        if let Some(e) = self.added.get_mut(key) {
            e.used = true;
            return (e.meta == meta).then_some(e.digest);
        }
        let i = self.saved.find(key.as_bytes(), cursor)?;
        self.saved.used[i] = true;
        (self.saved.meta(i) == meta).then(|| self.saved.digest(i))
    }

    fn insert(&mut self, key: &str, meta: Meta, digest: [u8; 32]) {
        let mut cursor = 0;
        if let Some(i) = self.saved.find(key.as_bytes(), &mut cursor)
            && !self.added.contains_key(key)
            && self.saved.meta(i) == meta
            && self.saved.digest(i) == digest
        {
            self.saved.used[i] = true;
            return;
        }
        if let Some(e) = self.added.get(key)
            && e.meta == meta
            && e.digest == digest
        {
            return;
        }
        self.added.insert(key.into(), Entry { meta, digest, age: 0, used: true });
        self.dirty = true;
    }

    /// The file's bytes: the saved entries not replaced, aged, and the added ones, by key.
    fn encode(&self) -> Vec<u8> {
        let mut entries: Vec<(&[u8], Entry)> = Vec::with_capacity(self.saved.len() + self.added.len());
        for i in 0..self.saved.len() {
            let key = self.saved.key(i);
            let replaced = std::str::from_utf8(key).is_ok_and(|k| self.added.contains_key(k));
            let age = if self.saved.used[i] { 0 } else { self.saved.age(i).saturating_add(1) };
            if !replaced && age <= MAX_AGE {
                entries.push((key, Entry { meta: self.saved.meta(i), digest: self.saved.digest(i), age, used: false }));
            }
        }
        for (key, e) in &self.added {
            entries.push((key.as_bytes(), Entry { meta: e.meta, digest: e.digest, age: 0, used: false }));
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        encode(&entries)
    }
}

/// The blake3 digest of a file's content, as `blake3::hash(&std::fs::read(path)?)`.
fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path)?)?;
    Ok(*hasher.finalize().as_bytes())
}

fn now() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos().cast_signed())
}

fn parallelism() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Reads the cache file without following a link: `Ok(None)` when it is not a cache opsrun
/// wrote (garbage, torn, another version, keys out of order).
fn read(path: &Path) -> io::Result<Option<Saved>> {
    let bytes = crate::private_fs::read(path, MAX_FILE_BYTES)?;
    Ok(Saved::decode(bytes))
}

// The file: `MAGIC`, the number of entries (u32), each entry, then the blake3 digest of all
// that. An entry: key length (u16) and key (UTF-8), then `FIXED` bytes: size, mtime,
// mtime_nsec, ctime, ctime_nsec, inode, device, age, digest; integers little-endian, sizes as
// in `FileStamp`. Entries are sorted by key, each key once.

/// The bytes of an entry after its key.
const FIXED: usize = 8 + 8 + 4 + 8 + 4 + 8 + 8 + 2 + 32;

fn encode(entries: &[(&[u8], Entry)]) -> Vec<u8> {
    let entries: Vec<&(&[u8], Entry)> = entries.iter().filter(|(k, _)| u16::try_from(k.len()).is_ok()).collect();
    let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + entries.len() * (2 + 24 + FIXED) + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    for (key, e) in entries.into_iter().take(count as usize) {
        let m = &e.meta;
        out.extend_from_slice(&u16::try_from(key.len()).unwrap_or_default().to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&m.size.to_le_bytes());
        out.extend_from_slice(&m.mtime.to_le_bytes());
        out.extend_from_slice(&m.mtime_nsec.to_le_bytes());
        out.extend_from_slice(&m.ctime.to_le_bytes());
        out.extend_from_slice(&m.ctime_nsec.to_le_bytes());
        out.extend_from_slice(&m.ino.to_le_bytes());
        out.extend_from_slice(&m.dev.to_le_bytes());
        out.extend_from_slice(&e.age.to_le_bytes());
        out.extend_from_slice(&e.digest);
    }
    let check = blake3::hash(&out);
    out.extend_from_slice(check.as_bytes());
    out
}

/// The entries of a cache file, read in place: its bytes and where each entry's key starts.
#[derive(Default)]
struct Saved {
    bytes: Vec<u8>,
    /// Offset of each entry's key length, in key order.
    offsets: Vec<u32>,
    /// Seen in this process, by entry.
    used: Vec<bool>,
}

impl Saved {
    /// Checks a file's bytes and indexes its entries; `None` unless it is a whole cache file
    /// opsrun wrote, keys in order.
    fn decode(bytes: Vec<u8>) -> Option<Saved> {
        let body_len = bytes.len().checked_sub(32)?;
        let (body, check) = bytes.split_at(body_len);
        if body.len() < MAGIC.len() + 4 || &body[..MAGIC.len()] != MAGIC || blake3::hash(body).as_bytes() != check {
            return None;
        }
        let count = u32::from_le_bytes(body[MAGIC.len()..MAGIC.len() + 4].try_into().ok()?);
        let count = usize::try_from(count).ok()?;
        let mut offsets = Vec::with_capacity(count.min(body.len() / (2 + FIXED)));
        let mut at = MAGIC.len() + 4;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            let len = usize::from(u16::from_le_bytes(body.get(at..at + 2)?.try_into().ok()?));
            let key = body.get(at + 2..at + 2 + len)?;
            if previous.is_some_and(|p| p >= key) {
                return None;
            }
            body.get(at + 2 + len..at + 2 + len + FIXED)?;
            offsets.push(u32::try_from(at).ok()?);
            previous = Some(key);
            at += 2 + len + FIXED;
        }
        if at != body.len() {
            return None;
        }
        let used = vec![false; offsets.len()];
        Some(Saved { bytes, offsets, used })
    }

    fn len(&self) -> usize {
        self.offsets.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        let at = self.offsets[i] as usize;
        let len = usize::from(u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]));
        &self.bytes[at + 2..at + 2 + len]
    }

    /// The fixed part of entry `i` (after its key).
    fn fixed(&self, i: usize) -> &[u8] {
        let at = self.offsets[i] as usize;
        let len = usize::from(u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]));
        &self.bytes[at + 2 + len..at + 2 + len + FIXED]
    }

    fn meta(&self, i: usize) -> Meta {
        let f = self.fixed(i);
        let u64_at = |o: usize| u64::from_le_bytes(f[o..o + 8].try_into().unwrap_or_default());
        let i64_at = |o: usize| i64::from_le_bytes(f[o..o + 8].try_into().unwrap_or_default());
        let u32_at = |o: usize| u32::from_le_bytes(f[o..o + 4].try_into().unwrap_or_default());
        Meta {
            size: u64_at(0),
            mtime: i64_at(8),
            mtime_nsec: u32_at(16),
            ctime: i64_at(20),
            ctime_nsec: u32_at(28),
            ino: u64_at(32),
            dev: u64_at(40),
        }
    }

    fn age(&self, i: usize) -> u16 {
        let f = self.fixed(i);
        u16::from_le_bytes([f[48], f[49]])
    }

    fn digest(&self, i: usize) -> [u8; 32] {
        self.fixed(i)[50..82].try_into().unwrap_or_default()
    }

    /// The entry with `key`. Keys asked in increasing order are found by galloping forward from
    /// `cursor` (where the last search ended), so a run over a task's sorted files costs one or
    /// two comparisons per file; a key before the cursor is searched for from the start.
    fn find(&self, key: &[u8], cursor: &mut usize) -> Option<usize> {
        let n = self.len();
        let mut lo = (*cursor).min(n);
        if lo > 0 && self.key(lo - 1) >= key {
            lo = 0;
        }
        let mut step = 1;
        let mut hi = lo;
        while hi < n && self.key(hi) < key {
            lo = hi + 1;
            hi += step;
            step *= 2;
        }
        let hi = hi.min(n);
        let i = lo
            + self.offsets[lo..hi].partition_point(|&o| {
                let at = o as usize;
                let len = usize::from(u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]));
                &self.bytes[at + 2..at + 2 + len] < key
            });
        *cursor = i;
        (i < n && self.key(i) == key).then_some(i)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const HOUR: i128 = 3_600 * 1_000_000_000;

    /// A project with `n` files under `src/`.
    fn project(n: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..n {
            let path = dir.path().join(format!("src/d{}/f{i}.txt", i % 3));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, format!("content {i}\n")).unwrap();
        }
        dir
    }

    fn globs() -> Vec<String> {
        vec!["src/**/*.txt".into()]
    }

    /// The digests, and how many files were read to get them, as if hashing started at
    /// `started` (an hour from now: every file is old enough to cache).
    fn digests(cache: &SourceCache, root: &Path, started: i128) -> (Vec<FileDigest>, usize) {
        let before = cache.inner.lock().unwrap().read;
        let (_, digests) = cache.files_at(root, &globs(), root, started);
        let read = cache.inner.lock().unwrap().read - before;
        (digests, read)
    }

    fn later() -> i128 {
        now() + HOUR
    }

    fn set_mtime(path: &Path, mtime: SystemTime) {
        fs::File::options().write(true).open(path).unwrap().set_modified(mtime).unwrap();
    }

    #[test]
    fn unchanged_files_are_not_read_again_and_digests_match_the_content() {
        let p = project(300);
        let root = p.path();
        let cache = SourceCache::in_memory();
        let (first, read) = digests(&cache, root, later());
        assert_eq!(read, 300);
        let (second, read) = digests(&cache, root, later());
        assert_eq!(read, 0, "unchanged files were read again");
        assert_eq!(first, second);
        let content = fs::read(root.join("src/d1/f1.txt")).unwrap();
        let files = matched_files(root, &globs());
        let i = files.iter().position(|f| f.rel == "src/d1/f1.txt").unwrap();
        assert_eq!(first[i], FileDigest::Content(*blake3::hash(&content).as_bytes()));
    }

    #[test]
    fn a_file_changed_with_its_size_and_mtime_restored_is_read_again() {
        let p = project(3);
        let root = p.path();
        let file = root.join("src/d0/f0.txt");
        let mtime = fs::metadata(&file).unwrap().modified().unwrap();
        let cache = SourceCache::in_memory();
        let (before, _) = digests(&cache, root, later());
        // Same size, same mtime (`touch -d`): only the change time tells.
        fs::write(&file, "CONTENT 0\n").unwrap();
        set_mtime(&file, mtime);
        assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), mtime);
        let (after, read) = digests(&cache, root, later());
        assert_eq!(read, 1);
        assert_ne!(before, after);
    }

    #[test]
    fn a_file_replaced_by_another_with_the_same_times_and_size_is_read_again() {
        let p = project(3);
        let root = p.path();
        let file = root.join("src/d0/f0.txt");
        let cache = SourceCache::in_memory();
        let (before, _) = digests(&cache, root, later());
        let meta = fs::metadata(&file).unwrap();
        let other = root.join("other");
        fs::write(&other, "CONTENT 0\n").unwrap();
        set_mtime(&other, meta.modified().unwrap());
        fs::rename(&other, &file).unwrap();
        let (after, read) = digests(&cache, root, later());
        assert_eq!(read, 1);
        assert_ne!(before, after);
    }

    #[test]
    fn a_file_changed_too_recently_is_not_cached_but_read_every_time() {
        // Git's "racily clean" entries: hashed in the same moment it was written, the file could
        // be written again without changing its times or size. Its digest is not kept.
        let p = project(2);
        let root = p.path();
        let state = root.join(".opsrun");
        let cache = SourceCache::open(&state);
        let started = now();
        let (first, read) = digests(&cache, root, started);
        assert_eq!(read, 2);
        let (second, read) = digests(&cache, root, started);
        assert_eq!(read, 2, "a racy digest was trusted");
        assert_eq!(first, second);
        cache.save().unwrap();
        assert!(!state.join(FILE_NAME).exists(), "nothing trustworthy to save");
        // Old enough now (as seen from an hour later): cached.
        digests(&cache, root, later());
        assert_eq!(digests(&cache, root, later()).1, 0);
        // Exactly at the margin is still too recent.
        let newest = newest(&FileStamp::from(&fs::metadata(root.join("src/d0/f0.txt")).unwrap()));
        let margin = RACY_MARGIN.as_nanos().cast_signed();
        let stamp = FileStamp::from(&fs::metadata(root.join("src/d0/f0.txt")).unwrap());
        assert!(!settled(&stamp, newest + margin));
        assert!(settled(&stamp, newest + margin + 1));
    }

    #[test]
    fn the_cache_file_is_private_and_read_back() {
        let p = project(20);
        let root = p.path();
        let state = root.join(".opsrun");
        let cache = SourceCache::open(&state);
        let (first, read) = digests(&cache, root, later());
        assert_eq!(read, 20);
        cache.save().unwrap();
        let file = state.join(FILE_NAME);
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
        let written = fs::metadata(&file).unwrap().modified().unwrap();
        // Nothing new: not written again.
        cache.save().unwrap();
        assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), written);
        let reopened = SourceCache::open(&state);
        let (again, read) = digests(&reopened, root, later());
        assert_eq!(read, 0);
        assert_eq!(first, again);
    }

    #[test]
    fn a_damaged_cache_file_is_ignored_and_replaced() {
        let p = project(5);
        let root = p.path();
        let state = root.join(".opsrun");
        let cache = SourceCache::open(&state);
        let (expected, _) = digests(&cache, root, later());
        cache.save().unwrap();
        let file = state.join(FILE_NAME);
        let good = fs::read(&file).unwrap();
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        let damaged: [&[u8]; 5] = [b"", b"garbage", &good[..good.len() - 1], &flipped, &good[..MAGIC.len()]];
        for bytes in damaged {
            fs::write(&file, bytes).unwrap();
            let cache = SourceCache::open(&state);
            let (digests, read) = digests(&cache, root, later());
            assert_eq!((digests, read), (expected.clone(), 5));
            cache.save().unwrap();
            assert_eq!(fs::read(&file).unwrap().len(), good.len(), "not replaced by a good one");
        }
    }

    #[test]
    fn a_link_in_place_of_the_cache_file_is_neither_read_nor_written_through() {
        let p = project(5);
        let root = p.path();
        let state = root.join(".opsrun");
        let cache = SourceCache::open(&state);
        digests(&cache, root, later());
        cache.save().unwrap();
        let file = state.join(FILE_NAME);
        // A valid cache as the link's target: still not read.
        let target = root.join("elsewhere");
        fs::rename(&file, &target).unwrap();
        let kept = fs::read(&target).unwrap();
        std::os::unix::fs::symlink(&target, &file).unwrap();
        let cache = SourceCache::open(&state);
        assert_eq!(digests(&cache, root, later()).1, 5, "read through a link");
        cache.save().unwrap();
        assert!(!fs::symlink_metadata(&file).unwrap().file_type().is_symlink(), "the link was not replaced");
        assert_eq!(fs::read(&target).unwrap(), kept, "written through a link");
    }

    #[test]
    fn unreadable_files_and_files_gone_are_named_as_before() {
        let p = project(1);
        let root = p.path();
        let gone = MatchedFile { path: root.join("gone.txt"), rel: "gone.txt".into(), stamp: None };
        let expected = fs::read(&gone.path).unwrap_err().kind();
        assert_eq!(hash_files(&[gone], &[0]), [(0, FileDigest::Unreadable(expected))]);
    }

    #[test]
    fn entries_of_files_not_seen_for_a_while_are_dropped() {
        let p = project(3);
        let root = p.path();
        let state = root.join(".opsrun");
        let cache = SourceCache::open(&state);
        digests(&cache, root, later());
        cache.save().unwrap();
        // A cache where `f0` was last seen `MAX_AGE` saves ago, `f1` one save ago.
        let reopened = SourceCache::open(&state);
        digests(&reopened, root, later());
        let entries: Vec<(&[u8], Entry)> = {
            let inner = reopened.inner.lock().unwrap();
            let saved = &inner.saved;
            let ages = [MAX_AGE, 1, 1];
            (0..saved.len())
                .map(|i| {
                    let key: &'static [u8] = Box::leak(saved.key(i).to_vec().into_boxed_slice());
                    (key, Entry { meta: saved.meta(i), digest: saved.digest(i), age: ages[i], used: false })
                })
                .collect()
        };
        fs::write(state.join(FILE_NAME), encode(&entries)).unwrap();
        // A run that sees only `f1`, and adds something (so it saves).
        let cache = SourceCache::open(&state);
        cache.files_at(root, &["src/d1/*.txt".into()], root, later());
        fs::write(root.join("src/d2/new.txt"), "new").unwrap();
        cache.files_at(root, &["src/d2/*.txt".into()], root, later());
        cache.save().unwrap();
        let reopened = SourceCache::open(&state);
        let (_, read) = digests(&reopened, root, later());
        assert_eq!(read, 1, "only the entry too old was dropped");
    }

    #[test]
    fn saved_entries_are_found_in_any_order() {
        let meta = FileStamp { size: 1, mtime: 2, mtime_nsec: 3, ctime: 4, ctime_nsec: 5, ino: 6, dev: 7 };
        let keys: Vec<String> = (0..1000).map(|i| format!("src/{:03}/f{}", i / 7, i * 2)).collect();
        let mut sorted: Vec<&[u8]> = keys.iter().map(String::as_bytes).collect();
        sorted.sort_unstable();
        let entries: Vec<(&[u8], Entry)> = sorted
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, Entry { meta, digest: [u8::try_from(i % 256).unwrap(); 32], age: 0, used: false }))
            .collect();
        let saved = Saved::decode(encode(&entries)).expect("a cache opsrun wrote");
        let expect = |key: &[u8]| sorted.binary_search(&key).ok();
        let mut cursor = 0;
        // In order, every other one, backwards, and keys that are not there.
        let mut asked: Vec<Vec<u8>> = sorted.iter().step_by(2).map(|k| k.to_vec()).collect();
        asked.extend(sorted.iter().rev().map(|k| k.to_vec()));
        asked.extend(["", "a", "src/000/f1", "src/999", "zzz"].map(|k| k.as_bytes().to_vec()));
        for key in &asked {
            let found = saved.find(key, &mut cursor);
            assert_eq!(found, expect(key), "{}", String::from_utf8_lossy(key));
            if let Some(i) = found {
                assert_eq!(saved.key(i), key.as_slice());
                assert_eq!(saved.meta(i), meta);
                assert_eq!(saved.digest(i), entries[i].1.digest);
            }
        }
        // Out of order keys are refused.
        let mut shuffled: Vec<(&[u8], Entry)> =
            sorted.iter().take(3).map(|k| (*k, Entry { meta, digest: [0; 32], age: 0, used: false })).collect();
        shuffled.swap(0, 2);
        assert!(Saved::decode(encode(&shuffled)).is_none());
    }

    #[test]
    fn keys_are_relative_to_the_project() {
        let p = project(2);
        let root = p.path();
        let cache = SourceCache::in_memory();
        let sub = root.join("src");
        cache.files_at(&sub, &["**/*.txt".into()], root, later());
        let inner = cache.inner.lock().unwrap();
        let mut keys: Vec<&str> = inner.added.keys().map(AsRef::as_ref).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["src/d0/f0.txt", "src/d1/f1.txt"]);
    }
}
