//! Files named by `sources`/`generates` globs, relative to a task's directory.
//!
//! Shared by the engine (fingerprints, up-to-date checks) and the resolver (`for = "sources"`),
//! so that both see the same files in the same order.
//!
//! A glob is walked only from its literal prefix (`bootstrap/cilium/*.yaml` walks
//! `bootstrap/cilium`), and every glob is compiled once per call. Globs with the same prefix
//! share one walk, and a glob whose prefix lies inside another's is matched during that walk
//! too, unless the walk met something that could make the two walks see different files (a
//! followed link to a directory, or an error such as an unreadable directory): then the inner
//! prefix is walked on its own, as it always was.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// A file matched by `sources`/`generates` globs (see [`matched_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedFile {
    /// Its path: the task's directory joined with `rel`.
    pub path: PathBuf,
    /// Its path relative to the task's directory, as the globs matched it.
    pub rel: String,
    /// What the walk saw of it, links followed (`None` if its metadata could not be read).
    pub stamp: Option<FileStamp>,
}

/// What identifies one version of a file: if none of it changed, neither did the content,
/// unless the file was rewritten within the same timestamp tick (see the engine's source
/// cache, which allows for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time: seconds since the epoch.
    pub mtime: i64,
    /// Modification time: nanoseconds.
    pub mtime_nsec: u32,
    /// Status change time (set by the kernel on any change, including `touch -d`): seconds.
    pub ctime: i64,
    /// Status change time: nanoseconds.
    pub ctime_nsec: u32,
    /// Inode number.
    pub ino: u64,
    /// Device.
    pub dev: u64,
}

