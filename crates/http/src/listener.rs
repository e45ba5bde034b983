//! Connections: how many are open at once, how long a client may take to send a request's headers, how long a
//! connection may sit idle, and who gives way when there are too many — so that sockets held open by clients that
//! say nothing (slowloris, idle keep-alives by the thousand) neither exhaust the process's file descriptors nor
//! keep anyone else out.
//!
//! * **Header read timeout** (hyper's): a client must send a request's headers within it, and an HTTP/1 keep-alive
//!   connection that waits longer than it for its next request is closed. Dripping a byte a second does not help.
//! * **Idle timeout**: a connection that moves no byte either way and serves no request for this long is closed
//!   (HTTP/2 connections without streams included, which the header timeout does not cover).
//! * **A connection limit**, set from the file-descriptor limit by the server: when it is reached, the oldest
//!   connection that is not serving a request is closed to make room, so a new client that sends its request at once
//!   is served while connections that only wait give way, oldest first. At most [`ADMITTING`] connections wait to be
//!   let in; past that, new ones are closed at once.
//!
//! Every request gets the peer's address as `ConnectInfo<SocketAddr>` (the token endpoint throttles by it).

use std::{
    collections::BTreeMap,
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::Request,
};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore, watch},
};
use tower::ServiceExt;

/// How the server treats connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, and an HTTP/1 connection to start its next request.
    pub header_read_timeout: Duration,
    /// How long a connection may move nothing while serving no request.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Connections accepted and waiting to be let in at most (each holds a file descriptor while it waits).
pub const ADMITTING: usize = 256;
/// How long a new connection waits for room once an older one was told to make it.
const ROOM_WAIT: Duration = Duration::from_secs(1);

/// Connections refused for want of room, and connections closed to make room.
const REFUSED: &str = "switchboard_http_connections_refused_total";
const EVICTED: &str = "switchboard_http_connections_evicted_total";
const OPEN: &str = "switchboard_http_connections_open";

/// The open connections, oldest first.
struct Open {
    by_age: Mutex<BTreeMap<u64, Arc<Connection>>>,
    next: AtomicU64,
    room: Arc<Semaphore>,
    admitting: AtomicUsize,
}

/// One open connection, as the others see it.
#[derive(Default)]
struct Connection {
    /// Requests it is serving (until their responses' bodies are sent).
    requests: AtomicUsize,
    /// When it last moved a byte, in milliseconds since [`epoch`].
    active_ms: AtomicU64,
    evicted: AtomicBool,
    evict: Notify,
}

/// A connection let in: it holds its room until dropped.
struct Admitted {
    id: u64,
    connection: Arc<Connection>,
    open: Arc<Open>,
    _room: OwnedSemaphorePermit,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.open.by_age.lock().expect(POISON).remove(&self.id);
        metrics::gauge!(OPEN).decrement(1);
    }
}

const POISON: &str = "invariant: nothing panics while holding the connection table";

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Open {
    fn new(max_connections: usize) -> Arc<Open> {
        Arc::new(Open {
            by_age: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
            room: Arc::new(Semaphore::new(max_connections.max(1))),
            admitting: AtomicUsize::new(0),
        })
    }

    /// Room for a new connection: at once, or by closing the oldest connection that serves no request.
    async fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let room = match self.room.clone().try_acquire_owned() {
            Ok(room) => room,
            Err(_) => {
                self.evict_oldest_waiting();
                tokio::time::timeout(ROOM_WAIT, self.room.clone().acquire_owned()).await.ok()?.ok()?
            }
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection { active_ms: AtomicU64::new(now_ms()), ..Connection::default() });
        self.by_age.lock().expect(POISON).insert(id, connection.clone());
        metrics::gauge!(OPEN).increment(1);
        Some(Admitted { id, connection, open: self.clone(), _room: room })
    }

    fn evict_oldest_waiting(&self) {
        let by_age = self.by_age.lock().expect(POISON);
        let oldest =
            by_age.values().find(|c| c.requests.load(Ordering::Acquire) == 0 && !c.evicted.load(Ordering::Acquire));
        if let Some(connection) = oldest {
            connection.evicted.store(true, Ordering::Release);
            // A permit is kept if the connection is not waiting on it yet, so the notice is not lost.
            connection.evict.notify_one();
            metrics::counter!(EVICTED).increment(1);
        }
    }
}

