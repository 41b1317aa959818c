//! Directories and files only their owner may read: `keys/` and `data/`
//! are 0700 and what they hold 0600, set explicitly so that the process's
//! umask cannot widen them.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// Creates `dir` (and its parents) 0700 when absent; an existing
/// directory keeps the mode its operator gave it.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Makes the existing file `path` 0600.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    restrict(path, 0o600)
}

fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    if fs::metadata(path)?.permissions().mode() & 0o777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}
