//! One serving process per SQLite file. Two gateways on one file would both deliver
//! every queue: order and rate limits break, and each message goes out twice. The
//! lock is an advisory `flock` on a file beside the store, so the kernel releases it
//! when the process ends, however it ends; the pid inside names the holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::store::OpenError;

/// Held for as long as the store is open.
#[derive(Debug)]
pub(super) struct ServeLock {
    _file: File,
}

pub(super) fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl ServeLock {
    /// Takes the lock at once or says who holds it.
    pub(super) fn take(store: &Path) -> Result<Self, OpenError> {
        let path = lock_path(store);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                OpenError::new(format!("cannot open the lock file {}", path.display()), e)
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => String::new(),
                    pid => format!(" (pid {pid})"),
                };
                return Err(OpenError::new(
                    format!(
                        "{} is in use by another hookbridge{holder}; stop it first, or give this one its own store",
                        store.display()
                    ),
                    format!("{} is locked", path.display()),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(OpenError::new(format!("cannot lock {}", path.display()), e))
            }
        }
        // Only the holder writes its pid, so a reader never sees a half-written one
        // from a process that then failed to lock.
        let pid = std::process::id().to_string();
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()));
        written.map_err(|e| OpenError::new(format!("cannot write {}", path.display()), e))?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("hookbridge.db");
        let first = ServeLock::take(&store).expect("the first takes it");
        let refused = ServeLock::take(&store).expect_err("the second is refused");
        let expected = format!(
            "{} is in use by another hookbridge (pid {})",
            store.display(),
            std::process::id()
        );
        assert!(refused.to_string().starts_with(&expected), "{refused}");
        drop(first);
        ServeLock::take(&store).expect("free again once the first is gone");
    }
}
