//! Files: fresh temporary directories, and the files of a source tree.

use std::fs;
use std::path::{Path, PathBuf};

/// A fresh, empty directory under the temp dir, named for the test and this
/// process, removed on drop (even when the test fails).
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    /// `$TMPDIR/waitress-NAME-PID`, emptied if a previous run left it.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("waitress-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    /// A path inside the directory.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.path.join(relative)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Every file under `dir`, at any depth, whose name ends in `.EXTENSION`.
pub fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_with_extension(&path, extension));
        } else if path.extension().is_some_and(|e| e == extension) {
            files.push(path);
        }
    }
    files
}

/// Every Rust source file under `dir`.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_with_extension(dir, "rs")
}
