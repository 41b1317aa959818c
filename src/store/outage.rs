//! Logging a store outage once: a warning when the first call fails (with
//! the store's address, never a password), an info line when a call
//! succeeds again with the number of calls that failed in between. Not one
//! line per request or per second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::StoreError;

/// The outage state of one store.
#[derive(Debug)]
pub struct OutageLog {
    address: String,
    down: AtomicBool,
    failed: AtomicU64,
}

impl OutageLog {
    /// For the store at `address` (shown in the log lines).
    pub fn new(address: String) -> Self {
        Self {
            address,
            down: AtomicBool::new(false),
            failed: AtomicU64::new(0),
        }
    }

    /// Notes the outcome of one call.
    pub fn observe<T>(&self, outcome: &Result<T, StoreError>) {
        match outcome {
            Err(StoreError::Unavailable(detail)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if !self.down.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        store = %self.address, %detail,
                        "store unavailable: answering 503 store_unavailable until it returns"
                    );
                }
            }
            _ => {
                if self.down.load(Ordering::Acquire) && self.down.swap(false, Ordering::AcqRel) {
                    let failed = self.failed.swap(0, Ordering::Relaxed);
                    tracing::info!(store = %self.address, failed_calls = failed, "store available again");
                }
            }
        }
    }
}

/// `redis://user:password@host:port/db` shown as `redis://host:port/db`.
pub fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => url
            .rsplit_once('@')
            .map_or(url, |(_, host)| host)
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            without_password("redis://:s3cret@10.0.0.5:6379/0"),
            "redis://10.0.0.5:6379/0"
        );
        assert_eq!(
            without_password("rediss://user:p@ss@host:6380"),
            "rediss://host:6380"
        );
        assert_eq!(without_password("redis://host:6379"), "redis://host:6379");
    }
}
