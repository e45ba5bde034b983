//! WAL checkpoints mostly off the commit path. Left to itself, SQLite checkpoints on the connection that commits
//! whenever the WAL passes 1,000 pages — copying all of them back, with an `fsync` of the database, on the one
//! thread every change waits for (16% of that thread, in bursts, and the tail of notification latency;
//! BENCHMARKS.md, "Load"). This thread, on a connection of its own, copies the WAL back every [`INTERVAL`] without
//! blocking the writer (`PASSIVE`), so the commits mostly only append.
//!
//! A passive checkpoint never catches up with a writer that never pauses, and SQLite starts the WAL over only once
//! all of it has been copied back: with nothing else, the WAL grew by gigabytes under steady load (25 GiB while
//! 100,000 calls were set up). So the committing connection still checkpoints, past [`WAL_FRAMES`] (16 MiB), and
//! finds most of the WAL copied already: a short pause every 16 MiB of writes instead of a full copy every 4 MiB.

use std::{
    path::{Path, PathBuf},
    sync::mpsc,
    thread::JoinHandle,
    time::Duration,
};

use rusqlite::{Connection, OpenFlags};

use super::classify;
use crate::StoreError;

/// How often the WAL is copied back: often enough that it stays small (a few MiB at the highest write rates
/// measured), seldom enough to cost nothing when idle.
const INTERVAL: Duration = Duration::from_millis(250);

/// Past this many frames in the WAL (16 MiB of 4 KiB pages), the committing connection checkpoints it itself.
pub(super) const WAL_FRAMES: i64 = 4096;

/// The checkpointing thread; stops when dropped or closed.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `database` (already opened in WAL mode by the store).
    pub(super) fn start(database: &Path) -> Result<Checkpointer, StoreError> {
        let connection = open(database)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let database: PathBuf = database.to_owned();
        let thread = std::thread::Builder::new()
            .name("switchboard-checkpoint".into())
            .spawn(move || {
                // Ends when told to, or when the store that started it is gone. A failure is told once, and its end.
                let mut failing = false;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    match checkpoint(&connection) {
                        Err(error) if !failing => {
                            failing = true;
                            tracing::warn!(database = %database.display(), %error, "WAL checkpoints fail; retrying");
                        }
                        Ok(()) if failing => {
                            failing = false;
                            tracing::info!(database = %database.display(), "WAL checkpoints work again");
                        }
                        _ => {}
                    }
                }
                // One last copy, so a clean stop leaves a small WAL behind.
                let _ = checkpoint(&connection);
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { stop: Some(stop), thread: Some(thread) })
    }

    /// Stops the thread after its last checkpoint.
    pub(super) fn close(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread at its next beat; nobody waits for it here.
        self.stop.take();
    }
}

fn open(database: &Path) -> Result<Connection, StoreError> {
    let connection =
        Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(classify)?;
    connection.busy_timeout(Duration::from_secs(1)).map_err(classify)?;
    Ok(connection)
}

/// Copies what it can of the WAL into the database without waiting for the writer.
fn checkpoint(connection: &Connection) -> Result<(), StoreError> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(classify)
}
