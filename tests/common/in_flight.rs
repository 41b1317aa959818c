//! A request held in flight: a `POST /api/verify` whose handler is reading
//! a body that is still coming, for tests of what shutdown does to it.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The body the request sends: not a token, so the answer is a `401
/// token_malformed`.
const BODY: &[u8] = br#"{"token": "not-a-token"}"#;

/// A connection with a request in flight.
pub struct InFlight {
    /// The connection.
    pub stream: TcpStream,
}

impl InFlight {
    /// Sends the request's head with `Expect: 100-continue` to `address`;
    /// the handler reading the body answers `100 Continue`, so once that
    /// arrives the request is in flight. Then sends the first bytes of the
    /// body only.
    pub async fn start(address: &str) -> Self {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let head = format!(
            "POST /api/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            BODY.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("100 Continue within 20 s")
            .expect("read");
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 100 Continue"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        stream.write_all(&BODY[..5]).await.expect("write");
        Self { stream }
    }

    /// Sends the rest of the body and returns everything the server sends
    /// until it closes the connection; asserts it is the `401
    /// token_malformed` answer.
    pub async fn finish(mut self) {
        self.stream.write_all(&BODY[5..]).await.expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            self.stream.read_to_end(&mut answer),
        )
        .await
        .expect("answered and closed within 20 s")
        .expect("read");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("token_malformed"), "{answer}");
    }
}
