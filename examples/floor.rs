//! The floor of the load harnesses: a server built from the libraries
//! Tessera uses (axum over hyper, tokio, the redis crate's multiplexed
//! `ConnectionManager`, aws-lc-rs Ed25519) that does only the irreducible
//! work of each hot path, so a harness can print each Tessera path as a
//! ratio to what no implementation on these libraries can beat by much:
//!
//! - `GET /hello`: an empty answer (the floor of `/healthz`);
//! - `GET /get`: one Redis `GET` of a typical group record, returned as JSON;
//! - `GET /get-sign`: that `GET` plus one Ed25519 signature over a typical
//!   token payload (the floor of get-user for an existing group);
//! - `POST /verify`: one Ed25519 verification of the bearer token (the
//!   floor of a fresh verification in the middleware);
//! - `POST /get-verify`: one Redis `GET` plus one verification (the floor of
//!   `/api/verify` with its store check);
//! - `GET /token`: a typical token signed by this server's key, for the
//!   harness to send to the two routes above.
//!
//! It allocates with jemalloc, as the service does. `FLOOR_LISTEN`
//! (default `127.0.0.1:3100`) and `FLOOR_REDIS_URL` (default
//! `redis://127.0.0.1:6379`). Not part of the service; used by `bench/`.

use std::sync::Arc;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;

/// The service's allocator, so that the floor differs from it only in work.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The record `GET` returns, as large as a typical group's.
const RECORD: &str = r#"{"team_id":1,"provided_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"},"gen":1,"created_at":"2026-11-30T00:00:00Z","updated_at":"2026-11-30T00:00:00Z"}"#;
/// A token header and payload as large as Tessera's.
const HEADER: &str = r#"{"alg":"EdDSA","typ":"JWT","kid":"eddsa-20261130-0123abcd"}"#;
const PAYLOAD: &str = r#"{"iss":"http://127.0.0.1:8080","aud":"dashboards","sub":"example_1","iat":1764460800,"nbf":1764460800,"exp":1764547200,"jti":"Zk1lV3JtZ0RrS2xpN2JvQQ","team_id":1,"name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"},"gen":1,"sid":"cTBCZjhxN3JzTmRrMGRqUQ","sst":1764460800}"#;

struct Floor {
    redis: ConnectionManager,
    key: Ed25519KeyPair,
    public: Vec<u8>,
}

type Shared = State<Arc<Floor>>;

async fn hello() -> &'static str {
    ""
}

async fn read(floor: &Floor) -> Result<String, StatusCode> {
    let mut redis = floor.redis.clone();
    redis
        .get::<_, Option<String>>("floor:record")
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
        .ok_or(StatusCode::NOT_FOUND)
}

fn json(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn get_record(State(floor): Shared) -> Result<impl IntoResponse, StatusCode> {
    Ok(json(read(&floor).await?))
}

fn sign(floor: &Floor) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(PAYLOAD)
    );
    let signature = floor.key.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

async fn get_sign(State(floor): Shared) -> Result<impl IntoResponse, StatusCode> {
    let record = read(&floor).await?;
    let token = sign(&floor);
    Ok(json(format!(r#"{{"record":{record},"token":"{token}"}}"#)))
}

fn verified(floor: &Floor, headers: &HeaderMap) -> Result<(), StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let (signing_input, signature) = token.rsplit_once('.').ok_or(StatusCode::UNAUTHORIZED)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    UnparsedPublicKey::new(&signature::ED25519, &floor.public)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| StatusCode::UNAUTHORIZED)
}

async fn verify(State(floor): Shared, headers: HeaderMap) -> Result<impl IntoResponse, StatusCode> {
    verified(&floor, &headers)?;
    Ok(json(r#"{"valid":true}"#.to_owned()))
}

async fn get_verify(
    State(floor): Shared,
    headers: HeaderMap,
) -> Result<impl IntoResponse, StatusCode> {
    verified(&floor, &headers)?;
    Ok(json(read(&floor).await?))
}

async fn token(State(floor): Shared) -> String {
    sign(&floor)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::var("FLOOR_LISTEN").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let redis_url =
        std::env::var("FLOOR_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut redis = ConnectionManager::new(redis::Client::open(redis_url)?).await?;
    let _: () = redis.set("floor:record", RECORD).await?;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "key generation failed")?;
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "key parsing failed")?;
    let public = key.public_key().as_ref().to_vec();
    let floor = Arc::new(Floor { redis, key, public });
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/get", get(get_record))
        .route("/get-sign", get(get_sign))
        .route("/verify", post(verify))
        .route("/get-verify", post(get_verify))
        .route("/token", get(token))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("floor listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