impl From<&std::fs::Metadata> for FileStamp {
    fn from(m: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        let nsec = |n: i64| u32::try_from(n).unwrap_or(0);
        FileStamp {
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: nsec(m.mtime_nsec()),
            ctime: m.ctime(),
            ctime_nsec: nsec(m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
}

/// Files under `dir` matching any of `globs`, sorted, as (absolute, relative) paths.
///
/// Each glob is walked only from its literal prefix (`bootstrap/cilium/*.yaml` walks
/// `bootstrap/cilium`), so a source list does not cost a walk of the whole repository; globs
/// whose prefixes coincide or nest share a walk. Symbolic links are followed (a link to a
/// directory that contains it is not walked again); a literal prefix naming a file is that
/// file. Globs that do not compile are ignored.
pub fn matching_files(dir: &Path, globs: &[String]) -> Vec<(PathBuf, String)> {
    collect(dir, globs, false).into_iter().map(|f| (f.path, f.rel)).collect()
}

/// [`matching_files`] with each file's [`FileStamp`], taken during the walk (relative to the
/// directory being read, which is cheaper than a `stat` of the whole path afterwards).
pub fn matched_files(dir: &Path, globs: &[String]) -> Vec<MatchedFile> {
    collect(dir, globs, true)
}

fn collect(dir: &Path, globs: &[String], stat: bool) -> Vec<MatchedFile> {
    let mut out: Vec<MatchedFile> = Vec::new();
    // (walk prefix, globs walked from it, whether one of them matches every file below it), in
    // first-seen order.
    let mut prefixes: Vec<(PathBuf, Vec<Glob>, bool)> = Vec::new();
    for g in globs {
        let Ok(glob) = Glob::new(g) else { continue };
        let literal = g.split('/').take_while(|c| !c.contains(['*', '?', '[', '{'])).count();
        let prefix: PathBuf = g.split('/').take(literal).collect();
        // `*` crosses `/` (globset's default), so `src/*` is as much "everything in src" as
        // `src/**` and `src/**/*`: no need to ask the glob about each file. (Only below a plain
        // prefix, which the walk's paths spell as the glob does: not `a//b` or `./a`.)
        let tail: Vec<&str> = g.split('/').skip(literal).collect();
        let plain = g.split('/').take(literal).all(|c| !matches!(c, "" | "." | ".."));
        let all = plain && matches!(tail.as_slice(), ["*" | "**"] | ["**", "*"]);
        let root = dir.join(&prefix);
        if let Ok(metadata) = std::fs::metadata(&root)
            && metadata.is_file()
        {
            if let Ok(rel) = root.strip_prefix(dir) {
                let rel = rel.to_string_lossy().into_owned();
                out.push(MatchedFile { path: root.clone(), rel, stamp: Some(FileStamp::from(&metadata)) });
            }
            continue;
        }
        // The same text, not merely equal paths: `a/./b` walks `a/./b` and is named so.
        match prefixes.iter_mut().find(|(p, _, _)| p.as_os_str() == prefix.as_os_str()) {
            Some((_, list, any_all)) => {
                list.push(glob);
                *any_all |= all;
            }
            None => prefixes.push((prefix, vec![glob], all)),
        }
    }
    for (outer, inner) in nest(&prefixes) {
        let own = if prefixes[outer].2 { Matcher::All } else { build(&prefixes[outer].1) };
        let nested = build(inner.iter().flat_map(|&i| &prefixes[i].1));
        let mut walk = Walk::new(dir, &own, &nested, stat);
        walk.run(&prefixes[outer].0);
        if !inner.is_empty() && !walk.sure {
            // The shared walk may have seen other files than walks of the inner prefixes
            // would: walk those on their own.
            walk.found.retain(|(_, own)| *own);
            for &i in &inner {
                let set = if prefixes[i].2 { Matcher::All } else { build(&prefixes[i].1) };
                let mut alone = Walk::new(dir, &set, &Matcher::None, stat);
                alone.run(&prefixes[i].0);
                walk.found.append(&mut alone.found);
            }
        }
        out.extend(walk.found.into_iter().map(|(file, _)| file));
    }
    // Sorted by relative path, each once. An index is sorted (a file is a hundred bytes to
    // move), by the first 16 bytes of each path as a number, which decide most comparisons
    // without reading the strings (paths have no NUL byte, so zero padding sorts a shorter
    // path first).
    let head = |rel: &str| {
        let mut bytes = [0u8; 16];
        let n = rel.len().min(16);
        bytes[..n].copy_from_slice(&rel.as_bytes()[..n]);
        u128::from_be_bytes(bytes)
    };
    let mut order: Vec<(u128, usize)> = out.iter().enumerate().map(|(i, f)| (head(&f.rel), i)).collect();
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| out[a.1].rel.cmp(&out[b.1].rel)));
    order.dedup_by(|a, b| out[a.1].rel == out[b.1].rel);
    let mut slots: Vec<Option<MatchedFile>> = out.into_iter().map(Some).collect();
    order.into_iter().filter_map(|(_, i)| slots[i].take()).collect()
}

/// Groups walk prefixes: each outermost prefix (by index) with the prefixes inside it. Only
/// plain prefixes (names, no `.` or `..`) are nested, since only their paths are the same
/// whichever walk finds them.
fn nest(prefixes: &[(PathBuf, Vec<Glob>, bool)]) -> Vec<(usize, Vec<usize>)> {
    let plain = |p: &Path| {
        let text = p.as_os_str().as_encoded_bytes();
        text.is_empty() || text.split(|&b| b == b'/').all(|c| !matches!(c, b"" | b"." | b".."))
    };
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut placed = vec![false; prefixes.len()];
    for (i, (p, _, _)) in prefixes.iter().enumerate() {
        if !plain(p) {
            continue;
        }
        // `i` is outermost if no other plain prefix contains it (prefixes are distinct).
        let inside_another =
            prefixes.iter().enumerate().any(|(j, (q, _, _))| j != i && plain(q) && p.starts_with(q) && p != q);
        if inside_another {
            continue;
        }
        let inner: Vec<usize> = prefixes
            .iter()
            .enumerate()
            .filter(|&(j, (q, _, _))| j != i && plain(q) && q.starts_with(p))
            .map(|(j, _)| j)
            .collect();
        for &j in &inner {
            placed[j] = true;
        }
        placed[i] = true;
        groups.push((i, inner));
    }
    groups.extend(placed.iter().enumerate().filter(|(_, done)| !**done).map(|(i, _)| (i, Vec::new())));
    groups
}

/// Threads a walk may use (read once: `available_parallelism` reads cgroup files).
fn parallelism() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from).min(8))
}

