//! Bundle storage over a long history (issue 11, "Benchmark": 1,000 versions of a bundle with a
//! 5 MB map, each changing one line of the map, stay under 2x the bundle size plus the changed
//! blobs).
//!
//! A SQLite store gets a bundle (a config using the map through `map_str()`, the ~5 MB map),
//! then one version per step, each `put_file` of the map with one line changed (a line further
//! on each time, so every chunk of the map gets its turn). It prints, from the store's own
//! accounting ([`fleet_core::Store::bundle_storage`]):
//!
//! - the bundle's size and the storage after the first version;
//! - the storage after the last version: chunk bytes, chunk-list (blob) bytes, their total;
//! - what each version added (mean), and the total projected to 1,000 versions when fewer ran;
//! - what whole files per version would have cost, for comparison.
//!
//! The bound, read as "total storage <= 2 x bundle size + the changed blobs", where the changed
//! blobs are what each version must add however well it shares: the new blob's chunk list and
//! the chunks of the new content that no earlier content had (counted here from
//! `bundle::chunks::split`, independently of the store). Exits non-zero when the store exceeds
//! it, e.g. when a blob is stored whole per version.
//!
//! Run: `cargo bench -p fleet-core --bench bundle_storage` (after `--`: `--versions N`, default
//! 250 or `FLEET_BENCH_VERSIONS`; `--map-bytes N`, default 5 MB). The full history
//! (`FLEET_BENCH_VERSIONS=1000`) takes 40-80 s on a release build on a shared 2-core machine, so
//! the default runs a quarter of it and projects the total to 1,000 (each version adds about
//! the same).

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use fleet_core::bundle::{chunks, Bundle, BundleFile, BundlePath, FileKind};
use fleet_core::{Actor, Role, Store, StoreOptions};

const CONFIG: &str = "global\n    maxconn 1000\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\n\
frontend fe\n    bind 127.0.0.1:8080\n    http-request set-var(txn.app) req.hdr(host),lower,map_str(maps/hosts.map,app)\n    default_backend app\n\n\
backend app\n    server a1 127.0.0.1:8081\n";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bundle_storage: {e}");
            ExitCode::from(2)
        }
    }
}

fn options() -> Result<(usize, usize), String> {
    let from_env = std::env::var("FLEET_BENCH_VERSIONS").ok().and_then(|v| v.parse().ok());
    let (mut versions, mut map_bytes) = (from_env.unwrap_or(250), 5_000_000);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--versions" => versions = number(args.next(), "--versions")?,
            "--map-bytes" => map_bytes = number(args.next(), "--map-bytes")?,
            // `cargo bench` passes `--bench`, and maybe a filter.
            _ => {}
        }
    }
    Ok((versions.max(2), map_bytes))
}

fn number(value: Option<String>, flag: &str) -> Result<usize, String> {
    value.and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a number"))
}

/// A map of about `bytes` bytes, one `host backend` entry a line.
fn map(bytes: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut size = 0;
    while size < bytes {
        let line = format!("host{:07}.customers.example.com backend_{:03}\n", lines.len(), lines.len() % 997);
        size += line.len();
        lines.push(line);
    }
    lines
}

fn path(s: &str) -> Result<BundlePath, String> {
    BundlePath::new(s).map_err(|e| e.to_string())
}

