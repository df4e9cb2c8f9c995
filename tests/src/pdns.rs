//! A real PowerDNS Authoritative server for DNS tests: `pdns_server` with its SQLite backend
//! (gsqlite3), its own config dir and database in a scratch folder, DNS on one free loopback
//! port and the webserver with the HTTP API (and an API key made for the run) on another. The
//! zone is created with `pdnsutil` against that config dir, as an operator would.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::named::{dig, free_port};
use crate::{binary, unique_name};

/// Where Debian's pdns-backend-sqlite3 puts the schema.
const SCHEMAS: [&str; 2] = ["/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql", "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"];

/// `$FLEET_PDNS_BIN`, else `pdns_server` on `PATH` or in `/usr/sbin` (scripts/setup.d/45-powerdns.sh).
pub fn pdns_bin() -> Option<PathBuf> {
    binary(&["FLEET_PDNS_BIN"], "pdns_server")
}

/// A running `pdns_server` (foreground), its folder and key; killed and removed on drop.
///
/// Zone `zone` holds its SOA, `NS ns1.<zone>` and `ns1.<zone> A 127.0.0.1`, so the name servers
/// the zone announces are this server (its DNS port is the one on `dns`). As root it runs as
/// the `pdns` user when that user exists, owning the folder.
#[derive(Debug)]
pub struct PowerDnsServer {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:PORT`: DNS over UDP and TCP.
    pub dns: SocketAddr,
    /// `http://127.0.0.1:PORT`: the webserver (API under `/api/v1`).
    pub api_url: String,
    /// The `api-key` it accepts.
    pub api_key: String,
    /// The zone, without a final dot.
    pub zone: String,
}

impl PowerDnsServer {
    /// Starts `pdns_server` serving `zone` and waits (20 s at most) until DNS and the webserver
    /// answer. `None`, after saying why, when `pdns_server`, `pdnsutil`, `sqlite3`, the gsqlite3
    /// backend or its schema is missing.
    pub fn start(zone: &str) -> Option<PowerDnsServer> {
        let pdns = pdns_bin()?;
        let pdnsutil = binary(&["FLEET_PDNSUTIL_BIN"], "pdnsutil")?;
        let sqlite3 = binary(&["FLEET_SQLITE3_BIN"], "sqlite3")?;
        let schema = crate::require(SCHEMAS.iter().map(PathBuf::from).find(|p| p.exists()), "the gsqlite3 schema (pdns-backend-sqlite3, scripts/setup.d/45-powerdns.sh)")?;
        let dir = std::env::temp_dir().join(unique_name("fleet-pdns-"));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("pdns.sqlite3");
        let made = Command::new(&sqlite3).arg(&db).stdin(std::fs::File::open(&schema).unwrap()).output().unwrap();
        assert!(made.status.success(), "sqlite3 {}: {}", db.display(), String::from_utf8_lossy(&made.stderr));
        let (dns_port, http_port) = (free_port(), free_port());
        let api_key = unique_name("pdns-key-");
        let d = dir.display();
        let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
        let drop_to_pdns = is_root && Command::new("id").arg("pdns").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
        let user = if drop_to_pdns { "setuid=pdns\nsetgid=pdns\n" } else { "" };
        // Caches stay at their defaults: the API purges what a change touches, which is part of
        // what the failover test measures.
        let conf = format!(
            "launch=gsqlite3\ngsqlite3-database={d}/pdns.sqlite3\nlocal-address=127.0.0.1\nlocal-port={dns_port}\n\
             socket-dir={d}\nguardian=no\ndaemon=no\ndisable-syslog=yes\nloglevel=4\n{user}\
             webserver=yes\nwebserver-address=127.0.0.1\nwebserver-port={http_port}\nwebserver-allow-from=127.0.0.0/8\n\
             api=yes\napi-key={api_key}\n"
        );
        std::fs::write(dir.join("pdns.conf"), conf).unwrap();
        let util = |args: &[&str]| {
            let out = Command::new(&pdnsutil).arg("--config-dir").arg(&dir).args(args).output().unwrap();
            assert!(out.status.success(), "pdnsutil {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        };
        let ns = format!("ns1.{zone}");
        util(&["create-zone", zone, &ns]);
        util(&["add-record", zone, "ns1", "A", "127.0.0.1"]);
        if drop_to_pdns {
            Command::new("chown").args(["-R", "pdns"]).arg(&dir).status().unwrap();
        }
        let log = std::fs::File::create(dir.join("pdns.log")).unwrap();
        let child = Command::new(&pdns)
            .arg(format!("--config-dir={d}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", pdns.display()));
        let dns: SocketAddr = ([127, 0, 0, 1], dns_port).into();
        let http: SocketAddr = ([127, 0, 0, 1], http_port).into();
        let mut server = PowerDnsServer { child, dir, dns, api_url: format!("http://{http}"), api_key, zone: zone.to_string() };
        let started = Instant::now();
        while TcpStream::connect_timeout(&dns, Duration::from_millis(200)).is_err()
            || TcpStream::connect_timeout(&http, Duration::from_millis(200)).is_err()
            || server.dig(zone, "SOA").is_none_or(|soa| soa.is_empty())
        {
            if started.elapsed() > Duration::from_secs(20) || server.child.try_wait().unwrap().is_some() {
                panic!("pdns_server did not start on {dns} / {http}:\n{}", server.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// What `pdns_server` printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pdns.log")).unwrap_or_default()
    }

    /// `dig` asked of this server's DNS port ([`dig`]).
    pub fn dig(&self, name: &str, record_type: &str) -> Option<Vec<String>> {
        dig(self.dns, name, record_type)
    }
}

impl Drop for PowerDnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
