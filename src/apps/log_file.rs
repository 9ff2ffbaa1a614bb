//! [`LogFile`]: a log file opened for appending that can be reopened by
//! name, for logrotate: after it renames `access.log`, the server keeps
//! writing to the renamed file until something reopens `access.log`, which
//! `waitress-serve` does on SIGHUP.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A file opened for appending (created if missing), shared by its clones,
/// that [`reopen`](LogFile::reopen) points at whatever file now has its
/// path. Give one clone to [`AccessLog`](super::access_log::AccessLog) and
/// keep another to reopen it.
///
/// ```
/// use std::io::Write;
/// use waitress::apps::access_log::LogFile;
///
/// let dir = std::env::temp_dir().join(format!("log-file-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("access.log");
/// let mut log = LogFile::open(&path)?;
/// writeln!(log, "first")?;
/// std::fs::rename(&path, dir.join("access.log.1"))?; // what logrotate does
/// log.reopen()?; // what SIGHUP does
/// writeln!(log, "second")?;
/// assert_eq!(std::fs::read_to_string(&path)?, "second\n");
/// assert_eq!(std::fs::read_to_string(dir.join("access.log.1"))?, "first\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: log_file_shared
#[derive(Clone, Debug)]
pub struct LogFile {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    file: Mutex<File>,
}
// ANCHOR_END: log_file_shared

impl LogFile {
    /// Opens `path` for appending, creating it if needed. The error names
    /// the path.
    pub fn open(path: impl AsRef<Path>) -> io::Result<LogFile> {
        let path = path.as_ref().to_path_buf();
        let file = open_append(&path)?;
        Ok(LogFile {
            shared: Arc::new(Shared {
                path,
                file: Mutex::new(file),
            }),
        })
    }

    /// The path it was opened with.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    // ANCHOR: log_file_reopen
    /// Opens the path again (creating the file if it was moved away) and
    /// writes there from now on, in every clone. If the path cannot be
    /// opened, the error names it and the old file stays in use, so no
    /// line is lost.
    pub fn reopen(&self) -> io::Result<()> {
        let file = open_append(&self.shared.path)?;
        let mut current = self
            .shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *current = file; // closes the old one
        Ok(())
    }
    // ANCHOR_END: log_file_reopen
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))
}

impl Write for LogFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut file = self
            .shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        file.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        // One lock for the whole line, so a reopen cannot split it.
        let mut file = self
            .shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        file.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut file = self
            .shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_of_a_path_in_a_missing_folder_names_it_and_keeps_the_old_file() {
        let dir = std::env::temp_dir().join(format!("log-file-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("access.log");
        let mut log = LogFile::open(&path).unwrap();
        std::fs::rename(&dir, dir.with_extension("moved")).unwrap();
        let error = log.reopen().unwrap_err();
        assert!(error.to_string().contains("access.log"), "{error}");
        writeln!(log, "kept").unwrap();
        let moved = dir.with_extension("moved");
        assert_eq!(
            std::fs::read_to_string(moved.join("access.log")).unwrap(),
            "kept\n"
        );
        std::fs::remove_dir_all(moved).unwrap();
    }
}
