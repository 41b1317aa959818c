//! What clients can hold: header-read and idle timeouts, the connection
//! cap, and requests in flight finishing on shutdown. Real sockets, short
//! limits, and waits for the observable event (the server closing the
//! connection) under a generous deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tessera::server::{ServeOptions, Timeouts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common::app::test_state;
use crate::common::in_flight::InFlight;

const DEADLINE: Duration = Duration::from_secs(20);
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(options: ServeOptions) -> Server {
    // /healthz never touches the store: an unreachable Redis URL is fine.
    let (state, _keys) = test_state("redis://127.0.0.1:1");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(tessera::serve_with(listener, state, options, async {
        let _ = stopped.await;
    }));
    Server {
        address,
        stop: Some(stop),
        task,
    }
}

fn options(header_read: Duration, idle: Duration, max_connections: usize) -> ServeOptions {
    ServeOptions {
        timeouts: Timeouts { header_read, idle },
        max_connections,
        shutdown_timeout: Duration::from_secs(10),
    }
}

/// Reads until the server closes the connection (or resets it); returns
/// what was read. Fails the test after the deadline.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let outcome = tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "the server kept the connection open");
    all
}

/// Reads one response to `/healthz` (its body is small and fixed).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(DEADLINE, async {
        while !String::from_utf8_lossy(&all).contains("\r\n\r\n")
            || !String::from_utf8_lossy(&all).ends_with('}')
        {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a response");
            all.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a response in time");
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_header_read_timeout() {
    let server = start(options(
        Duration::from_millis(300),
        Duration::from_secs(60),
        100,
    ))
    .await;
    let opened = Instant::now();
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let read = read_until_closed(&mut stream).await;
    assert!(read.is_empty());
    assert!(opened.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn headers_sent_byte_by_byte_do_not_extend_the_header_read_timeout() {
    let server = start(options(
        Duration::from_millis(500),
        Duration::from_secs(60),
        100,
    ))
    .await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut closed = false;
    for byte in request {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        // A read that ends (EOF or reset) within the pause means closed.
        if let Ok(result) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await
        {
            assert!(
                !matches!(result, Ok(n) if n > 0),
                "answered a request never completed"
            );
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a trickled request head kept its connection for {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_idle_timeout_not_before() {
    // The header timeout is much shorter than the idle timeout: an idle
    // connection between requests is governed by the idle one.
    let server = start(options(
        Duration::from_millis(200),
        Duration::from_millis(1500),
        100,
    ))
    .await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Five header timeouts later, the connection still serves.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stream.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    assert!(read_until_closed(&mut stream).await.is_empty());
    assert!(idle_from.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_accept_and_the_rest_are_served() {
    let server = start(options(Duration::from_secs(30), Duration::from_secs(60), 2)).await;
    let mut first = TcpStream::connect(server.address).await.unwrap();
    let mut second = TcpStream::connect(server.address).await.unwrap();
    // Both held: the first is served (proving it was accepted) and stays.
    first.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    second.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));
    // A third is closed without an answer.
    let mut third = TcpStream::connect(server.address).await.unwrap();
    let _ = third.write_all(HEALTHZ).await;
    assert!(read_until_closed(&mut third).await.is_empty());
    // The held ones still work.
    first.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    // Once one closes, a new connection is served again.
    drop(second);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let mut fresh = TcpStream::connect(server.address).await.unwrap();
        let _ = fresh.write_all(HEALTHZ).await;
        let answer = read_until_closed_or_response(&mut fresh).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::task::yield_now().await;
    }
}

/// A response, or "" when the server closed the connection first.
async fn read_until_closed_or_response(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&all).ends_with('}') {
                        return;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_request_in_flight_finishes_after_shutdown_and_idle_ones_close() {
    let mut server = start(options(
        Duration::from_secs(30),
        Duration::from_secs(60),
        100,
    ))
    .await;
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    idle.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    // A request whose body is still coming: in flight in the handler.
    let busy = InFlight::start(&server.address.to_string()).await;
    server.stop.take().unwrap().send(()).unwrap();
    assert!(
        read_until_closed(&mut idle).await.is_empty(),
        "idle connections close"
    );
    assert!(
        !server.task.is_finished(),
        "the server waits for the request in flight"
    );
    busy.finish().await;
    tokio::time::timeout(DEADLINE, server.task)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();
}

/// The reviewers' case: many silent clients against a small descriptor
/// limit. The cap keeps the process below its limit (no failed accepts),
/// and the header timeout frees the slots, so the service answers again
/// while the silent clients are still connected or retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_cannot_exhaust_the_descriptors() {
    use crate::common::process::{Tessera, tessera_after};

    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera_after(dir.path(), "ulimit -n 128");
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY)
        .env("TESSERA_MAX_CONNECTIONS", "64")
        .env("TESSERA_HEADER_READ_TIMEOUT", "1s");
    let process = Tessera::spawn(command);
    let base = process.listening_base();
    let address = base.trim_start_matches("http://").to_owned();

    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(&address).await.unwrap());
    }
    let deadline = Instant::now() + DEADLINE;
    loop {
        let mut probe = TcpStream::connect(&address).await.unwrap();
        let _ = probe.write_all(HEALTHZ).await;
        if read_until_closed_or_response(&mut probe)
            .await
            .starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never answered:\n{}",
            process.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(silent);
    let log = process.stderr();
    assert!(
        !log.contains("accept failed"),
        "ran out of descriptors:\n{log}"
    );
}
