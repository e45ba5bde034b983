//! The data directory: private to the user the server runs as, and served by one server at a time.
//!
//! The database holds the RSA keys that sign every access and notification token, the hashes of the apps' secrets
//! and the recordings: anyone who can read it can forge tokens. So the directory is 0700 and the database's files
//! (`switchboard.sqlite`, `-wal`, `-shm`) are 0600, made so when they are created and put right (with a warning)
//! at every start if someone loosened them. Two servers on one directory would each fire the timers and deliver the
//! outbox, so `serve` holds a lock on `switchboard.lock` for as long as it runs; the one that comes second is refused,
//! told which process holds it. (The CLI's `app`, `tenant`, `keys` and `check` take no lock: they work beside a
//! running server.)

use std::{
    fs::{self, File, OpenOptions},
    io::{Read, Seek, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

/// The database file inside the data directory.
pub(crate) const DATABASE_FILE: &str = "switchboard.sqlite";
/// The file a serving process holds locked.
const LOCK_FILE: &str = "switchboard.lock";
/// SQLite's companions of the database in WAL mode.
const DATABASE_COMPANIONS: [&str; 2] = ["-wal", "-shm"];

#[derive(Debug, thiserror::Error)]
pub(crate) enum DataDirError {
    #[error("cannot create the data directory {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot make {} private to this user ({mode:o} now; it must be {wanted:o}): {source}", path.display())]
    Permissions { path: PathBuf, mode: u32, wanted: u32, source: std::io::Error },
    #[error("cannot lock the data directory {} ({}): {source}", path.display(), LOCK_FILE)]
    Lock { path: PathBuf, source: std::io::Error },
    #[error(
        "the data directory {} is in use by another switchboard server ({holder}); stop it, or give this one a \
         --data-dir of its own",
        path.display()
    )]
    InUse { path: PathBuf, holder: String },
}

/// A prepared data directory.
#[derive(Debug)]
pub(crate) struct DataDir {
    path: PathBuf,
}

/// Held while a server serves the directory; the lock goes with the process, however it ends.
#[derive(Debug)]
pub(crate) struct ServingLock {
    _file: File,
}

impl DataDir {
    /// Creates the directory (and an empty database file) private to this user, or puts an existing one right.
    pub(crate) fn prepare(path: &Path) -> Result<DataDir, DataDirError> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| DataDirError::Create { path: path.to_owned(), source })?;
        restrict(path, 0o700)?;
        let directory = DataDir { path: path.to_owned() };
        // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database's permissions.
        if !directory.database().exists() {
            OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(directory.database())
                .map_err(|source| DataDirError::Create { path: directory.database(), source })?;
        }
        directory.restrict_files()?;
        Ok(directory)
    }

    pub(crate) fn database(&self) -> PathBuf {
        self.path.join(DATABASE_FILE)
    }

    /// The database's files 0600 (call again once the store has opened and made its -wal and -shm).
    pub(crate) fn restrict_files(&self) -> Result<(), DataDirError> {
        let database = self.database();
        let companions = DATABASE_COMPANIONS.map(|suffix| PathBuf::from(format!("{}{suffix}", database.display())));
        for file in std::iter::once(database).chain(companions) {
            if file.exists() {
                restrict(&file, 0o600)?;
            }
        }
        Ok(())
    }

    /// The lock a serving process holds, or who holds it.
    pub(crate) fn lock_for_serving(&self) -> Result<ServingLock, DataDirError> {
        let path = self.path.join(LOCK_FILE);
        let lock_error = |source| DataDirError::Lock { path: path.clone(), source };
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&path);
        let (mut file, writable) = match file {
            Ok(file) => (file, true),
            // A read-only directory can still be locked (a lock needs no write access), and the store then says
            // what is wrong with the database.
            Err(error) if error.kind() == std::io::ErrorKind::ReadOnlyFilesystem && path.exists() => {
                (File::open(&path).map_err(lock_error)?, false)
            }
            Err(error) => return Err(lock_error(error)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "a process that has not said which yet".to_owned(),
                    text => text.to_owned(),
                };
                return Err(DataDirError::InUse { path: self.path.clone(), holder });
            }
            Err(fs::TryLockError::Error(source)) => return Err(lock_error(source)),
        }
        if writable {
            // Who holds it, for the next one to be told.
            let holder = format!("pid {}, started {}", std::process::id(), chrono::Utc::now().to_rfc3339());
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(holder.as_bytes()))
                .map_err(lock_error)?;
        }
        Ok(ServingLock { _file: file })
    }
}

/// Takes group and other permissions away from `path` if it has any.
fn restrict(path: &Path, wanted: u32) -> Result<(), DataDirError> {
    let error = |mode, source| DataDirError::Permissions { path: path.to_owned(), mode, wanted, source };
    let mode = fs::metadata(path).map_err(|source| error(0, source))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(wanted)).map_err(|source| error(mode, source))?;
        tracing::warn!(
            path = %path.display(), was = format!("{mode:o}"), now = format!("{wanted:o}"),
            "the data directory was readable by other users (it holds the token signing keys); made it private"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_is_private_and_a_loosened_one_is_put_right() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        let directory = DataDir::prepare(&path).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(&directory.database())), (0o700, 0o600));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(directory.database(), fs::Permissions::from_mode(0o644)).unwrap();
        let wal = path.join("switchboard.sqlite-wal");
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).unwrap();
        DataDir::prepare(&path).unwrap();
        assert_eq!((mode(&path), mode(&directory.database()), mode(&wal)), (0o700, 0o600, 0o600));
    }

    #[test]
    fn one_lock_at_a_time_and_the_second_is_told_who_holds_it() {
        let parent = tempfile::tempdir().unwrap();
        let directory = DataDir::prepare(&parent.path().join("data")).unwrap();
        let held = directory.lock_for_serving().unwrap();
        let refused = directory.lock_for_serving().unwrap_err().to_string();
        assert!(refused.contains(&format!("pid {}", std::process::id())), "{refused}");
        drop(held);
        directory.lock_for_serving().expect("free again once the holder lets go");
    }
}