fn mb(bytes: i64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn run() -> Result<bool, String> {
    let (versions, map_bytes) = options()?;
    let mut lines = map(map_bytes);
    let map_path = path("maps/hosts.map")?;
    let content = lines.concat().into_bytes();
    let bundle = Bundle::new(vec![
        BundleFile::new(path("haproxy.cfg")?, FileKind::Config, CONFIG.as_bytes().to_vec()),
        BundleFile::new(map_path.clone(), FileKind::Map, content.clone()),
    ])
    .map_err(|e| e.to_string())?;
    let bundle_size = bundle.size() as i64;
    println!("bundle: {} ({} map lines, config {} bytes), {versions} versions", mb(bundle_size), lines.len(), CONFIG.len());

    let dir = std::env::temp_dir().join(format!("fleet-bench-storage-{}", std::process::id()));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let err = |e: fleet_core::Error| e.to_string();
        let store = Store::open_sqlite(&dir.join("fleet.db"), StoreOptions::default()).await.map_err(err)?;
        let pool = store.create_pool("bench", "bench", "").await.map_err(err)?;
        let cluster = store.create_cluster("bench", "storage", pool.id, Default::default()).await.map_err(err)?;
        let actor = Actor::new("bench", Role::Operator);
        let start = Instant::now();
        let mut latest = store.import_bundle(actor, cluster.id, &bundle, "first").await.map_err(err)?.version.number;
        let first = store.bundle_storage().await.map_err(err)?;
        println!("after version 1: {} stored ({} chunks)", mb(first.chunk_bytes + first.list_bytes), first.chunks);

        // What each version must add however well it shares: its new chunks and its chunk list.
        let mut known: HashSet<[u8; 32]> = chunks::split(&content).iter().map(|c| c.sha256).collect();
        let (mut changed_chunks, mut changed_lists) = (0i64, 0i64);
        let stride = (lines.len() / versions).max(1);
        for step in 1..versions {
            let at = (step * stride + step % 7) % lines.len();
            lines[at] = format!("changed{step:07}.customers.example.com backend_new\n");
            let content = lines.concat().into_bytes();
            let list = 32 * chunks::split(&content).len() as i64;
            changed_lists += list;
            changed_chunks += chunks::added_bytes(&content, &mut known) as i64 - list;
            let file = BundleFile::new(map_path.clone(), FileKind::Map, content);
            latest = store.put_file(actor, cluster.id, Some(latest), file, "one line").await.map_err(err)?.version.number;
        }
        let elapsed = start.elapsed();
        let last = store.bundle_storage().await.map_err(err)?;
        let back = store.file(cluster.id, latest, &map_path).await.map_err(err)?;
        if back.content != lines.concat().into_bytes() {
            return Err("the last version's map does not read back as written".to_string());
        }
        let total = last.chunk_bytes + last.list_bytes;
        let made = versions as i64 - 1;
        let per_version = (total - first.chunk_bytes - first.list_bytes) / made;
        let changed = changed_chunks + changed_lists;
        let bound = 2 * bundle_size + changed;
        println!(
            "after version {latest}: {} stored = chunks {} ({} distinct) + chunk lists {} ({} blobs); {:.2}x the bundle; {:.1} s",
            mb(total),
            mb(last.chunk_bytes),
            last.chunks,
            mb(last.list_bytes),
            last.blobs,
            total as f64 / bundle_size as f64,
            elapsed.as_secs_f64()
        );
        println!(
            "each version added {:.1} KB (new chunks {:.1} KB + chunk list {:.1} KB, mean)",
            per_version as f64 / 1e3,
            changed_chunks as f64 / made as f64 / 1e3,
            changed_lists as f64 / made as f64 / 1e3
        );
        println!(
            "bound: 2 x bundle {} + changed blobs {} (new chunks {} + chunk lists {}) = {}: {}",
            mb(2 * bundle_size),
            mb(changed),
            mb(changed_chunks),
            mb(changed_lists),
            mb(bound),
            if total <= bound { "met" } else { "EXCEEDED" }
        );
        if versions < 1000 {
            let projected = first.chunk_bytes + first.list_bytes + per_version * 999;
            println!(
                "projected to 1,000 versions: {} ({:.2}x the bundle); whole files would take {}",
                mb(projected),
                projected as f64 / bundle_size as f64,
                mb(bundle_size * 1000)
            );
        } else {
            println!("whole files per version would take {}", mb(bundle_size * versions as i64));
        }
        store.close().await;
        Ok(total <= bound)
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
