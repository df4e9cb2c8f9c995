//! Typed reads on a 20,000-backend version, with and without the parsed-document cache
//! (issue 10: `GET .../backends/b/servers/s1` must not re-parse the text; under 5 ms).
//!
//! Generates the configuration of `haproxy-parse/benches/large_config.rs` (20,000 backends of 10
//! servers, a frontend with an ACL and a `use_backend` per backend: ~330k lines, ~15 MB), then
//! measures one typed read (`read::server` of a server in the middle of the file):
//!
//! - uncached: parse the text, then read (what every GET did before the cache), best of 3;
//! - cached: `DocumentCache` hit, then read; median and worst of 200;
//! - through the store: `Store::document_at(version)` on a SQLite store (one indexed query for
//!   the version's sha256, then the cache), then read; the first read (a miss: fetch + parse)
//!   and the median and worst of 200 after it.
//!
//! Exits non-zero when the store's median cached read takes 5 ms or more.
//!
//! Run: `cargo bench -p fleet-core --bench document_cache` (after `--`: `--backends N`,
//! `--servers N`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_core::documents::{DocumentCache, Parsed};
use fleet_core::read;
use fleet_core::{Store, StoreOptions, TextAt};

const LIMIT: Duration = Duration::from_millis(5);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("document_cache: {e}");
            ExitCode::from(2)
        }
    }
}

fn options() -> Result<(usize, usize), String> {
    let (mut backends, mut servers) = (20_000, 10);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backends" => backends = number(args.next(), "--backends")?,
            "--servers" => servers = number(args.next(), "--servers")?,
            // `cargo bench` passes `--bench`, and maybe a filter.
            _ => {}
        }
    }
    Ok((backends, servers))
}

fn number(value: Option<String>, flag: &str) -> Result<usize, String> {
    value.and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a number"))
}


/// Median and worst of `runs` timings of `f`.
fn timings(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut all: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    all.sort();
    (all[all.len() / 2], all[all.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn run() -> Result<bool, String> {
    let (backends, servers) = options()?;
    let text = fleet_tests::large_config(backends, servers);
    let backend = format!("be_app{:05}", backends / 2);
    let server = format!("srv{:02}", servers.saturating_sub(1) / 2);
    println!(
        "typed read of server {server} in backend {backend}: {backends} backends x {servers} servers, {} lines, {:.1} MB",
        text.lines().count(),
        text.len() as f64 / 1e6
    );
    let read_one = |parsed: &Parsed| {
        read::server(parsed.document(), &backend, &server).map(|d| d.line).map_err(|e| e.to_string())
    };

    // Uncached: what a GET cost when every read parsed the version's text.
    let mut uncached = Duration::MAX;
    let mut line = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let parsed = Parsed::parse(&text);
        line = read_one(&parsed)?;
        uncached = uncached.min(start.elapsed());
    }
    println!("uncached (parse + read), best of 3:          {}", ms(uncached));

    // The cache alone.
    let cache = DocumentCache::default();
    let key = fleet_core::secret::sha256_hex(text.as_bytes());
    cache.get_or_parse(&key, || text.clone());
    let mut failure = None;
    let (median, worst) = timings(200, || {
        let parsed = cache.get_or_parse(&key, || text.clone());
        if read_one(&parsed) != Ok(line) {
            failure = Some("the cached read differs from the uncached one");
        }
    });
    println!("cached (DocumentCache hit + read), 200 runs:  median {}, worst {}", ms(median), ms(worst));
    if let Some(failure) = failure {
        return Err(failure.into());
    }

    // Through the store, as the GET handler does it (minus HTTP).
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("fleet-bench-cache-{}", std::process::id()));
    let result = runtime.block_on(async {
        let store = Store::open_sqlite(&dir.join("fleet.db"), StoreOptions::default()).await.map_err(|e| e.to_string())?;
        let pool = store.create_pool("bench", "bench", "").await.map_err(|e| e.to_string())?;
        let cluster = store.create_cluster("bench", "big", pool.id, Default::default()).await.map_err(|e| e.to_string())?;
        let start = Instant::now();
        let actor = fleet_core::Actor::new("bench", fleet_core::Role::Operator);
        let version = store.import(actor, cluster.id, &text, "20k backends").await.map_err(|e| e.to_string())?;
        println!("import (offline check + parse + insert):     {}", ms(start.elapsed()));
        let at = TextAt::Version(version.version.number);
        let start = Instant::now();
        let first = store.document_at(cluster.id, at).await.map_err(|e| e.to_string())?;
        let got = read_one(&first)?;
        println!("store, first read (parsed by the import):     {}", ms(start.elapsed()));
        // The floor: one trivial indexed query through the same pool.
        let mut floor = Vec::with_capacity(200);
        for _ in 0..200 {
            let start = Instant::now();
            store.cluster(cluster.id).await.map_err(|e| e.to_string())?;
            floor.push(start.elapsed());
        }
        floor.sort();
        println!("store, one small query (cluster by id):       median {}", ms(floor[100]));
        let mut all = Vec::with_capacity(200);
        for _ in 0..200 {
            let start = Instant::now();
            let parsed: Arc<Parsed> = store.document_at(cluster.id, at).await.map_err(|e| e.to_string())?;
            if read_one(&parsed)? != got {
                return Err("the store's read differs".to_string());
            }
            all.push(start.elapsed());
        }
        all.sort();
        let stats = store.document_cache_stats();
        println!(
            "store, cached (document_at + read), 200 runs: median {}, worst {} ({} hits, {} misses)",
            ms(all[100]),
            ms(all[199]),
            stats.hits,
            stats.misses
        );
        store.close().await;
        Ok(all[100])
    });
    let _ = std::fs::remove_dir_all(&dir);
    let store_median = result?;
    let ok = store_median < LIMIT;
    println!(
        "{}: cached typed read {} (limit {}), {:.0}x faster than parsing",
        if ok { "ok" } else { "FAIL" },
        ms(store_median),
        ms(LIMIT),
        uncached.as_secs_f64() / store_median.as_secs_f64().max(1e-9)
    );
    Ok(ok)
}
