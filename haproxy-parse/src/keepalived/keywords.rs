//! The keywords keepalived 2.2.7 accepts, block by block, as the real binary answers.
//!
//! Derived from keepalived v2.2.7 itself (the Debian/Ubuntu build, `keepalived --version`:
//! "Keepalived v2.2.7 (01/16,2022)") with `haproxy-parse/tools/keepalived_keywords.py`: every
//! identifier-like string in the binary (plus the tails the linker merges into longer strings,
//! and the string literals of keepalived's v2.2.7 parser sources as a backstop) was written into
//! each block below and kept only when `keepalived -t` did not answer "Unknown keyword". So a
//! keyword an older release read and 2.2.7 removed (`lvs_id`, `nat_mask`, `vrrp_garp_interval`
//! at top level, `notify_deleted` in a sync group ...) is unknown here too, and keywords a build
//! option turns off are absent exactly when this build lacks them. Re-run the tool against a new
//! keepalived and paste its output to move the table. `include` is not a keyword: keepalived
//! reads it before matching keywords, in any block (check.rs). Blocks not listed (value blocks
//! such as `virtual_ipaddress`, `static_routes`, sync-group `group`; `vrrp_track_file` ...) are
//! not checked keyword by keyword.

/// The keywords allowed in the block opened by `keyword` inside a block opened by `parent`
/// (`None, None`: the top level); `None` when that block is not checked.
pub(crate) fn allowed(parent: Option<&str>, keyword: Option<&str>) -> Option<&'static [&'static str]> {
    Some(match (parent, keyword) {
        (None, None) => TOP,
        (None, Some("global_defs")) => GLOBAL_DEFS,
        (None, Some("vrrp_script")) => VRRP_SCRIPT,
        (None, Some("vrrp_instance")) => VRRP_INSTANCE,
        (None, Some("vrrp_sync_group")) => VRRP_SYNC_GROUP,
        (None, Some("virtual_server")) => VIRTUAL_SERVER,
        (None, Some("track_file")) => TRACK_FILE,
        (None, Some("vrrp_track_process")) => VRRP_TRACK_PROCESS,
        (None, Some("track_group")) => TRACK_GROUP,
        (None, Some("garp_group")) => GARP_GROUP,
        (None, Some("bfd_instance")) => BFD_INSTANCE,
        (Some("vrrp_instance"), Some("authentication")) => AUTHENTICATION,
        (Some("virtual_server"), Some("real_server")) => REAL_SERVER,
        (Some("real_server"), Some(checker)) => checker_keywords(checker)?,
        (Some("HTTP_GET" | "SSL_GET"), Some("url")) => URL,
        _ => return None,
    })
}

/// The keywords of one health checker block inside `real_server`.
pub(crate) fn checker_keywords(checker: &str) -> Option<&'static [&'static str]> {
    Some(match checker {
        "TCP_CHECK" => TCP_CHECK,
        "HTTP_GET" => HTTP_GET,
        "SSL_GET" => SSL_GET,
        "MISC_CHECK" => MISC_CHECK,
        "SMTP_CHECK" => SMTP_CHECK,
        "DNS_CHECK" => DNS_CHECK,
        "PING_CHECK" => PING_CHECK,
        "UDP_CHECK" => UDP_CHECK,
        "FILE_CHECK" => FILE_CHECK,
        "BFD_CHECK" => BFD_CHECK,
        _ => return None,
    })
}

/// Top-level keywords.
pub(crate) const TOP: &[&str] = &[
    "SSL",
    "bfd_instance",
    "child_wait_time",
    "garp_group",
    "global_defs",
    "instance",
    "interface_up_down_delays",
    "linkbeat_interfaces",
    "linkbeat_use_polling",
    "namespace_with_ipsets",
    "net_namespace",
    "net_namespace_ipvs",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_file",
    "track_group",
    "use_pid_dir",
    "virtual_server",
    "virtual_server_group",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "vrrp_track_file",
    "vrrp_track_process",
];

