//! `tessera sql resolve`: resolve a query's `{{variables}}` with the
//! values of a token verified offline, as the service's endpoint would.

use clap::Subcommand;
use serde_json::json;

use super::token::{OfflineVerifyArgs, print_json};
use crate::sql::{Dialect, resolve_requiring};

/// Subcommands of `tessera sql`.
#[derive(Debug, Subcommand)]
pub enum SqlCommand {
    /// Print the SQL with placeholders, the parameters and the variables
    /// used, as JSON.
    Resolve {
        /// The user-group token whose variables bind.
        #[arg(long)]
        token: String,
        /// postgres, mysql or sqlite.
        #[arg(long, value_parser = parse_dialect)]
        dialect: Dialect,
        /// A variable the query must reference outside optional clauses.
        #[arg(long = "require")]
        require: Vec<String>,
        /// How to verify the token.
        #[command(flatten)]
        verify: OfflineVerifyArgs,
        /// The query.
        sql: String,
    },
}

fn parse_dialect(text: &str) -> Result<Dialect, tessera_verify::ParseError> {
    text.parse()
}

/// Runs a sql subcommand.
pub async fn run(command: SqlCommand) -> Result<(), String> {
    match command {
        SqlCommand::Resolve {
            token,
            dialect,
            require,
            verify,
            sql,
        } => {
            let claims = verify.verify(&token).await?;
            let resolved = resolve_requiring(&sql, &claims.variables(), dialect, &require)
                .map_err(|err| {
                    let code = crate::error::ApiError::from(err.clone()).code.as_str();
                    format!("{code}: {err}")
                })?;
            print_json(&json!({
                "sql": resolved.sql,
                "params": resolved.params,
                "variables_used": resolved.variables_used,
            }))
        }
    }
}
