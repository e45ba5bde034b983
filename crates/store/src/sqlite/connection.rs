//! The connection's thread: one OS thread owns the SQLite connection and runs each store method on it whole, as
//! one message. Statements then cost what SQLite costs (microseconds), not a cross-thread round trip each (the
//! async drivers' design, which capped a durable operation at ~12 hand-offs; BENCHMARKS.md, "Load"). SQLite has one
//! writer at a time anyway, so one thread loses nothing for writes; reads are short.
//!
//! Group commit: the methods queued while one ran are run together in one SQLite transaction, each inside a
//! savepoint of its own (a method that fails undoes only its own work), and answered only once that transaction has
//! committed — so an answer still means "on disk", and a busy server writes and checkpoints the WAL once per group
//! instead of once per change. If the group cannot be committed (a full disk), the methods that wrote get the error;
//! those that only read keep their answers.
//!
//! Checkpoints while idle: every 16 commits, once nothing is queued, the thread copies the WAL back into the
//! database (a passive checkpoint), so SQLite's own checkpoint — every 1,000 WAL pages, run inside whichever commit
//! crosses the mark, stalling every method queued behind it — rarely finds work left. A server that is never idle
//! still gets SQLite's, which keeps the WAL bounded (BENCHMARKS.md: notification p99 at 1,000/s 12 → 6 ms).

use std::{
    sync::{Mutex, mpsc},
    thread::JoinHandle,
};

use rusqlite::Connection;

use crate::StoreError;

/// A store method, run; what it failed with (if it did), and how to answer its caller once the group's fate is known:
/// with the commit's error when the group could not be committed.
type Job = Box<dyn FnOnce(&mut Connection) -> (Option<StoreError>, Reply) + Send>;
type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// At most this many methods share a transaction.
const GROUP: usize = 64;
/// After this many commits, the thread copies the WAL back into the database the next time it has nothing to do.
const IDLE_CHECKPOINT_COMMITS: u32 = 16;

pub(super) struct Worker {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

const POISON: &str = "invariant: nothing panics while holding the store worker's handles";

impl Worker {
    /// Opens the connection on a new thread with `open`, and keeps it there.
    pub(super) async fn start(
        open: impl FnOnce() -> Result<Connection, StoreError> + Send + 'static,
    ) -> Result<Worker, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, is_open) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("switchboard-sqlite".into())
            .spawn(move || {
                let mut connection = match open() {
                    Ok(connection) => {
                        let _ = opened.send(Ok(()));
                        connection
                    }
                    Err(error) => {
                        let _ = opened.send(Err(error));
                        return;
                    }
                };
                let mut commits = 0;
                loop {
                    let first = match queue.try_recv() {
                        Ok(job) => job,
                        Err(mpsc::TryRecvError::Empty) => {
                            if commits >= IDLE_CHECKPOINT_COMMITS {
                                commits = 0;
                                checkpoint_while_idle(&connection);
                            }
                            // Ends when every sender is gone: the store was closed or dropped.
                            let Ok(job) = queue.recv() else { break };
                            job
                        }
                        Err(mpsc::TryRecvError::Disconnected) => break,
                    };
                    let mut jobs = vec![first];
                    jobs.extend(queue.try_iter().take(GROUP - 1));
                    run_group(&mut connection, jobs);
                    commits += 1;
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite thread: {e}")))?;
        is_open.await.map_err(|_| StoreError::Backend("the SQLite thread stopped while opening".into()))??;
        Ok(Worker { jobs: Mutex::new(Some(jobs)), thread: Mutex::new(Some(thread)) })
    }

    /// Runs `work` on the connection's thread and returns what it returned.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let outcome = work(connection);
            let error = outcome.as_ref().err().cloned();
            let reply: Reply = Box::new(move |group_failed| {
                let outcome = match (outcome, group_failed) {
                    (Ok(_), Some(error)) => Err(error.clone()),
                    (outcome, _) => outcome,
                };
                // A caller that went away does not want the answer; the work is done all the same.
                let _ = done.send(outcome);
            });
            (error, reply)
        });
        let sent = self.jobs.lock().expect(POISON).as_ref().map(|jobs| jobs.send(job).is_ok());
        if sent != Some(true) {
            return Err(StoreError::Backend("the store is closed".into()));
        }
        result.await.map_err(|_| StoreError::Backend("the SQLite thread stopped".into()))?
    }

    /// Lets the queued work finish, then closes the connection.
    pub(super) async fn close(&self) {
        self.jobs.lock().expect(POISON).take();
        let thread = self.thread.lock().expect(POISON).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Copies what the WAL holds back into the database while no method is waiting, in small steps, so that SQLite's
/// own checkpoint (every 1,000 WAL pages, inside whichever commit crosses the mark) rarely has work left to stall a
/// commit with; a server that is never idle still gets that one.
fn checkpoint_while_idle(connection: &Connection) {
    if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::debug!(%error, "an idle WAL checkpoint did not run; SQLite's own checkpoints go on");
    }
}

/// Runs `jobs` in one transaction and answers them once it is committed (or has failed); a lone job runs on its own.
fn run_group(connection: &mut Connection, jobs: Vec<Job>) {
    if jobs.len() == 1 || connection.execute_batch("BEGIN").is_err() {
        for job in jobs {
            job(connection).1(None);
        }
        return;
    }
    // Each with whether it wrote anything: one that only read keeps its answer whatever becomes of the group.
    let mut replies = Vec::with_capacity(jobs.len());
    let mut last_error = None;
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        let changes = connection.total_changes();
        let (error, reply) = job(connection);
        replies.push((reply, connection.total_changes() != changes));
        last_error = error.or(last_error);
        if connection.is_autocommit() {
            // SQLite rolled the whole group back itself (a full disk or an I/O error can do that).
            break;
        }
    }
    let failed = if connection.is_autocommit() {
        Some(last_error.unwrap_or_else(|| StoreError::Backend("the transaction was rolled back".into())))
    } else {
        connection.execute_batch("COMMIT").err().map(|error| {
            let _ = connection.execute_batch("ROLLBACK");
            super::classify(error)
        })
    };
    for (reply, wrote) in replies {
        reply(failed.as_ref().filter(|_| wrote));
    }
    // What was left when the group was rolled back runs one job at a time.
    for job in jobs {
        job(connection).1(None);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the thread once its queue is done; nobody waits for it here.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}