/// `global_defs { ... }`
pub(crate) const GLOBAL_DEFS: &[&str] = &[
    "bfd_cpu_affinity",
    "bfd_no_swap",
    "bfd_priority",
    "bfd_process_name",
    "bfd_rlimit_rtime",
    "bfd_rlimit_rttime",
    "bfd_rt_priority",
    "checker_cpu_affinity",
    "checker_log_all_failures",
    "checker_no_swap",
    "checker_priority",
    "checker_process_name",
    "checker_rlimit_rtime",
    "checker_rlimit_rttime",
    "checker_rt_priority",
    "config_save_dir",
    "data_use_instance",
    "dbus_service_name",
    "default_interface",
    "disable_local_igmp",
    "dynamic_interfaces",
    "enable_dbus",
    "enable_script_security",
    "enable_snmp_checker",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_vrrp",
    "enable_traps",
    "fifo_write_vrrp_states_on_reload",
    "include_check",
    "log_unknown_vrids",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "lvs_process_name",
    "lvs_sync_daemon",
    "lvs_timeouts",
    "max_auto_priority",
    "min_auto_priority_delay",
    "nftables",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_priority",
    "no_checker_emails",
    "no_email_faults",
    "notification_email",
    "notification_email_from",
    "notify_fifo",
    "notify_fifo_script",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "process_name",
    "process_names",
    "random_seed",
    "reload_check_config",
    "reload_file",
    "reload_repeat",
    "reload_time_file",
    "router_id",
    "rs_init_notifies",
    "script_user",
    "shutdown_script",
    "shutdown_script_timeout",
    "smtp_alert",
    "smtp_alert_checker",
    "smtp_alert_vrrp",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_server",
    "snmp_socket",
    "startup_script",
    "startup_script_timeout",
    "tmp_config_directory",
    "umask",
    "vmac_addr_prefix",
    "vmac_prefix",
    "vrrp_check_unicast_src",
    "vrrp_cpu_affinity",
    "vrrp_down_timer_adverts",
    "vrrp_garp_extra_if",
    "vrrp_garp_interval",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_master_repeat",
    "vrrp_gna_interval",
    "vrrp_higher_prio_send_advert",
    "vrrp_iptables",
    "vrrp_lower_prio_no_advert",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_min_garp",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "vrrp_no_swap",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "vrrp_priority",
    "vrrp_process_name",
    "vrrp_rlimit_rtime",
    "vrrp_rlimit_rttime",
    "vrrp_rt_priority",
    "vrrp_rx_bufs_multiplier",
    "vrrp_rx_bufs_policy",
    "vrrp_skip_check_adv_addr",
    "vrrp_startup_delay",
    "vrrp_strict",
    "vrrp_version",
    "vrrp_vmac_garp_intvl",
];

/// `vrrp_script NAME { ... }`
pub(crate) const VRRP_SCRIPT: &[&str] = &[
    "fall",
    "init_fail",
    "interval",
    "rise",
    "script",
    "timeout",
    "user",
    "weight",
];

/// `vrrp_instance NAME { ... }`
pub(crate) const VRRP_INSTANCE: &[&str] = &[
    "accept",
    "advert_int",
    "authentication",
    "check_unicast_src",
    "debug",
    "dont_track_primary",
    "down_timer_adverts",
    "garp_extra_if",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_master_repeat",
    "higher_prio_send_advert",
    "interface",
    "kernel_rx_buf_size",
    "linkbeat_use_polling",
    "lower_prio_no_advert",
    "lvs_sync_daemon_interface",
    "mcast_dst_ip",
    "mcast_src_ip",
    "native_ipv6",
    "no_accept",
    "nopreempt",
    "notify",
    "notify_backup",
    "notify_deleted",
    "notify_fault",
    "notify_master",
    "notify_master_rx_lower_pri",
    "notify_priority_changes",
    "notify_stop",
    "old_unicast_checksum",
    "preempt",
    "preempt_delay",
    "priority",
    "promote_secondaries",
    "skip_check_adv_addr",
    "smtp_alert",
    "state",
    "strict_mode",
    "track_bfd",
    "track_file",
    "track_interface",
    "track_process",
    "track_script",
    "track_src_ip",
    "unicast_fault_no_peer",
    "unicast_peer",
    "unicast_src_ip",
    "unicast_ttl",
    "use_ipvlan",
    "use_vmac",
    "use_vmac_addr",
    "version",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_router_id",
    "virtual_routes",
    "virtual_rules",
    "vmac_garp_intvl",
    "vmac_xmit_base",
    "vrf",
];

