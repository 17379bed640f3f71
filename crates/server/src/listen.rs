//! `serve`'s listeners: plain HTTP and HTTPS, every connection bounded in time and in number.
//!
//! One accept loop feeds both listeners into the same [`router`](crate::router). Each connection
//! is served by hyper (HTTP/1.1 or HTTP/2, detected; over TLS also offered by ALPN) and watched:
//!
//! - **header timeout**: a new connection must deliver complete request headers within
//!   `header_timeout` of being accepted (the TLS handshake included); on a kept-alive connection
//!   the clock starts at the first byte of the next request. A slow sender (slowloris) is closed.
//! - **idle timeout**: a kept-alive connection with no request in flight and no byte received
//!   for `idle_timeout` is closed (HTTP/2: GOAWAY).
//! - **max connections**: at `max_connections` open connections the loop stops accepting; new
//!   connections wait in the kernel's listen backlog until one closes (they are not refused, so
//!   a burst is served late rather than failed; the header and idle timeouts bound the wait).
//! - **shutdown**: when `shutdown` resolves, both listeners close at once, every connection is
//!   told to finish (idle and half-read ones close immediately, HTTP/2 gets GOAWAY), in-flight
//!   requests get `shutdown_grace`, and whatever is left then is dropped.
//!
//! Hyper's own HTTP/1 header timeout is not used: it also runs while a kept-alive connection is
//! idle, so it would cut the idle timeout short, and it does not cover HTTP/2 nor the protocol
//! detection before it.

use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The bounds on connections. See the module documentation for what each one does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    /// 10 s for headers (every SDK sends them at once), 60 s idle (the default idle timeout of
    /// an AWS load balancer), 1024 connections, 5 s for in-flight requests at shutdown.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The listening sockets: plain HTTP, and HTTPS with its configuration.
pub struct Listeners {
    pub http: TcpListener,
    pub https: Option<(TcpListener, Arc<rustls::ServerConfig>)>,
}

/// How a request reached us; handlers read it from the request extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transport {
    /// Over TLS (feeds `aws:SecureTransport`).
    pub secure: bool,
}

/// Serve `app` on `listeners` until `shutdown` resolves, then drain as the module says.
pub async fn serve(
    app: Arc<crate::App>,
    listeners: Listeners,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = crate::router(app);
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut conns = JoinSet::new();
    let Listeners { http, https } = listeners;
    let https = https.map(|(l, config)| (l, tokio_rustls::TlsAcceptor::from(config)));
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        // A slot first: at the limit we stop accepting and the kernel backlog holds the rest.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            r = http.accept() => r.map(|(s, a)| (s, a, None)),
            r = accept_https(&https) => r.map(|(s, a, t)| (s, a, Some(t))),
            _ = &mut shutdown => break,
        };
        let (tcp, peer, tls) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors or a connection reset before accept: transient. Back off
                // a little so that a full descriptor table does not spin the loop.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Event frames are small writes: without TCP_NODELAY, Nagle and delayed ACKs hold each
        // one back ~40 ms on a kept-alive connection.
        let _ = tcp.set_nodelay(true);
        let conn = Conn {
            router: router.clone(),
            peer,
            limits: limits.clone(),
            stop: stop_rx.clone(),
        };
        conns.spawn(async move {
            conn.run(tcp, tls).await;
            drop(permit);
        });
    }
    drop(http);
    drop(https);
    let _ = stop_tx.send(true);
    let drained = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        conns.abort_all();
    }
    Ok(())
}

async fn accept_https(
    https: &Option<(TcpListener, tokio_rustls::TlsAcceptor)>,
) -> std::io::Result<(TcpStream, SocketAddr, tokio_rustls::TlsAcceptor)> {
    match https {
        Some((l, acceptor)) => l.accept().await.map(|(s, a)| (s, a, acceptor.clone())),
        None => std::future::pending().await,
    }
}

/// One accepted connection and what it needs.
struct Conn {
    router: axum::Router,
    peer: SocketAddr,
    limits: Limits,
    stop: watch::Receiver<bool>,
}

