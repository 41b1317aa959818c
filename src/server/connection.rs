//! One connection's clock: whether it waits for a request head, sits idle
//! between requests, or is busy with one, and the deadline that applies.
//!
//! - A new connection, or one that received bytes of its next request,
//!   must deliver a complete request head within the header-read timeout
//!   (bytes trickling in do not extend it).
//! - A kept-alive connection with nothing in flight and no new bytes is
//!   closed after the idle timeout.
//! - While a request is in flight (until its response body is written or
//!   dropped), no timeout applies.
//!
//! hyper's own `header_read_timeout` also runs while a kept-alive
//! connection waits, which would cut every idle connection at the header
//! timeout, so both clocks are kept here: reads are observed through
//! [`Observed`], requests through [`InFlight`].

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The timeouts of every connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// How long a request head may take, from its first byte (or from
    /// accept, for the first request).
    pub header_read: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for (the rest of) a request head since this instant.
    Head(Instant),
    /// Nothing in flight, nothing received, since this instant.
    Idle(Instant),
    /// Requests in flight; bytes of a next one may have arrived.
    Busy { in_flight: usize, read_since: bool },
}

/// Why a connection was closed by its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The request head did not arrive in time.
    HeaderRead,
    /// The connection stayed idle too long.
    Idle,
}

/// The shared state of one connection.
///
/// The watchdog ([`Clock::expired`]) sleeps until a wake-up time it
/// records as `armed`; a change of phase wakes it only when it makes a
/// deadline earlier than that. It wakes early on purpose (an idle
/// connection is re-checked after the header-read timeout, a busy one
/// every header-read timeout), so that the changes of every request —
/// bytes arriving, a request starting, a response ending — never need to
/// wake it: they only update the phase under an uncontended lock.
pub struct Clock {
    state: Mutex<State>,
    changed: Notify,
    timeouts: Timeouts,
}

struct State {
    phase: Phase,
    /// When the watchdog will look again.
    armed: Instant,
}

impl Clock {
    /// A clock for a connection accepted now.
    pub fn new(timeouts: Timeouts) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            state: Mutex::new(State {
                phase: Phase::Head(now),
                armed: now + timeouts.header_read,
            }),
            changed: Notify::new(),
            timeouts,
        })
    }

    /// The earliest time the watchdog must look at `phase`.
    fn first_look(&self, phase: Phase) -> Option<Instant> {
        match phase {
            Phase::Head(since) => Some(since + self.timeouts.header_read),
            Phase::Idle(since) => Some(since + self.timeouts.header_read.min(self.timeouts.idle)),
            Phase::Busy { .. } => None,
        }
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.phase = change(state.phase);
        let sooner = self
            .first_look(state.phase)
            .is_some_and(|at| at < state.armed);
        drop(state);
        if sooner {
            self.changed.notify_one();
        }
    }

    /// Bytes arrived from the client.
    fn read(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            Phase::Busy { in_flight, .. } => Phase::Busy {
                in_flight,
                read_since: true,
            },
            head @ Phase::Head(_) => head,
        });
    }

    /// A request was dispatched to the service.
    fn started(&self) {
        self.update(|phase| match phase {
            Phase::Busy { in_flight, .. } => Phase::Busy {
                in_flight: in_flight + 1,
                read_since: false,
            },
            _ => Phase::Busy {
                in_flight: 1,
                read_since: false,
            },
        });
    }

    /// A response was written (or abandoned).
    fn finished(&self) {
        self.update(|phase| match phase {
            Phase::Busy {
                in_flight,
                read_since,
            } if in_flight > 1 => Phase::Busy {
                in_flight: in_flight - 1,
                read_since,
            },
            // Bytes of a pipelined request may be a partial head: they get
            // the header-read timeout from now.
            Phase::Busy {
                read_since: true, ..
            } => Phase::Head(Instant::now()),
            _ => Phase::Idle(Instant::now()),
        });
    }

    /// Resolves when the connection's current deadline passes.
    pub async fn expired(&self) -> Expired {
        loop {
            let notified = self.changed.notified();
            let wake = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                let wake = match state.phase {
                    Phase::Head(since) => {
                        let deadline = since + self.timeouts.header_read;
                        if now >= deadline {
                            return Expired::HeaderRead;
                        }
                        deadline
                    }
                    Phase::Idle(since) => {
                        let deadline = since + self.timeouts.idle;
                        if now >= deadline {
                            return Expired::Idle;
                        }
                        // Looked at early once (see the type's doc), then at
                        // the deadline itself.
                        let early = since + self.timeouts.header_read;
                        if now < early {
                            early.min(deadline)
                        } else {
                            deadline
                        }
                    }
                    Phase::Busy { .. } => now + self.timeouts.header_read,
                };
                state.armed = wake;
                wake
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = notified => {}
            }
        }
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub fn in_flight(self: &Arc<Self>) -> InFlight {
        self.started();
        InFlight(self.clone())
    }
}

/// A request in flight; dropping it (with the response body) ends it.
pub struct InFlight(Arc<Clock>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished();
    }
}

/// A response body that keeps its request in flight until it is written
/// to the end or dropped.
pub struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    /// Wraps `inner`.
    pub fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A socket whose reads are reported to the connection's clock.
pub struct Observed<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S> Observed<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, clock: Arc<Clock>) -> Self {
        Self { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Observed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Observed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