/// How a walk tells whether a file (below the walk's root) matches.
enum Matcher {
    /// No glob.
    None,
    /// A glob that matches every file below the root (`*`, `**`, `**/*` after it).
    All,
    /// Ask the globs.
    Set(GlobSet),
}

impl Matcher {
    fn is_match(&self, rel: &Path) -> bool {
        match self {
            Matcher::None => false,
            Matcher::All => true,
            Matcher::Set(set) => set.is_match(rel),
        }
    }
}

/// One set of `globs` (`Matcher::None` when there are none). A glob the set cannot be built
/// with (its regex too large) is left out, as it was when each glob had its own set.
fn build<'a>(globs: impl IntoIterator<Item = &'a Glob> + Clone) -> Matcher {
    let set = |globs: &mut dyn Iterator<Item = &'a Glob>| {
        let mut set = GlobSetBuilder::new();
        let mut any = false;
        for g in globs {
            set.add(g.clone());
            any = true;
        }
        if any { set.build().ok() } else { None }
    };
    set(&mut globs.clone().into_iter())
        .or_else(|| set(&mut globs.into_iter().filter(|g| GlobSetBuilder::new().add((*g).clone()).build().is_ok())))
        .map_or(Matcher::None, Matcher::Set)
}

/// One walk from `dir/prefix`, following links as `walkdir` does with `follow_links`: the
/// files matching `own` (marked `true`) or `nested` (`false`), and whether the walk was sure to
/// see what walks of the nested prefixes would (it followed no link to a directory and met no
/// error).
///
/// A large tree is walked on several threads: the walk goes breadth-first until it has a few
/// directories per thread, then each thread walks its share depth-first.
struct Walk<'a> {
    dir: &'a Path,
    own: &'a Matcher,
    nested: &'a Matcher,
    stat: bool,
    found: Vec<(MatchedFile, bool)>,
    sure: bool,
    /// The directories being read, outermost first (a link back to one is a loop).
    ancestors: Vec<PathBuf>,
}

/// A directory still to read: its path, its path relative to `dir`, and the directories
/// above it (its ancestors for loop checks).
type Pending = (PathBuf, Vec<u8>, Vec<PathBuf>);

/// Directories per thread before the walk is shared out.
const DIRS_PER_THREAD: usize = 4;

impl<'a> Walk<'a> {
    fn new(dir: &'a Path, own: &'a Matcher, nested: &'a Matcher, stat: bool) -> Self {
        Walk { dir, own, nested, stat, found: Vec::new(), sure: true, ancestors: Vec::new() }
    }