/// `authentication { ... }` inside `vrrp_instance`.
pub(crate) const AUTHENTICATION: &[&str] = &[
    "auth_pass",
    "auth_type",
];

/// `vrrp_sync_group NAME { ... }`
pub(crate) const VRRP_SYNC_GROUP: &[&str] = &[
    "global_tracking",
    "group",
    "notify",
    "notify_backup",
    "notify_fault",
    "notify_master",
    "notify_priority_changes",
    "notify_stop",
    "smtp_alert",
    "sync_group_tracking_weight",
    "track_bfd",
    "track_file",
    "track_interface",
    "track_process",
    "track_script",
];

/// `virtual_server ... { ... }`
pub(crate) const VIRTUAL_SERVER: &[&str] = &[
    "alpha",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "flag-1",
    "flag-2",
    "flag-3",
    "ha_suspend",
    "hashed",
    "hysteresis",
    "inhibit_on_failure",
    "ip_family",
    "lb_algo",
    "lb_kind",
    "lvs_method",
    "lvs_sched",
    "mh-fallback",
    "mh-port",
    "omega",
    "ops",
    "persistence_engine",
    "persistence_granularity",
    "persistence_timeout",
    "protocol",
    "quorum",
    "quorum_down",
    "quorum_up",
    "real_server",
    "retry",
    "sh-fallback",
    "sh-port",
    "smtp_alert",
    "snmp_name",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "virtualhost",
    "warmup",
    "weight",
];

/// `real_server IP PORT { ... }`
pub(crate) const REAL_SERVER: &[&str] = &[
    "BFD_CHECK",
    "DNS_CHECK",
    "FILE_CHECK",
    "HTTP_GET",
    "MISC_CHECK",
    "PING_CHECK",
    "SMTP_CHECK",
    "SSL_GET",
    "TCP_CHECK",
    "UDP_CHECK",
    "alpha",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "inhibit_on_failure",
    "lthreshold",
    "lvs_method",
    "notify_down",
    "notify_up",
    "retry",
    "smtp_alert",
    "snmp_name",
    "uthreshold",
    "virtualhost",
    "warmup",
    "weight",
];

/// `track_file NAME { ... }`
pub(crate) const TRACK_FILE: &[&str] = &[
    "file",
    "init_file",
    "weight",
];

/// `vrrp_track_process NAME { ... }`
pub(crate) const VRRP_TRACK_PROCESS: &[&str] = &[
    "delay",
    "fork_delay",
    "full_command",
    "param_match",
    "process",
    "quorum",
    "quorum_max",
    "terminate_delay",
    "weight",
];

/// `track_group NAME { ... }`
pub(crate) const TRACK_GROUP: &[&str] = &[
    "group",
];

/// `garp_group { ... }`
pub(crate) const GARP_GROUP: &[&str] = &[
    "garp_interval",
    "gna_interval",
    "interface",
    "interfaces",
];

/// `bfd_instance NAME { ... }`
pub(crate) const BFD_INSTANCE: &[&str] = &[
    "checker",
    "hoplimit",
    "idle_tx",
    "max_hops",
    "min_rx",
    "min_tx",
    "multiplier",
    "neighbor_ip",
    "neighbour_ip",
    "passive",
    "source_ip",
    "ttl",
    "vrrp",
    "weight",
];

/// `TCP_CHECK { ... }`
pub(crate) const TCP_CHECK: &[&str] = &[
    "alpha",
    "bind_if",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "fwmark",
    "log_all_failures",
    "retry",
    "warmup",
];

