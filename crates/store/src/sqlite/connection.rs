//! The connection's thread: one OS thread owns the SQLite connection and runs each store method on it whole, as
//! one message. Statements then cost what SQLite costs (microseconds), not a cross-thread round trip each (the
//! async drivers' design, which capped a durable operation at ~12 hand-offs; BENCHMARKS.md, "Load"). SQLite has one
//! writer at a time anyway, so one thread loses nothing for writes; reads are short.

use std::{
    sync::{Mutex, mpsc},
    thread::JoinHandle,
};

use rusqlite::Connection;

use crate::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

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
                // Ends when every sender is gone: the store was closed or dropped.
                for job in queue {
                    job(&mut connection);
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
            // A caller that went away does not want the answer; the work is done all the same.
            let _ = done.send(work(connection));
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

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the thread once its queue is done; nobody waits for it here.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}
