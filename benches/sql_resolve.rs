//! Resolve throughput for a typical dashboard query of about 1 KB: ten
//! references (one array for an IN list), two optional clauses (one
//! dropped), comments and string literals.
//!
//! `cargo bench --bench sql_resolve` prints the time per resolution;
//! queries per second is its inverse. A 1 MiB query shows the scanner's
//! linear cost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, resolve};

const QUERY: &str = "
-- Revenue by region and product line for the viewer's tenant
SELECT
    o.region,
    p.product_line,
    date_trunc('month', o.ordered_at) AS month,
    count(*) AS orders,
    sum(o.amount) AS revenue,
    avg(o.amount) FILTER (WHERE o.status = 'paid') AS average_paid,
    count(DISTINCT o.customer_id) AS customers,
    max(o.amount) AS largest_order,
    sum(o.discount) AS discounts,
    sum(o.amount - o.discount) AS net_revenue
FROM orders o
JOIN products p ON p.id = o.product_id AND p.tenant_id = o.tenant_id
JOIN customers c ON c.id = o.customer_id AND c.tenant_id = o.tenant_id
WHERE o.tenant_id = {{tenant_id}}
  AND o.ordered_at >= {{start_date}}
  AND o.ordered_at < {{end_date}}
  AND o.region IN ({{regions}})
  [[AND p.product_line = {{product_line}}]]
  [[AND c.segment = {{segment}}]]
  AND o.status <> 'cancelled' /* cancelled orders never count */
  AND c.name NOT LIKE 'test%'
GROUP BY o.region, p.product_line, month
HAVING sum(o.amount) > {{min_revenue}}
ORDER BY month DESC, revenue DESC
LIMIT 500
";

fn variables() -> Map<String, Value> {
    json!({
        "tenant_id": "acme-corp",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "regions": ["eu", "us", "apac"],
        "product_line": "widgets",
        "min_revenue": 1000,
        "user_group_id": "acme-corp",
        "team_id": 3
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let variables = variables();
    let mut group = c.benchmark_group("sql_resolve");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("postgres_{}_byte_query", QUERY.len()), |b| {
        b.iter(|| resolve(black_box(QUERY), black_box(&variables), Dialect::Postgres).unwrap())
    });
    let mut large = String::from("SELECT 1");
    while large.len() < 1024 * 1024 {
        large.push_str(" + {{min_revenue}} /* c */ + 'str''x' -- note\n");
    }
    group.sample_size(20);
    group.bench_function("postgres_1_mib_query", |b| {
        b.iter(|| resolve(black_box(&large), black_box(&variables), Dialect::Postgres).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
