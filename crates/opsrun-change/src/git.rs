//! `--git BASE`: the files changed between a base revision and the working tree, via `git`.

use std::path::Path;
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

fn git(dir: &Path, args: &[&str]) -> Result<Output, ClassifyError> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args).env("LC_ALL", "C");
    for var in REPOSITORY_OVERRIDES {
        command.env_remove(var);
    }
    let output = command.output().map_err(|source| ClassifyError::GitUnavailable { source })?;
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
