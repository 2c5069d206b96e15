//! `git`: the files changed since a base revision (`classify --git BASE`), and the state of the
//! GitOps checkout that post-emergency alignment checks (what is uncommitted, what is not
//! pushed, which commit is HEAD, whether a revision Flux applied contains it).
//!
//! `git` runs with fixed arguments as a program of its own (no shell: a path read from the
//! cluster is one argument, never shell text), only local subcommands (nothing fetches, so no
//! network and no credential prompt), with the repository-redirecting variables cleared.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::ClassifyError;

/// Variables that would point git at another repository than `repo_dir` (they are set, for
/// example, inside git hooks); `repo_dir` is authoritative, so they are cleared.
const REPOSITORY_OVERRIDES: &[&str] = &["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"];

/// Every file changed between `base` and the working tree of the repository around
/// `repo_dir`: committed since `base`, staged, unstaged, deleted, and untracked (but not
/// ignored). Paths are relative to the repository root, sorted and deduplicated; a rename is
/// reported as both its old and its new path.
pub fn changed_files_since(repo_dir: &Path, base: &str) -> Result<Vec<String>, ClassifyError> {
    let top = git(repo_dir, &["rev-parse", "--show-toplevel"]).map_err(|e| match e {
        ClassifyError::Git { detail, .. } if detail.contains("not a git repository") => {
            ClassifyError::NotAGitRepository { dir: repo_dir.to_path_buf() }
        }
        other => other,
    })?;
    let top = String::from_utf8_lossy(&top.stdout).trim_end_matches(['\n', '\r']).to_owned();
    let top = Path::new(&top);

    // `--end-of-options` keeps a BASE that starts with `-` from being read as an option.
    let revision = format!("{base}^{{commit}}");
    if git(top, &["rev-parse", "--verify", "--quiet", "--end-of-options", &revision]).is_err() {
        return Err(ClassifyError::BadBase { base: base.to_owned() });
    }
    let diff = git(top, &["diff", "--name-only", "--no-renames", "-z", &revision, "--"])?;
    let untracked = git(top, &["ls-files", "--others", "--exclude-standard", "--full-name", "-z"])?;

    let mut files: Vec<String> = [diff.stdout, untracked.stdout]
        .iter()
        .flat_map(|out| out.split(|&b| b == 0))
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// A Git checkout (the clone an operator commits emergency fixes in), by its top level.
#[derive(Debug, Clone)]
pub struct Checkout {
    top: PathBuf,
}

/// How the checkout's branch stands against its upstream: whether Flux can see HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upstream {
    /// Every commit of the branch is on its upstream (as last fetched).
    Pushed {
        /// The upstream branch, e.g. `origin/main`.
        upstream: String,
    },
    /// The branch has commits its upstream does not have.
    Ahead {
        /// The upstream branch.
        upstream: String,
        /// `abbreviated-sha subject` of each commit not on the upstream, newest first.
        commits: Vec<String>,
    },
    /// The branch tracks no upstream, so nothing says it was pushed.
    NoUpstream {
        /// The local branch.
        branch: String,
    },
    /// HEAD is not on a branch.
    Detached,
}

impl Checkout {
    /// The checkout around `dir`.
    pub fn open(dir: &Path) -> Result<Checkout, ClassifyError> {
        let out = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|e| match e {
            ClassifyError::Git { detail, .. } if detail.contains("not a git repository") => {
                ClassifyError::NotACheckout { dir: dir.to_path_buf() }
            }
            other => other,
        })?;
        Ok(Checkout { top: PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r'])) })
    }

    /// The checkout's top level directory.
    pub fn top_level(&self) -> &Path {
        &self.top
    }

    /// The full commit id of HEAD.
    pub fn head(&self) -> Result<String, ClassifyError> {
        let out = git(&self.top, &["rev-parse", "--verify", "HEAD^{commit}"])?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Uncommitted changes under `path` (relative to the top level), as `git status --short`
    /// prints them (`XY path`): staged, unstaged, deleted and untracked files, not ignored ones.
    pub fn uncommitted(&self, path: &str) -> Result<Vec<String>, ClassifyError> {
        let out = git(&self.top, &["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", path])?;
        let mut changes = Vec::new();
        let mut entries = out.stdout.split(|&b| b == 0).filter(|e| !e.is_empty());
        while let Some(entry) = entries.next() {
            let entry = String::from_utf8_lossy(entry).into_owned();
            // A rename or copy is followed by its original path, as an entry of its own.
            if entry.starts_with(['R', 'C']) {
                entries.next();
            }
            changes.push(entry);
        }
        Ok(changes)
    }

    /// Whether the branch's commits are on its upstream, as last fetched (nothing is fetched
    /// here: an upstream that moved on is the next fetch's news).
    pub fn upstream(&self) -> Result<Upstream, ClassifyError> {
        let Ok(branch) = git(&self.top, &["symbolic-ref", "--quiet", "--short", "HEAD"]) else {
            return Ok(Upstream::Detached);
        };
        let branch = String::from_utf8_lossy(&branch.stdout).trim().to_owned();
        let Ok(upstream) = git(&self.top, &["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"]) else {
            return Ok(Upstream::NoUpstream { branch });
        };
        let upstream = String::from_utf8_lossy(&upstream.stdout).trim().to_owned();
        let log = git(&self.top, &["log", "--format=%h %s", "@{upstream}..HEAD"])?;
        let commits: Vec<String> = String::from_utf8_lossy(&log.stdout).lines().map(str::to_owned).collect();
        Ok(if commits.is_empty() { Upstream::Pushed { upstream } } else { Upstream::Ahead { upstream, commits } })
    }

    /// Whether `commit` is `revision` or one of its ancestors: `Some(true)` when the revision
    /// contains it, `Some(false)` when not, `None` when this clone does not know `revision`
    /// (not fetched yet). Abbreviated ids are accepted.
    pub fn contains(&self, revision: &str, commit: &str) -> Result<Option<bool>, ClassifyError> {
        let known = |rev: &str| {
            let spec = format!("{rev}^{{commit}}");
            git(&self.top, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]).is_ok()
        };
        if revision.is_empty() || revision.starts_with('-') || !known(revision) {
            return Ok(None);
        }
        let out = run(&self.top, &["merge-base", "--is-ancestor", commit, revision])?;
        match out.status.code() {
            Some(0) => Ok(Some(true)),
            Some(1) => Ok(Some(false)),
            _ => Err(ClassifyError::Git {
                args: format!("merge-base --is-ancestor {commit} {revision}"),
                dir: self.top.clone(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            }),
        }
    }
}

/// Runs `git -C dir ARGS` and returns its output, whatever its exit status.
fn run(dir: &Path, args: &[&str]) -> Result<Output, ClassifyError> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args).env("LC_ALL", "C");
    // Read-only questions must not take the index lock an editor's git integration may hold,
    // and must never stop to ask for a password.
    command.env("GIT_OPTIONAL_LOCKS", "0").env("GIT_TERMINAL_PROMPT", "0");
    for var in REPOSITORY_OVERRIDES {
        command.env_remove(var);
    }
    command.output().map_err(|source| ClassifyError::GitUnavailable { source })
}

fn git(dir: &Path, args: &[&str]) -> Result<Output, ClassifyError> {
    let output = run(dir, args)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(ClassifyError::Git {
            args: args.join(" "),
            dir: dir.to_path_buf(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