/// `HTTP_GET { ... }`
pub(crate) const HTTP_GET: &[&str] = &[
    "alpha",
    "bind_if",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "enable_sni",
    "fast_recovery",
    "fwmark",
    "http_protocol",
    "log_all_failures",
    "nb_get_retry",
    "retry",
    "url",
    "virtualhost",
    "warmup",
];

/// `SSL_GET { ... }`: keepalived 2.2.7 accepts exactly the keywords of `HTTP_GET` (the probe
/// found the same set; both checkers share one parser in keepalived's check_http.c).
pub(crate) const SSL_GET: &[&str] = HTTP_GET;

/// `MISC_CHECK { ... }`
pub(crate) const MISC_CHECK: &[&str] = &[
    "alpha",
    "delay_before_retry",
    "delay_loop",
    "log_all_failures",
    "misc_dynamic",
    "misc_path",
    "misc_timeout",
    "retry",
    "user",
    "warmup",
];

/// `SMTP_CHECK { ... }`
pub(crate) const SMTP_CHECK: &[&str] = &[
    "alpha",
    "bind_if",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "fwmark",
    "helo_name",
    "host",
    "log_all_failures",
    "retry",
    "warmup",
];

/// `DNS_CHECK { ... }`
pub(crate) const DNS_CHECK: &[&str] = &[
    "alpha",
    "bind_if",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "fwmark",
    "log_all_failures",
    "name",
    "retry",
    "type",
    "warmup",
];

/// `PING_CHECK { ... }`
pub(crate) const PING_CHECK: &[&str] = &[
    "alpha",
    "bind_if",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "fwmark",
    "log_all_failures",
    "retry",
    "warmup",
];

/// `UDP_CHECK { ... }`
pub(crate) const UDP_CHECK: &[&str] = &[
    "alpha",
    "bind_if",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "fwmark",
    "log_all_failures",
    "max_reply_length",
    "min_reply_length",
    "payload",
    "require_reply",
    "retry",
    "warmup",
];

/// `FILE_CHECK { ... }`
pub(crate) const FILE_CHECK: &[&str] = &[
    "track_file",
    "weight",
];

/// `BFD_CHECK { ... }`
pub(crate) const BFD_CHECK: &[&str] = &[
    "alpha",
    "name",
];

/// `url { ... }` inside `HTTP_GET` / `SSL_GET`.
pub(crate) const URL: &[&str] = &[
    "digest",
    "path",
    "regex",
    "regex_max_offset",
    "regex_min_offset",
    "regex_no_match",
    "regex_options",
    "regex_stack",
    "status_code",
    "virtualhost",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_checker_the_model_reads_has_a_table_and_is_allowed_in_real_server() {
        // The model's CHECKERS and these tables are separate lists; a checker in one and not the
        // other would be a false alarm or a blind spot.
        for checker in haproxy_model::keepalived::CHECKERS {
            assert!(REAL_SERVER.contains(checker), "{checker} missing from REAL_SERVER");
            assert!(checker_keywords(checker).is_some(), "{checker} has no keyword table");
        }
        let listed_checkers = REAL_SERVER.iter().filter(|k| checker_keywords(k).is_some()).count();
        assert_eq!(listed_checkers, haproxy_model::keepalived::CHECKERS.len());
    }

    #[test]
    fn tables_are_sorted_and_free_of_duplicates() {
        // The tool prints sorted lists; a hand edit that breaks the order is easy to spot.
        let tables = [
            TOP, GLOBAL_DEFS, VRRP_SCRIPT, VRRP_INSTANCE, AUTHENTICATION, VRRP_SYNC_GROUP, VIRTUAL_SERVER,
            REAL_SERVER, TRACK_FILE, VRRP_TRACK_PROCESS, TRACK_GROUP, GARP_GROUP, BFD_INSTANCE, TCP_CHECK, HTTP_GET,
            SSL_GET, MISC_CHECK, SMTP_CHECK, DNS_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK, BFD_CHECK, URL,
        ];
        for table in tables {
            assert!(table.windows(2).all(|w| w[0] < w[1]), "{table:?}");
        }
    }
}