    fn run(&mut self, prefix: &Path) {
        let root = self.dir.join(prefix);
        let Ok(rel) = root.strip_prefix(self.dir).map(|r| r.as_os_str().as_bytes().to_vec()) else {
            // Outside `dir` (`..`, an absolute prefix): nothing it finds has a relative path.
            return;
        };
        // As `walkdir` does, the directories above the (resolved) root count as ancestors too:
        // a link to one of them is a loop.
        let above = root.canonicalize().map_or_else(
            |_| Vec::new(),
            |canonical| {
                let mut above: Vec<PathBuf> = canonical.ancestors().skip(1).map(Path::to_path_buf).collect();
                above.reverse();
                above
            },
        );
        let threads = parallelism();
        let mut frontier: Vec<Pending> = vec![(root, rel, above)];
        while threads > 1 && !frontier.is_empty() && frontier.len() < threads * DIRS_PER_THREAD {
            let mut next = Vec::new();
            for (path, rel, above) in frontier {
                self.ancestors = above;
                self.ancestors.push(path);
                for (sub, sub_rel) in self.read_one(&rel) {
                    next.push((sub, sub_rel, self.ancestors.clone()));
                }
            }
            frontier = next;
        }
        if frontier.len() < 2 {
            for (path, rel, above) in frontier {
                self.ancestors = above;
                self.read(path, &rel);
            }
            return;
        }
        let (dir, own, nested, stat) = (self.dir, self.own, self.nested, self.stat);
        let walkers: Vec<Walk<'_>> = std::thread::scope(|scope| {
            let mut shares: Vec<Vec<Pending>> = (0..threads).map(|_| Vec::new()).collect();
            for (i, pending) in frontier.into_iter().enumerate() {
                shares[i % threads].push(pending);
            }
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    scope.spawn(move || {
                        let mut walk = Walk::new(dir, own, nested, stat);
                        for (path, rel, above) in share {
                            walk.ancestors = above;
                            walk.read(path, &rel);
                        }
                        walk
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        });
        for mut walk in walkers {
            self.sure &= walk.sure;
            self.found.append(&mut walk.found);
        }
    }

    /// Reads one directory (`rel` relative to `dir`), then the directories in it, depth-first
    /// (with a stack of its own, so a deep tree cannot overflow a thread's).
    fn read(&mut self, path: PathBuf, rel: &[u8]) {
        enum Step {
            Enter(PathBuf, Vec<u8>),
            Leave,
        }
        let mut steps = vec![Step::Enter(path, rel.to_vec())];
        while let Some(step) = steps.pop() {
            match step {
                Step::Enter(path, rel) => {
                    self.ancestors.push(path);
                    steps.push(Step::Leave);
                    steps.extend(self.read_one(&rel).into_iter().map(|(sub, sub_rel)| Step::Enter(sub, sub_rel)));
                }
                Step::Leave => {
                    self.ancestors.pop();
                }
            }
        }
    }

