//! The open database, and its reopening after an I/O error.
//!
//! When a write fails with an I/O error (a full disk, say), redb fails
//! every later call that touches the file (`PreviousIo`) until the
//! database is closed and opened again. [`DbHandle`] reopens it at once
//! when that happens, so reads go on, and holds back writes for
//! [`PAUSE_WRITES`] (answered as unavailable without touching the file)
//! before it lets one try again: a disk that stays full costs one failed
//! write and one reopening per pause, and writes resume by themselves
//! once there is room, without restarting the service. Every committed
//! transaction is kept (redb's commits are atomic; a failed one leaves
//! the last committed state).
//!
//! Reopening needs the only handle (redb locks its file), so it waits for
//! the calls in flight to finish, holding back new ones meanwhile.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, DatabaseError, StorageError, TransactionError};

use crate::store::StoreError;

/// How long writes are refused after one failed with an I/O error.
pub(super) const PAUSE_WRITES: Duration = Duration::from_secs(1);
/// How long a reopening waits for the calls in flight before it gives up
/// (and is tried again by the next call).
const DRAIN: Duration = Duration::from_secs(5);

/// The database and what it takes to open it again.
pub(super) struct DbHandle {
    /// `None` after a reopening that could not open the file again.
    db: RwLock<Option<Arc<Database>>>,
    path: PathBuf,
    cache: Option<usize>,
    writes_paused_until: Mutex<Option<Instant>>,
}

/// Whether a call only reads (and may run again on a reopened database).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

impl DbHandle {
    /// Opens `path` (creating it when absent), with a page cache of at
    /// most `cache` bytes when given; `check` verifies every page first.
    pub(super) fn open(
        path: &Path,
        cache: Option<usize>,
        check: bool,
    ) -> Result<Self, DatabaseError> {
        let db = open_database(path, cache, check)?;
        Ok(Self {
            db: RwLock::new(Some(Arc::new(db))),
            path: path.to_path_buf(),
            cache,
            writes_paused_until: Mutex::new(None),
        })
    }

    /// The database as it is now; waits while it is being reopened, and
    /// reopens it when the last attempt failed.
    pub(super) fn current(&self) -> Option<Arc<Database>> {
        self.held().or_else(|| {
            self.reopen(None);
            self.held()
        })
    }

    fn held(&self) -> Option<Arc<Database>> {
        self.db
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// [`current`](Self::current), or the error of a store that could not
    /// open its file again.
    fn available(&self) -> Result<Arc<Database>, StoreError> {
        self.current()
            .ok_or_else(|| unavailable("closed after an I/O error and not open again yet"))
    }

    /// Runs `work` on the database. A read that fails because the file
    /// failed runs once more on the reopened database; a write is refused
    /// at once while writes are paused.
    pub(super) fn call<T>(
        &self,
        access: Access,
        work: impl Fn(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if access == Access::Write && self.writes_paused() {
            return Err(unavailable(
                "writes paused after an I/O error (is the disk full?); trying again shortly",
            ));
        }
        let db = self.available()?;
        let result = work(&db);
        if !matches!(result, Err(StoreError::Unavailable(_))) {
            return result;
        }
        match self.recover(db, access) {
            true if access == Access::Read => work(&*self.available()?),
            _ => result,
        }
    }

    fn writes_paused(&self) -> bool {
        self.writes_paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until)
    }

    /// After a call on `db` failed: when the file failed, reopen it (once:
    /// a call that finds it reopened already does nothing) and, after a
    /// write, pause writes. Returns whether a fresh database is there.
    fn recover(&self, db: Arc<Database>, access: Access) -> bool {
        if !refuses_writes(&db) {
            return false;
        }
        if access == Access::Write {
            *self
                .writes_paused_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + PAUSE_WRITES);
        }
        self.reopen(Some(db))
    }

    /// Closes `failed` (or nothing, when the slot is empty) and opens the
    /// file again, unless another call did so already.
    fn reopen(&self, failed: Option<Arc<Database>>) -> bool {
        // Let go of the failed handle before waiting for the lock: the
        // holder of the lock waits for every handle to be let go. (An
        // address reused since only costs one more reopening.)
        let failed = failed.map(|db| Arc::as_ptr(&db) as usize);
        let mut slot = self.db.write().unwrap_or_else(PoisonError::into_inner);
        let same = match (&*slot, failed) {
            (Some(current), Some(failed)) => Arc::as_ptr(current) as usize == failed,
            (None, None) => true,
            _ => false,
        };
        if !same {
            return slot.is_some();
        }
        let started = Instant::now();
        // Calls that took the handle before the write lock finish without
        // needing it again: wait for them to let go.
        while slot.as_ref().is_some_and(|db| Arc::strong_count(db) > 1) {
            if started.elapsed() > DRAIN {
                tracing::warn!(
                    path = %self.path.display(),
                    "embedded store: not reopened, calls still in flight; will try again"
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // Close the old handle before opening the file again: redb's file
        // lock allows one handle at a time.
        drop(slot.take());
        match open_database(&self.path, self.cache, false) {
            Ok(db) => {
                *slot = Some(Arc::new(db));
                tracing::warn!(
                    path = %self.path.display(),
                    "embedded store reopened after an I/O error; reads go on, writes resume when the disk has room"
                );
                true
            }
            Err(err) => {
                tracing::error!(path = %self.path.display(), error = %err, "embedded store: cannot reopen");
                false
            }
        }
    }
}

fn unavailable(why: &str) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {why}"))
}

/// Whether redb refuses write transactions on `db` until it is reopened.
fn refuses_writes(db: &Database) -> bool {
    matches!(
        db.begin_write(),
        Err(TransactionError::Storage(StorageError::PreviousIo))
    )
}

fn open_database(
    path: &Path,
    cache: Option<usize>,
    check: bool,
) -> Result<Database, DatabaseError> {
    let mut builder = Database::builder();
    builder.set_check_integrity_on_open(check);
    if let Some(bytes) = cache {
        builder.set_cache_size(bytes);
    }
    builder.create(path)
}
