//! keepalived against the real binary: the corpus and its `fmt` output under `keepalived -t`,
//! generated VRRP group configs under `keepalived -t`, and a live failover between two
//! keepalived instances in two network namespaces joined by a veth pair.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use haproxy_model::keepalived::{HealthCheck, VrrpGroup, VrrpNode};
use haproxy_parse::keepalived::{check, parse};
use haproxy_render::keepalived::{format, render_vrrp_group};

use crate::netns::{keepalived_bin, run, unavailable, Lab};

/// The interfaces the corpus was checked with (corpus README).
const CORPUS_INTERFACES: &[&str] = &["eth0", "eth1", "eth2", "eth3", "eth0.1"];

use fleet_tests::corpus_dir;

/// keepalived and root namespaces, or why the test skips.
fn setup() -> Option<PathBuf> {
    if let Some(why) = unavailable() {
        eprintln!("skipping: {why}");
        return None;
    }
    let bin = keepalived_bin();
    if bin.is_none() {
        eprintln!("skipping: keepalived not installed (set FLEET_KEEPALIVED_BIN)");
    }
    bin
}

/// `keepalived -t -f file` inside `ns`: exit code and messages.
fn keepalived_t(bin: &Path, ns: &str, file: &Path) -> (i32, String) {
    let out = run("ip", &["netns", "exec", ns, &bin.to_string_lossy(), "-t", "-f", &file.to_string_lossy()]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn corpus_files_and_their_fmt_output_get_the_same_keepalived_t_result() {
    let Some(bin) = setup() else { return };
    let Some(corpus) = corpus_dir() else {
        eprintln!("skipping: no conformance corpus");
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    let mut lab = Lab::new("ka-corpus");
    let ns = lab.namespace();
    for name in CORPUS_INTERFACES {
        lab.interface(&ns, name);
    }
    let mut checked = 0;
    for row in manifest.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        if columns.get(1) != Some(&"keepalived") {
            continue;
        }
        let (path, check_rc) = (columns[0], columns[7]);
        let original = corpus.join(path);
        let text = std::fs::read_to_string(&original).unwrap();
        let (rc, messages) = keepalived_t(&bin, &ns, &original);
        assert_eq!(rc.to_string(), check_rc, "{path}: keepalived -t on the original: {messages}");
        let formatted = format(&parse(&text).document);
        let copy = lab.dir.join(Path::new(path).file_name().unwrap());
        std::fs::write(&copy, &formatted).unwrap();
        let (fmt_rc, fmt_messages) = keepalived_t(&bin, &ns, &copy);
        assert_eq!(fmt_rc, rc, "{path}: fmt output judged differently:\n{fmt_messages}\n---\n{formatted}");
        checked += 1;
    }
    assert!(checked >= 26, "only {checked} keepalived files in the manifest");
}

fn node(name: &str, interface: &str, address: &str, priority: u8) -> VrrpNode {
    VrrpNode { name: name.into(), interface: interface.into(), address: address.parse().unwrap(), priority }
}

fn group(vip: &str, prefix: u8, nodes: Vec<VrrpNode>, script: Option<&str>) -> VrrpGroup {
    VrrpGroup {
        instance: "VI_fleet".into(),
        virtual_router_id: 51,
        vip: vip.parse::<IpAddr>().unwrap(),
        prefix,
        advert_int: 1,
        nodes,
        unicast: true,
        auth_secret: Some("s3cr3t".into()),
        health_check: script.map(|script| HealthCheck {
            name: "chk_haproxy".into(),
            script: script.into(),
            interval: 1,
            weight: -100,
            fall: 1,
            rise: 1,
        }),
        script_user: None,
    }
}

/// Generated text is canonical, parses clean and checks clean.
fn assert_clean(text: &str) {
    let checked = check(text);
    assert!(checked.diagnostics.is_empty(), "{:?}\n{text}", checked.diagnostics);
    assert_eq!(format(&checked.document), text, "generated text is not in the canonical layout");
}

#[test]
fn generated_group_configs_pass_keepalived_t() {
    let Some(bin) = setup() else { return };
    let mut lab = Lab::new("ka-gen");
    let ns = lab.namespace();
    for name in ["vrrp0", "vrrp1"] {
        lab.interface(&ns, name);
    }
    let cases = [
        (
            "single",
            group(
                "10.213.1.100",
                24,
                vec![node("lb1", "vrrp0", "10.213.1.1", 100)],
                Some("/usr/bin/killall -0 haproxy"),
            ),
        ),
        (
            "pair",
            group(
                "10.213.1.100",
                32,
                vec![node("lb1", "vrrp0", "10.213.1.1", 150), node("lb2", "vrrp1", "10.213.1.2", 100)],
                Some("/usr/bin/test -f /run/haproxy.pid"),
            ),
        ),
        (
            "trio-no-check",
            group(
                "10.213.1.100",
                24,
                vec![
                    node("lb1", "vrrp0", "10.213.1.1", 200),
                    node("lb2", "vrrp0", "10.213.1.2", 150),
                    node("lb3", "vrrp1", "10.213.1.3", 100),
                ],
                None,
            ),
        ),
        (
            "ipv6",
            VrrpGroup {
                auth_secret: None,
                ..group("fd00:213::100", 64, vec![node("lb1", "vrrp0", "fd00:213::1", 100)], None)
            },
        ),
    ];
    for (label, spec) in cases {
        let configs = render_vrrp_group(&spec).unwrap();
        assert_eq!(configs.len(), spec.nodes.len());
        for config in configs {
            assert_clean(&config.text);
            let doc = parse(&config.text).document;
            let instance = &doc.vrrp_instances()[0];
            if spec.nodes.len() == 1 {
                assert_eq!(instance.unicast_src_ip, None, "{label}: a single node must use multicast");
                assert!(instance.unicast_peers.is_empty());
            } else {
                assert_eq!(instance.unicast_peers.len(), spec.nodes.len() - 1, "{label}");
            }
            let file = lab.dir.join(format!("{label}-{}.conf", config.node));
            std::fs::write(&file, &config.text).unwrap();
            let (rc, messages) = keepalived_t(&bin, &ns, &file);
            assert_eq!(rc, 0, "{label}/{}: keepalived -t: {messages}\n{}", config.node, config.text);
        }
    }
}

/// Polls `dev` in `ns` every 50 ms until `vip` is present (or absent); the time it took.
fn wait_for(ns: &str, dev: &str, vip: &str, present: bool, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let needle = format!(" {vip}/");
    while start.elapsed() < limit {
        if Lab::addresses(ns, dev).contains(&needle) == present {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn vip_moves_to_the_backup_when_the_master_check_fails_and_back_when_it_recovers() {
    let Some(bin) = setup() else { return };
    let mut lab = Lab::new("ka-failover");
    let (ns_a, ns_b) = (lab.namespace(), lab.namespace());
    let (dev_a, dev_b) = ("vrrpa", "vrrpb");
    crate::netns::ip(&["link", "add", dev_a, "netns", &ns_a, "type", "veth", "peer", "name", dev_b, "netns", &ns_b]);
    for (ns, dev, address) in [(&ns_a, dev_a, "10.213.7.1/24"), (&ns_b, dev_b, "10.213.7.2/24")] {
        crate::netns::ip(&["-n", ns, "addr", "add", address, "dev", dev]);
        crate::netns::ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    let vip = "10.213.7.100";
    // Each node's check passes while its flag file exists; /usr/bin/test is root-owned, so
    // script security accepts it when the script runs as root.
    let flag = lab.dir.join("haproxy-up");
    std::fs::write(&flag, "").unwrap();
    let script = format!("/usr/bin/test -f {}", flag.display());
    let spec = group(
        vip,
        24,
        vec![node("lb-a", dev_a, "10.213.7.1", 150), node("lb-b", dev_b, "10.213.7.2", 100)],
        Some(&script),
    );
    let configs = render_vrrp_group(&spec).unwrap();
    // Node b gets its own flag so that only the master's check fails.
    let flag_b = lab.dir.join("haproxy-up-b");
    std::fs::write(&flag_b, "").unwrap();
    let texts =
        [configs[0].text.clone(), configs[1].text.replace(&flag.display().to_string(), &flag_b.display().to_string())];
    for ((ns, text), tag) in [(&ns_a, &texts[0]), (&ns_b, &texts[1])].into_iter().zip(["a", "b"]) {
        assert_clean(text);
        let conf = lab.dir.join(format!("{tag}.conf"));
        std::fs::write(&conf, text).unwrap();
        let pid = lab.dir.join(format!("{tag}.pid"));
        let vrrp_pid = lab.dir.join(format!("{tag}-vrrp.pid"));
        let args = [
            "-n".to_string(),
            "-l".to_string(),
            "-D".to_string(),
            "-f".to_string(),
            conf.display().to_string(),
            "-p".to_string(),
            pid.display().to_string(),
            "-r".to_string(),
            vrrp_pid.display().to_string(),
            "--vrrp".to_string(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = lab.dir.join(format!("{tag}.log"));
        lab.spawn(ns, &bin, &args, &log, vec![vrrp_pid.clone()]);
    }
    let logs = |lab: &Lab| {
        ["a", "b"]
            .iter()
            .map(|t| std::fs::read_to_string(lab.dir.join(format!("{t}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let limit = Duration::from_secs(20);
    let elected = wait_for(&ns_a, dev_a, vip, true, limit);
    assert!(elected.is_some(), "the VIP never came up on the master:\n{}", logs(&lab));
    assert!(!Lab::addresses(&ns_b, dev_b).contains(&format!(" {vip}/")), "the backup holds the VIP too");

    std::fs::remove_file(&flag).unwrap();
    let failover = wait_for(&ns_b, dev_b, vip, true, limit);
    assert!(failover.is_some(), "the VIP did not move to the backup:\n{}", logs(&lab));
    let released = wait_for(&ns_a, dev_a, vip, false, limit);
    assert!(released.is_some(), "the old master kept the VIP:\n{}", logs(&lab));

    std::fs::write(&flag, "").unwrap();
    let failback = wait_for(&ns_a, dev_a, vip, true, limit);
    assert!(failback.is_some(), "the VIP did not come back to the master:\n{}", logs(&lab));
    let released_b = wait_for(&ns_b, dev_b, vip, false, limit);
    assert!(released_b.is_some(), "the backup kept the VIP:\n{}", logs(&lab));

    let ms = |d: Option<Duration>| d.map_or(0, |d| d.as_millis());
    eprintln!(
        "keepalived VRRP (advert_int 1 s, check interval 1 s, fall 1, rise 1, polled every 50 ms): \
         initial election {} ms, failover {} ms (old master released after {} ms more), \
         failback {} ms (backup released after {} ms more)",
        ms(elected),
        ms(failover),
        ms(released),
        ms(failback),
        ms(released_b)
    );
}
