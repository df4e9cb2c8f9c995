//! A real BIND 9 `named` for DNS tests: one primary zone on a free loopback port that accepts
//! dynamic updates (RFC 2136) signed with a TSIG key made by `tsig-keygen` for this run.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{binary, unique_name};

/// The TSIG key name every [`Named`] accepts updates from.
pub const NAMED_KEY_NAME: &str = "fleet-update";

/// `$FLEET_NAMED_BIN`, else `named` on `PATH` or in `/usr/sbin` (scripts/setup.d/40-bind9.sh).
pub fn named_bin() -> Option<PathBuf> {
    binary(&["FLEET_NAMED_BIN"], "named")
}

/// A running `named` (foreground, `-g`), its scratch folder and key; killed and removed on drop.
///
/// Zone `zone` starts with its SOA, `NS ns1.<zone>` and `ns1.<zone> A 127.0.0.1`, so the name
/// servers the zone announces are this server. Runs as the current user; as root it drops to
/// the `bind` user (`-u bind`) when that user exists, owning the folder.
#[derive(Debug)]
pub struct Named {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:PORT`, over UDP and TCP.
    pub addr: SocketAddr,
    /// The zone, without a final dot (`fleet-test.example`).
    pub zone: String,
    /// The key's secret in base64 (`hmac-sha256`, named [`NAMED_KEY_NAME`]).
    pub secret: String,
}

impl Named {
    /// Starts `named` serving `zone`, and waits (20 s at most) until it says `running` and answers on TCP. `None`,
    /// after saying why, when `named` or `tsig-keygen` is missing.
    pub fn start(zone: &str) -> Option<Named> {
        let named = named_bin()?;
        let keygen = binary(&["FLEET_TSIG_KEYGEN_BIN"], "tsig-keygen")?;
        let out = Command::new(&keygen).args(["-a", "hmac-sha256", NAMED_KEY_NAME]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let secret = text.split("secret \"").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string();
        let dir = std::env::temp_dir().join(unique_name("fleet-named-"));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let d = dir.display();
        let conf = format!(
            "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  notify no;\n  \
             dnssec-validation no;\n}};\ncontrols {{ }};\n{text}\nzone \"{zone}\" {{\n  type primary;\n  file \"{d}/zone.db\";\n  \
             allow-update {{ key \"{NAMED_KEY_NAME}\"; }};\n}};\n"
        );
        let zone_file = format!(
            "$TTL 60\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 60 60 3600 60\n@ IN NS ns1.{zone}.\nns1 IN A 127.0.0.1\n"
        );
        std::fs::write(dir.join("named.conf"), conf).unwrap();
        std::fs::write(dir.join("zone.db"), zone_file).unwrap();
        let mut command = Command::new(&named);
        command.arg("-c").arg(dir.join("named.conf")).args(["-g", "-4"]);
        // named refuses nothing as root, but a test should not run a network daemon as root.
        let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
        if is_root && Command::new("id").arg("bind").stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
            Command::new("chown").args(["-R", "bind"]).arg(&dir).status().unwrap();
            command.args(["-u", "bind"]);
        }
        let log = std::fs::File::create(dir.join("named.log")).unwrap();
        let child = command.stdout(Stdio::null()).stderr(log).spawn().unwrap_or_else(|e| panic!("{}: {e}", named.display()));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut named = Named { child, dir, addr, zone: zone.to_string(), secret };
        let started = Instant::now();
        // `-g` logs `running` once every zone is loaded; before that an update may SERVFAIL.
        while !named.log().contains("\nrunning") && !named.log().contains(" running\n")
            || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
        {
            if started.elapsed() > Duration::from_secs(20) || named.child.try_wait().unwrap().is_some() {
                panic!("named did not start listening on {addr}:\n{}", named.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(named)
    }

    /// What `named` printed so far (its `-g` log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("named.log")).unwrap_or_default()
    }

    /// `dig @127.0.0.1 -p PORT +short NAME TYPE` (the real resolver tool, not our client), one
    /// value per line; `None` when `dig` is missing.
    pub fn dig(&self, name: &str, record_type: &str) -> Option<Vec<String>> {
        dig(self.addr, name, record_type)
    }
}

/// `dig @ADDRESS -p PORT +short +tcp NAME TYPE` (the real resolver tool, not our client): one
/// value per line, TXT quotes removed; `None` when `dig` is missing (`$FLEET_DIG_BIN`, else on
/// `PATH`). Shared by [`Named`] and [`crate::PowerDnsServer`].
pub fn dig(server: SocketAddr, name: &str, record_type: &str) -> Option<Vec<String>> {
    let dig = binary(&["FLEET_DIG_BIN"], "dig")?;
    let out = Command::new(dig)
        .args([format!("@{}", server.ip()), "-p".into(), server.port().to_string(), "+short".into(), "+tcp".into()])
        .args([name, record_type])
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().trim_matches('"').to_string()).filter(|l| !l.is_empty()).collect())
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port free for TCP now (named also needs its UDP twin, almost always free too).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

