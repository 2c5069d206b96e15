//! Files under `.opsrun/`: private to the user, never written through a symbolic link.
//!
//! State, the journal, task logs, the lock, overrides and the audit log can hold what a
//! cluster's operator would not show every user of a shared machine (hostnames, commands,
//! failure output), and a link planted in the state directory must not make opsrun truncate or
//! overwrite a file elsewhere. So directories are created `0700` (and tightened to it when an
//! older opsrun made them wider), files `0600`, and every file is opened with `O_NOFOLLOW`: a
//! symbolic link where a file should be is an error naming it, never followed.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::fcntl::OFlag;

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) private to the user; refuses a symbolic link.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_error(dir)),
        Ok(meta) if meta.is_dir() => {
            // Made wider by an older opsrun (umask 022): tightened, as it is ours.
            if meta.permissions().mode() & 0o077 != 0 {
                fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
            }
            return Ok(());
        }
        _ => {}
    }
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    // A link planted between the check and the creation is still refused here.
    if fs::symlink_metadata(dir)?.file_type().is_symlink() {
        return Err(symlink_error(dir));
    }
    Ok(())
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(FILE_MODE).custom_flags(OFlag::O_NOFOLLOW.bits() | OFlag::O_CLOEXEC.bits());
    options
}

fn open(path: &Path, options: &OpenOptions) -> io::Result<File> {
    options.open(path).map_err(|e| {
        // ELOOP: the last component is a symbolic link.
        if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) { symlink_error(path) } else { e }
    })
}

fn symlink_error(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("`{}` is a symbolic link; opsrun does not write its state through links (remove it)", path.display()),
    )
}

/// Reads `path` whole without following a link; a file larger than `max` bytes is an error
/// (`InvalidData`) rather than read.
pub(crate) fn read(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut file = open(path, options().read(true))?;
    let len = file.metadata()?.len();
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("`{}` is larger than {max} bytes", path.display()),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The last byte of `path` (`None` when it is empty), read without following a link.
pub(crate) fn last_byte(path: &Path) -> io::Result<Option<u8>> {
    use std::os::unix::fs::FileExt as _;
    let file = open(path, options().read(true))?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut byte = [0_u8];
    file.read_exact_at(&mut byte, len - 1)?;
    Ok(Some(byte[0]))
}

/// Opens `path` for appending, creating it `0600`.
pub fn open_append(path: &Path) -> io::Result<File> {
    open(path, options().create(true).append(true))
}

/// Creates `path` (`0600`); an existing file is an error.
pub fn create_new(path: &Path) -> io::Result<File> {
    open(path, options().create_new(true).write(true))
}

/// Opens `path` for writing without truncating, creating it `0600` (a lock file).
pub fn open_write(path: &Path) -> io::Result<File> {
    open(path, options().create(true).truncate(false).write(true))
}

/// Empties an existing `path` (a missing one is fine).
pub fn truncate(path: &Path) -> io::Result<()> {
    match open(path, options().write(true).truncate(true)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` atomically: a new `0600` temporary file beside it, written and
/// fsynced, then renamed over it (a rename replaces a link itself, never its target); with
/// `keep_previous`, the old file is kept as `<path>.prev` first. Never leaves a half-written
/// `path`.
pub fn write_atomic(path: &Path, bytes: &[u8], keep_previous: Option<&Path>) -> io::Result<()> {
    replace(path, bytes, keep_previous, true)
}

/// [`write_atomic`] without the fsyncs, for a file whose loss in a power cut costs nothing (a
/// reader sees the old or the new content, never a mix, as long as the machine stays up).
pub(crate) fn replace_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, None, false)
}

fn replace(path: &Path, bytes: &[u8], keep_previous: Option<&Path>, sync: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = create_new(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        if let Some(prev) = keep_previous
            && fs::symlink_metadata(path).is_ok()
        {
            fs::rename(path, prev)?;
        }
        fs::rename(&tmp, path)?;
        if sync { File::open(dir).and_then(|d| d.sync_all()) } else { Ok(()) }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_directories_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let file = dir.join("x");
        open_append(&file).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        write_atomic(&dir.join("y"), b"data", None).unwrap();
        assert_eq!(fs::metadata(dir.join("y")).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_wider_directory_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("s");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn links_are_refused_and_their_targets_untouched() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("precious");
        fs::write(&target, b"keep me").unwrap();
        let link = root.path().join("state.wal");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for result in
            [open_append(&link).map(drop), open_write(&link).map(drop), truncate(&link), read(&link, 1).map(drop)]
        {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
        // An atomic replace swaps the link itself out.
        write_atomic(&link, b"new", None).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
        assert!(!fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let linked_dir = root.path().join("dir-link");
        std::os::unix::fs::symlink(root.path(), &linked_dir).unwrap();
        assert!(create_dir(&linked_dir).is_err());
    }
}