impl Conn {
    async fn run(mut self, tcp: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        let activity = Arc::new(Activity::new());
        let tcp = Watched {
            inner: tcp,
            activity: activity.clone(),
        };
        match tls {
            None => self.drive(tcp, false, activity).await,
            Some(acceptor) => {
                // The handshake counts against the header timeout: both are the client's part
                // of getting a request in.
                let deadline = activity.start + self.limits.header_timeout;
                let handshake = tokio::time::timeout_at(deadline, acceptor.accept(tcp));
                let stream = tokio::select! {
                    r = handshake => match r {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake with {}: {e}", self.peer);
                            return;
                        }
                        Err(_) => return,
                    },
                    _ = self.stop.wait_for(|s| *s) => return,
                };
                self.drive(stream, true, activity).await
            }
        }
    }

    /// Serve HTTP on `io` until the peer goes, a timeout closes it, or shutdown ends it.
    async fn drive<I>(&mut self, io: I, secure: bool, activity: Arc<Activity>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let router = self.router.clone();
        let peer = self.peer;
        let on_request = activity.clone();
        let service =
            hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(Transport { secure });
                let in_flight = InFlight::start(on_request.clone());
                let mut router = router.clone();
                async move {
                    let resp = tower::Service::call(&mut router, req).await?;
                    // The request is in flight until its body is sent (or the client goes away).
                    Ok::<_, std::convert::Infallible>(resp.map(|body| {
                        axum::body::Body::new(body.map_frame(move |f| {
                            let _ = &in_flight;
                            f
                        }))
                    }))
                }
            });
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder.http1().header_read_timeout(None);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        // Once told to finish, the connection gets the grace period and is then dropped.
        let mut finish_by: Option<Instant> = None;
        let mut stopping = false;
        loop {
            let deadline = activity.deadline(&self.limits);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = activity.changed.notified() => {}
                _ = sleep_until(deadline), if finish_by.is_none() => {
                    if activity.deadline(&self.limits).is_some_and(|d| d <= Instant::now()) {
                        // Headers overdue: nothing is owed to this client, close at once
                        // (hyper's graceful close would wait for the request to complete).
                        if activity.reading_head() {
                            return;
                        }
                        conn.as_mut().graceful_shutdown();
                        finish_by = Some(Instant::now() + self.limits.shutdown_grace);
                    }
                }
                _ = self.stop.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    if activity.reading_head() {
                        return;
                    }
                    if finish_by.is_none() {
                        conn.as_mut().graceful_shutdown();
                        finish_by = Some(Instant::now() + self.limits.shutdown_grace);
                    }
                }
                _ = sleep_until(finish_by), if finish_by.is_some() => return,
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What the watchdog of one connection needs to know, shared with its reads and its requests.
struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `start` + 1 when the client began sending a request head with none in
    /// flight; 0: not reading a head.
    head_since: AtomicU64,
    /// Milliseconds since `start` when the last request finished.
    idle_since: AtomicU64,
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            // A new connection owes its first request head from the start.
            head_since: AtomicU64::new(1),
            idle_since: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// When the connection is to be closed if nothing changes; none while a request is in flight.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let ms = Duration::from_millis;
        match self.head_since.load(Ordering::SeqCst) {
            0 => {
                Some(self.start + ms(self.idle_since.load(Ordering::SeqCst)) + limits.idle_timeout)
            }
            since => Some(self.start + ms(since - 1) + limits.header_timeout),
        }
    }

    /// No request in flight and (part of) a request head owed: closing loses nothing.
    fn reading_head(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0 && self.head_since.load(Ordering::SeqCst) != 0
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0
            && self
                .head_since
                .compare_exchange(0, self.now_ms() + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }
}

/// One request in flight on a connection, from its complete head to the end of its response.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        activity.head_since.store(0, Ordering::SeqCst);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now_ms(), Ordering::SeqCst);
        a.in_flight.fetch_sub(1, Ordering::SeqCst);
        a.changed.notify_one();
    }
}

/// A stream that tells its connection's [`Activity`] when bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