/// What `serve` needs besides the listener and the router.
#[derive(Clone)]
pub struct ServeOptions {
    pub tls: Option<crate::TlsCertificate>,
    pub limits: ConnectionLimits,
    /// How long requests in flight may run after the shutdown signal.
    pub grace: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight finish for at most
/// `options.grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let tls = options.tls.as_ref().map(tls_acceptor).transpose()?;
    let open = Open::new(options.limits.max_connections);
    let (stop, stopping) = watch::channel(false);
    let (alive, _) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: wait for some to be given back instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if open.admitting.fetch_add(1, Ordering::AcqRel) >= ADMITTING {
            open.admitting.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!(REFUSED).increment(1);
            continue;
        }
        let task = ConnectionTask {
            open: open.clone(),
            router: router.clone(),
            tls: tls.clone(),
            limits: options.limits.clone(),
            stopping: stopping.clone(),
            _alive: alive.subscribe(),
        };
        tokio::spawn(task.run(stream, peer));
    }
    drop(listener);
    let _ = stop.send(true);
    if tokio::time::timeout(options.grace, alive.closed()).await.is_err() {
        tracing::warn!(
            grace_seconds = options.grace.as_secs_f64(),
            "requests still running at the end of the shutdown grace period; closing them"
        );
    }
    Ok(())
}

fn tls_acceptor(certificate: &crate::TlsCertificate) -> io::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let invalid = |what: &str, error: rustls::pki_types::pem::Error| {
        io::Error::new(io::ErrorKind::InvalidData, format!("the TLS {what} is not PEM: {error}"))
    };
    let chain = CertificateDer::pem_slice_iter(&certificate.chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate chain", e))?;
    let key = PrivateKeyDer::from_pem_slice(&certificate.key_pem).map_err(|e| invalid("key", e))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What a connection's task needs.
struct ConnectionTask {
    open: Arc<Open>,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ConnectionLimits,
    stopping: watch::Receiver<bool>,
    /// Held while the connection lives: `serve` waits for every one to be dropped.
    _alive: watch::Receiver<()>,
}

impl ConnectionTask {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let admitted = self.open.admit().await;
        self.open.admitting.fetch_sub(1, Ordering::AcqRel);
        let Some(admitted) = admitted else {
            metrics::counter!(REFUSED).increment(1);
            return;
        };
        let _ = stream.set_nodelay(true);
        let connection = admitted.connection.clone();
        let watched = Watched { inner: stream, connection: connection.clone() };
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(watched),
            Some(acceptor) => {
                match tokio::time::timeout(self.limits.header_read_timeout, acceptor.accept(watched)).await {
                    Ok(Ok(stream)) => Box::new(stream),
                    // A handshake that fails or does not finish in time: nothing to answer.
                    _ => return,
                }
            }
        };
        let service = {
            let (router, connection) = (self.router.clone(), connection.clone());
            tower::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let busy = Busy::new(connection.clone());
                let router = router.clone();
                async move {
                    let response = router.oneshot(request.map(Body::new)).await?;
                    Ok::<_, Infallible>(response.map(|body| Body::new(Guarded { body, _busy: busy })))
                }
            })
        };
        let mut builder = Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.limits.header_read_timeout);
        builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
        let served = builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
        let mut served = std::pin::pin!(served);
        let idle = self.limits.idle_timeout;
        loop {
            tokio::select! {
                _ = served.as_mut() => break,
                () = connection.evict.notified() => break,
                () = idle_for(&connection, idle) => break,
                Ok(()) = self.stopping.changed() => served.as_mut().graceful_shutdown(),
            }
        }
        drop(admitted);
    }
}

/// Resolves once `connection` has moved nothing and served no request for `idle`.
async fn idle_for(connection: &Connection, idle: Duration) {
    let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
    loop {
        let quiet_since = connection.active_ms.load(Ordering::Acquire);
        let due = quiet_since.saturating_add(idle_ms);
        let now = now_ms();
        if now >= due && connection.requests.load(Ordering::Acquire) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(due.saturating_sub(now).max(idle_ms / 4).max(1))).await;
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A socket that notes when it last moved a byte.
struct Watched {
    inner: TcpStream,
    connection: Arc<Connection>,
}

impl Watched {
    fn moved(&self) {
        self.connection.active_ms.store(now_ms(), Ordering::Release);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request being served, from its arrival until its response's body is sent (or dropped).
struct Busy(Arc<Connection>);

impl Busy {
    fn new(connection: Arc<Connection>) -> Busy {
        connection.requests.fetch_add(1, Ordering::AcqRel);
        Busy(connection)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.active_ms.store(now_ms(), Ordering::Release);
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as served until it is sent.
struct Guarded {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.body)
    }
}
