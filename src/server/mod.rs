//! The HTTP server: an accept loop over hyper that bounds what clients can
//! hold. At most `max_connections` are open at once (a connection past the
//! cap is closed at accept, so the ones already open keep being served);
//! each connection has a header-read and an idle timeout
//! ([`connection`]); on shutdown, accepting stops, idle connections close,
//! and requests in flight get up to `shutdown_timeout` to finish.

mod connection;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use connection::{Clock, Observed, TrackedBody};
pub use connection::{Expired, Timeouts};

/// What the server bounds.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// The connection timeouts.
    pub timeouts: Timeouts,
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long requests in flight may take to finish after shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts {
                header_read: Duration::from_secs(10),
                idle: Duration::from_secs(60),
            },
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// the requests in flight finish (up to the shutdown timeout).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // One permit a connection; `acquire_many` at shutdown counts in u32.
    let permits = u32::try_from(options.max_connections)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "max connections must be between 1 and 2^32 - 1",
            )
        })?;
    let slots = Arc::new(Semaphore::new(permits as usize));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut refused_logged: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors or a connection reset before accept:
                // back off briefly rather than spin.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            let now = tokio::time::Instant::now();
            if refused_logged.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10)) {
                tracing::warn!(
                    max = options.max_connections,
                    "connection limit reached; closing new connections at accept"
                );
                refused_logged = Some(now);
            }
            drop(stream);
            continue;
        };
        tokio::spawn(serve_connection(
            stream,
            router.clone(),
            options.timeouts,
            stopping.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends.
    let all = slots.acquire_many(permits);
    if tokio::time::timeout(options.shutdown_timeout, all)
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?options.shutdown_timeout,
            "requests still in flight at the end of the shutdown timeout; closing them"
        );
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    // The peer, for handlers that key on the client's address.
    let peer = stream.peer_addr().ok().map(axum::extract::ConnectInfo);
    let clock = Clock::new(timeouts);
    let io = TokioIo::new(Observed::new(stream, clock.clone()));
    let service = {
        let clock = clock.clone();
        hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let in_flight = clock.in_flight();
            let router = router.clone();
            async move {
                let mut request = request.map(Body::new);
                if let Some(peer) = peer {
                    request.extensions_mut().insert(peer);
                }
                let response = router.oneshot(request).await;
                response.map(|response| {
                    response.map(|body| Body::new(TrackedBody::new(body, in_flight)))
                })
            }
        })
    };
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut shutting_down = *stopping.borrow();
    if shutting_down {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            why = clock.expired() => {
                tracing::debug!(?why, "connection timed out");
                return;
            }
            changed = stopping.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
