//! A private database on the MariaDB server of the machine (127.0.0.1:3306,
//! root, no password: the development machines run one; `.ci/run` installs
//! and starts it where absent). Each test gets its own database, dropped
//! at the end.

use std::sync::atomic::{AtomicUsize, Ordering};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

/// A connection to a fresh database; the database is dropped with it.
pub struct MariaDb {
    conn: Conn,
    database: String,
}

impl MariaDb {
    /// Connects and creates the database.
    pub fn start() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let opts = OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(3306)
            .user(Some("root"));
        let mut conn = Conn::new(opts).unwrap_or_else(|err| {
            panic!("MariaDB at 127.0.0.1:3306 (root, no password) is needed: {err}")
        });
        let database = format!(
            "tessera_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        conn.query_drop(format!("CREATE DATABASE {database}"))
            .expect("create the test database");
        conn.query_drop(format!("USE {database}"))
            .expect("use the test database");
        // The server's default modes: backslash escapes on, "..." a string.
        conn.query_drop("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'")
            .expect("set sql_mode");
        Self { conn, database }
    }

    /// The connection.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE IF EXISTS {}", self.database));
    }
}
