//! Prometheus metrics (`prometheus-client`; one registry per service
//! state, no global recorder), served at `GET /metrics` or on
//! `--metrics-listen`. Names follow Hydra's and Keycloak's style; labels
//! have low cardinality: a route is its template (`/api/user/{user_group_id}`),
//! never a raw path, group id, kid or key.
//!
//! Recording is a few atomic additions (a family's map is read-locked only
//! to find an existing series). Built without the `metrics` feature,
//! recording does nothing (for measuring its cost).

mod store;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use store::MeteredStore;

/// `route`, `method`, `status` of an HTTP answer.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

/// A route template, shared with the router (no copy per request).
#[derive(Debug, Clone)]
pub enum Route {
    /// The template the router matched.
    Matched(axum::extract::MatchedPath),
    /// No route matched.
    Unmatched,
}

impl Route {
    /// The route template, or `unmatched`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched(path) => path.as_str(),
            Self::Unmatched => "unmatched",
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl prometheus_client::encoding::EncodeLabelValue for Route {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        encoder.write_str(self.as_str())
    }
}

/// The method as a label: the standard ones by name, `other` otherwise.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        _ => "other",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlgLabels {
    alg: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifyLabels {
    source: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreOpLabels {
    backend: &'static str,
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreErrorLabels {
    backend: &'static str,
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to about 6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

/// Every metric of the service.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    tokens_issued: Family<AlgLabels, Counter>,
    verifications: Family<VerifyLabels, Counter>,
    groups_created: Counter,
    audit_refusals_not_itemized: Counter,
    store_duration: HistogramFamily<StoreOpLabels>,
    store_errors: Family<StoreErrorLabels, Counter>,
    key_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    keys: Family<StateLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::default();
        registry.register(
            "tessera_http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "tessera_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            http_duration.clone(),
        );
        let tokens_issued = Family::default();
        registry.register(
            "tessera_tokens_issued",
            "User-group tokens signed, by algorithm",
            tokens_issued.clone(),
        );
        let verifications = Family::default();
        registry.register(
            "tessera_token_verifications",
            "Tokens judged, by source (api, middleware) and outcome (valid or the error code)",
            verifications.clone(),
        );
        let groups_created = Counter::default();
        registry.register(
            "tessera_groups_created",
            "User groups created by get-user",
            groups_created.clone(),
        );
        let audit_refusals_not_itemized = Counter::default();
        registry.register(
            "tessera_audit_refusals_not_itemized",
            "Refused tokens not written to their group's audit trail: the group's refusals came faster than 1/s (burst 30)",
            audit_refusals_not_itemized.clone(),
        );
        let store_duration: HistogramFamily<StoreOpLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "tessera_store_operation_duration_seconds",
            "Time of store operations, by backend and operation",
            store_duration.clone(),
        );
        let store_errors = Family::default();
        registry.register(
            "tessera_store_errors",
            "Failed store operations, by backend and kind",
            store_errors.clone(),
        );
        let key_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "tessera_signing_key_age_seconds",
            "Age of the active signing key",
            key_age.clone(),
        );
        let keys = Family::default();
        registry.register(
            "tessera_keys",
            "Keys of the key ring, by state (published, active, retired)",
            keys.clone(),
        );
        let build_info = Family::<VersionLabels, Gauge>::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("tessera_build_info", "The running version", build_info);
        Self {
            registry,
            http_requests,
            http_duration,
            tokens_issued,
            verifications,
            groups_created,
            audit_refusals_not_itemized,
            store_duration,
            store_errors,
            key_age,
            keys,
        }
    }

    /// One HTTP answer.
    pub fn http(&self, route: Route, method: &'static str, status: u16, took: Duration) {
        if cfg!(feature = "metrics") {
            self.http_duration
                .get_or_create(&RouteLabels {
                    route: route.clone(),
                })
                .observe(took.as_secs_f64());
            self.http_requests
                .get_or_create(&HttpLabels {
                    route,
                    method,
                    status,
                })
                .inc();
        }
    }

    /// One token signed with `alg`.
    pub fn token_issued(&self, alg: &'static str) {
        if cfg!(feature = "metrics") {
            self.tokens_issued.get_or_create(&AlgLabels { alg }).inc();
        }
    }

    /// One token judged: `outcome` is `valid` or the error code.
    pub fn verification(&self, source: &'static str, outcome: &'static str) {
        if cfg!(feature = "metrics") {
            self.verifications
                .get_or_create(&VerifyLabels { source, outcome })
                .inc();
        }
    }

    /// An observer for the renderer middleware in this process: counts
    /// its verifications under `source="middleware"`.
    pub fn middleware_observer(self: &Arc<Self>) -> tessera_middleware::OutcomeObserver {
        let metrics = self.clone();
        Arc::new(move |outcome| metrics.verification("middleware", outcome))
    }

    /// One group created.
    pub fn group_created(&self) {
        if cfg!(feature = "metrics") {
            self.groups_created.inc();
        }
    }

    /// One refusal left out of its group's audit trail (too many).
    pub fn audit_refusal_not_itemized(&self) {
        if cfg!(feature = "metrics") {
            self.audit_refusals_not_itemized.inc();
        }
    }

    /// One store operation, and its failure kind if it failed.
    pub fn store(
        &self,
        backend: &'static str,
        operation: &'static str,
        took: Duration,
        failed: Option<&'static str>,
    ) {
        if cfg!(feature = "metrics") {
            self.store_duration
                .get_or_create(&StoreOpLabels { backend, operation })
                .observe(took.as_secs_f64());
            if let Some(kind) = failed {
                self.store_errors
                    .get_or_create(&StoreErrorLabels { backend, kind })
                    .inc();
            }
        }
    }

    /// The key ring now: the active key's age and how many keys are in
    /// each state.
    pub fn key_ring(&self, active_age: Duration, states: [(&'static str, i64); 3]) {
        self.key_age.set(active_age.as_secs_f64());
        for (state, count) in states {
            self.keys.get_or_create(&StateLabels { state }).set(count);
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