    /// Reads the last of the ancestors (`rel` relative to `dir`): keeps its matching files and
    /// returns the directories in it (links to directories that are not loops included).
    fn read_one(&mut self, rel: &[u8]) -> Vec<(PathBuf, Vec<u8>)> {
        let mut subdirs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let Some(Ok(entries)) = self.ancestors.last().map(std::fs::read_dir) else {
            self.sure = false;
            return subdirs;
        };
        let mut child_rel: Vec<u8> = Vec::with_capacity(rel.len() + 32);
        for entry in entries {
            let Ok(entry) = entry else {
                self.sure = false;
                continue;
            };
            let Ok(file_type) = entry.file_type() else {
                self.sure = false;
                continue;
            };
            // One allocation for the path; the name is borrowed from it.
            let path = entry.path();
            child_rel.clear();
            if !rel.is_empty() {
                child_rel.extend_from_slice(rel);
                child_rel.push(b'/');
            }
            child_rel.extend_from_slice(path.file_name().unwrap_or_default().as_bytes());
            if file_type.is_file() {
                self.file(&entry, path, &child_rel, None);
            } else if file_type.is_dir() {
                subdirs.push((path, child_rel.clone()));
            } else if file_type.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(target) if target.is_file() => self.file(&entry, path, &child_rel, Some(target)),
                    Ok(target) if target.is_dir() => {
                        self.sure = false;
                        if !self.is_loop(&target) {
                            subdirs.push((path, child_rel.clone()));
                        }
                    }
                    Ok(_) => {}
                    Err(_) => self.sure = false,
                }
            }
        }
        subdirs
    }

    /// A file (or a link to one) at `path`, `rel` in `dir`: kept if it matches.
    fn file(&mut self, entry: &std::fs::DirEntry, path: PathBuf, rel: &[u8], followed: Option<std::fs::Metadata>) {
        // Matched as the path it is (not UTF-8 perhaps), named lossily, as `walkdir` paths were.
        let candidate = Path::new(OsStr::from_bytes(rel));
        let mine = self.own.is_match(candidate);
        if mine || self.nested.is_match(candidate) {
            let stamp = if !self.stat {
                None
            } else if let Some(target) = followed {
                Some(FileStamp::from(&target))
            } else {
                // Not a link: the entry's own metadata, read relative to its directory.
                entry.metadata().ok().map(|m| FileStamp::from(&m))
            };
            let rel = String::from_utf8_lossy(rel).into_owned();
            self.found.push((MatchedFile { path, rel, stamp }, mine));
        }
    }

    /// Whether the directory a link points to is one being read (or cannot be compared).
    fn is_loop(&self, target: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.ancestors
            .iter()
            .any(|a| std::fs::metadata(a).map_or(true, |m| m.dev() == target.dev() && m.ino() == target.ino()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The implementation before walks were shared (one walk and one `GlobSet` per glob), kept
    /// as the reference the shared walks must agree with.
    fn reference(dir: &Path, globs: &[String]) -> Vec<(PathBuf, String)> {
        let mut out = std::collections::BTreeMap::new();
        for g in globs {
            let Ok(glob) = Glob::new(g) else { continue };
            let mut set = GlobSetBuilder::new();
            set.add(glob);
            let Ok(set) = set.build() else { continue };
            let prefix: PathBuf = g.split('/').take_while(|c| !c.contains(['*', '?', '[', '{'])).collect();
            let root = dir.join(&prefix);
            if root.is_file() {
                if let Ok(rel) = root.strip_prefix(dir) {
                    out.insert(rel.to_string_lossy().into_owned(), root.clone());
                }
                continue;
            }
            for entry in walkdir::WalkDir::new(&root).follow_links(true).into_iter().filter_map(Result::ok) {
                if !entry.file_type().is_file() {
                    continue;
                }
                if let Ok(rel) = entry.path().strip_prefix(dir)
                    && set.is_match(rel)
                {
                    out.insert(rel.to_string_lossy().into_owned(), entry.path().to_path_buf());
                }
            }
        }
        out.into_iter().map(|(rel, abs)| (abs, rel)).collect()
    }

    fn rel(dir: &Path, globs: &[&str]) -> Vec<String> {
        let globs: Vec<String> = globs.iter().map(|g| (*g).to_string()).collect();
        let files = matching_files(dir, &globs);
        assert_eq!(files, reference(dir, &globs), "{globs:?}");
        files.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn literal_prefix_walk_finds_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/x.yaml"), "1").unwrap();
        std::fs::write(dir.join("a/y.txt"), "2").unwrap();
        assert_eq!(rel(dir, &["a/**/*.yaml", "a/y.txt"]), ["a/b/x.yaml", "a/y.txt"]);
        let files = matching_files(dir, &["a/**/*.yaml".into()]);
        assert_eq!(files[0].0, dir.join("a/b/x.yaml"));
        assert_eq!(
            rel(dir, &["a/y.txt/*", "nowhere", "a"]),
            ["a/y.txt"],
            "a literal prefix naming a file is that file"
        );
    }

    #[test]
    fn shared_and_nested_prefixes_find_what_separate_walks_find() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        for f in ["a/b/x.yaml", "a/b/c/y.yaml", "a/z.txt", "top.txt", "a/b/c/w.md", "d/e.yaml"] {
            std::fs::create_dir_all(dir.join(f).parent().unwrap()).unwrap();
            std::fs::write(dir.join(f), f).unwrap();
        }
        // Wide enough to be walked on several threads.
        for i in 0..20 {
            for f in ["x.yaml", "y.txt", "deeper/z.yaml"] {
                let path = dir.join(format!("w/d{i}/{f}"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, f).unwrap();
            }
        }
        std::os::unix::fs::symlink(dir.join("w/d3"), dir.join("w/d4/link")).unwrap();
        std::os::unix::fs::symlink(dir.join("w"), dir.join("w/d5/deeper/up")).unwrap();
        std::fs::write(dir.join("a/.hidden"), "h").unwrap();
        std::fs::write(dir.join("a/b/.dot.yaml"), "d").unwrap();
        // Deep (and a link back up from the bottom).
        let deep: PathBuf = std::iter::once("deep").chain(std::iter::repeat_n("d", 200)).collect();
        std::fs::create_dir_all(dir.join(&deep)).unwrap();
        std::fs::write(dir.join(&deep).join("bottom.txt"), "b").unwrap();
        std::os::unix::fs::symlink(dir.join("deep/d/d"), dir.join(&deep).join("up")).unwrap();
        // Not UTF-8: matched as it is, named lossily.
        std::fs::write(dir.join("a").join(std::ffi::OsStr::from_bytes(b"bad\xff.txt")), "x").unwrap();
        let each = |globs: &[&str]| {
            let mut all: Vec<String> = globs.iter().flat_map(|g| rel(dir, &[g])).collect();
            all.sort();
            all.dedup();
            all
        };
        for globs in [
            &["a/**/*.yaml", "a/*.txt"][..],
            &["**/*.yaml", "a/b/c/*.md", "a/z.txt"],
            &["a/b/**", "a/**/*.yaml", "*.txt", "d/*"],
            &["a/b/c/*", "a/**/*.md", "./a/*.txt", "../nowhere/*", "a/{b,c}/*.yaml"],
            &["a//b/*", "a/b/*.yaml", "/a/*", "a/./b/*.md", "a/../a/*.txt", "*"],
            &["a/ba?*.txt", "a/*"],
            &["w/**/*.yaml", "w/d1/*", "w/d5/deeper/up/d2/*.txt"],
            &["**/*"],
            &["**"],
            &["*"],
            &["w/**", "a/b/*"],
            &["./a/**", "a//b/**/*", "a/./b/*", "w/d1/**/*", "w/d1/*.yaml"],
            &["a/**/*", "a/b/**"],
            &["deep/**/*.txt", "deep/d/d/**"],
        ] {
            assert_eq!(rel(dir, globs), each(globs), "{globs:?}");
        }
        // `*` crosses `/` (globset's default), as it always did.
        assert_eq!(rel(dir, &["a/*.yaml"]), ["a/b/.dot.yaml", "a/b/c/y.yaml", "a/b/x.yaml"]);
        // A bad glob is ignored; the others still match.
        assert_eq!(rel(dir, &["a/[.yaml", "d/*"]), ["d/e.yaml"]);
    }

    #[test]
    fn links_are_followed_and_a_nested_prefix_behind_one_is_walked_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        std::fs::create_dir_all(dir.join("real/sub")).unwrap();
        std::fs::write(dir.join("real/sub/f.txt"), "f").unwrap();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("src/linked")).unwrap();
        std::os::unix::fs::symlink(dir.join("real/sub/f.txt"), dir.join("src/file-link.txt")).unwrap();
        // A loop back to an ancestor: a walk of `src` reports it and does not descend, a walk
        // from inside the loop sees files the outer walk does not.
        std::os::unix::fs::symlink(dir.join("src"), dir.join("real/sub/back")).unwrap();
        let inner = "src/linked/sub/back/linked/sub/*.txt";
        let alone = rel(dir, &[inner]);
        assert!(alone.contains(&"src/linked/sub/back/linked/sub/f.txt".to_string()), "{alone:?}");
        let outer = rel(dir, &["src/**/*.txt"]);
        assert!(outer.contains(&"src/file-link.txt".to_string()), "{outer:?}");
        assert!(outer.contains(&"src/linked/sub/f.txt".to_string()), "{outer:?}");
        let mut union: Vec<String> = alone.into_iter().chain(outer).collect();
        union.sort();
        union.dedup();
        assert_eq!(rel(dir, &["src/**/*.txt", inner]), union);
    }
}
