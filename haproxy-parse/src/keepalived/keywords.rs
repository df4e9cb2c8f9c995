//! The keywords keepalived 2.2 accepts in the blocks the offline check knows, taken from
//! keepalived.conf(5) (shipped with keepalived 2.2.7) plus the older synonyms it still reads
//! (`lb_algo`, `lb_kind`, `nat_mask`, `lvs_sync_daemon_interface` ...). Blocks not listed here
//! (bfd_instance, track_file, static_* ...) are not checked keyword by keyword.

/// Where a block sits, by its keyword and its parent's.
pub(crate) fn allowed(parent: Option<&str>, keyword: Option<&str>) -> Option<&'static [&'static str]> {
    Some(match (parent, keyword) {
        (_, None) if parent.is_none() => TOP,
        (None, Some("global_defs")) => GLOBAL_DEFS,
        (None, Some("vrrp_script")) => VRRP_SCRIPT,
        (None, Some("vrrp_instance")) => VRRP_INSTANCE,
        (None, Some("vrrp_sync_group")) => VRRP_SYNC_GROUP,
        (None, Some("virtual_server")) => VIRTUAL_SERVER,
        (Some("virtual_server"), Some("real_server")) => REAL_SERVER,
        (Some("vrrp_instance"), Some("authentication")) => AUTHENTICATION,
        (Some("real_server"), Some(checker)) if haproxy_model::keepalived::CHECKERS.contains(&checker) => CHECKER,
        (Some("HTTP_GET" | "SSL_GET"), Some("url")) => URL,
        _ => return None,
    })
}

/// Top-level keywords.
pub(crate) const TOP: &[&str] = &[
    "global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "virtual_server", "virtual_server_group",
    "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "linkbeat_use_polling",
    "track_group", "track_file", "vrrp_track_file", "track_process", "vrrp_track_process", "bfd_instance",
    "garp_group", "include", "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets", "instance",
    "use_pid_dir", "child_wait_time", "SSL", "vrrp_garp_interval", "vrrp_gna_interval",
];

/// `global_defs { ... }`
pub(crate) const GLOBAL_DEFS: &[&str] = &[
    "bfd_cpu_affinity", "bfd_no_swap", "bfd_priority", "bfd_process_name", "bfd_rlimit_rttime", "bfd_rt_priority",
    "checker_cpu_affinity", "checker_log_all_failures", "checker_no_swap", "checker_priority",
    "checker_process_name", "checker_rlimit_rttime", "checker_rt_priority", "config_save_dir",
    "data_use_instance", "dbus_service_name", "default_interface", "dynamic_interfaces", "enable_dbus",
    "enable_script_security", "enable_snmp_checker", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3",
    "enable_snmp_vrrp", "enable_snmp_keepalived", "enable_traps", "fifo_write_vrrp_states_on_reload",
    "include_check", "log_unknown_vrids", "lvs_flush", "lvs_flush_on_stop", "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force",
    "lvs_notify_fifo", "lvs_notify_fifo_script", "lvs_sync_daemon", "lvs_timeouts", "lvs_id",
    "max_auto_priority", "min_auto_priority_delay", "nftables", "nftables_counters", "nftables_ifindex",
    "nftables_ipvs", "nftables_ipvs_priority", "nftables_ipvs_start_fwmark", "nftables_priority",
    "no_checker_emails", "no_email_faults", "notification_email", "notification_email_from", "notify_fifo",
    "notify_fifo_script", "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force", "process_name",
    "process_names", "random_seed", "reload_check_config", "reload_file", "reload_repeat", "reload_time_file",
    "router_id", "rs_init_notifies", "script_user", "shutdown_script", "shutdown_script_timeout", "smtp_alert",
    "smtp_alert_checker", "smtp_alert_vrrp", "smtp_connect_timeout", "smtp_helo_name", "smtp_server",
    "snmp_socket", "startup_script", "startup_script_timeout", "tmp_config_directory", "umask",
    "vmac_addr_prefix", "vmac_prefix", "vrrp_check_unicast_src", "vrrp_cpu_affinity", "vrrp_down_timer_adverts",
    "vrrp_garp_extra_if", "vrrp_garp_interval", "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_master_delay", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_master_repeat", "vrrp_gna_interval", "vrrp_higher_prio_send_advert", "vrrp_ipsets",
    "vrrp_iptables", "vrrp_lower_prio_no_advert", "vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_min_garp",
    "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force", "vrrp_no_swap", "vrrp_notify_fifo", "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes", "vrrp_priority", "vrrp_process_name", "vrrp_rlimit_rttime",
    "vrrp_rt_priority", "vrrp_rx_bufs_multiplier", "vrrp_rx_bufs_policy", "vrrp_skip_check_adv_addr",
    "vrrp_startup_delay", "vrrp_strict", "vrrp_version", "linkbeat_use_polling", "net_namespace",
    "instance", "use_pid_dir", "child_wait_time",
];

/// `vrrp_script NAME { ... }`
pub(crate) const VRRP_SCRIPT: &[&str] = &["script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail"];

/// `vrrp_instance NAME { ... }`
pub(crate) const VRRP_INSTANCE: &[&str] = &[
    "accept", "advert_int", "authentication", "check_unicast_src", "debug", "dont_track_primary",
    "down_timer_adverts", "garp_extra_if", "garp_lower_prio_delay", "garp_lower_prio_repeat", "garp_master_delay",
    "garp_master_refresh", "garp_master_refresh_repeat", "garp_master_repeat", "higher_prio_send_advert",
    "interface", "kernel_rx_buf_size", "linkbeat_use_polling", "lower_prio_no_advert", "lvs_sync_daemon_interface",
    "mcast_dst_ip", "mcast_src_ip", "native_ipv6", "no_accept", "nopreempt", "notify", "notify_backup",
    "notify_fault", "notify_master", "notify_master_rx_lower_pri", "notify_priority_changes", "notify_stop",
    "notify_deleted", "old_unicast_checksum", "preempt", "preempt_delay", "priority", "promote_secondaries",
    "skip_check_adv_addr", "smtp_alert", "state", "strict_mode", "track_bfd", "track_file", "track_interface",
    "track_process", "track_script", "track_src_ip", "unicast_fault_no_peer", "unicast_peer", "unicast_src_ip",
    "unicast_ttl", "use_ipvlan", "use_vmac", "use_vmac_addr", "version", "virtual_ipaddress",
    "virtual_ipaddress_excluded", "virtual_router_id", "virtual_routes", "virtual_rules", "vmac_xmit_base", "vrf",
];

/// `authentication { ... }` inside `vrrp_instance`.
pub(crate) const AUTHENTICATION: &[&str] = &["auth_type", "auth_pass"];

/// `vrrp_sync_group NAME { ... }`
pub(crate) const VRRP_SYNC_GROUP: &[&str] = &[
    "group", "global_tracking", "sync_group_tracking_weight", "notify", "notify_backup", "notify_deleted",
    "notify_fault", "notify_master", "notify_priority_changes", "notify_stop", "smtp_alert", "track_bfd",
    "track_file", "track_interface", "track_process", "track_script",
];

/// `virtual_server ... { ... }`
pub(crate) const VIRTUAL_SERVER: &[&str] = &[
    "alpha", "connect_timeout", "delay_before_retry", "delay_loop", "ha_suspend", "hysteresis",
    "inhibit_on_failure", "ip_family", "lb_algo", "lb_kind", "lvs_method", "lvs_sched", "nat_mask", "omega",
    "ops", "persistence_engine", "persistence_granularity", "persistence_timeout", "protocol", "quorum",
    "quorum_down", "quorum_up", "real_server", "retry", "smtp_alert", "snmp_name", "sorry_server",
    "sorry_server_inhibit", "sorry_server_lvs_method", "virtualhost", "warmup", "mh-fallback", "mh-port",
    "sh-fallback", "sh-port", "flag-1", "flag-2", "flag-3",
];

/// `real_server IP PORT { ... }`
pub(crate) const REAL_SERVER: &[&str] = &[
    "alpha", "connect_timeout", "delay_before_retry", "delay_loop", "inhibit_on_failure", "lthreshold",
    "lvs_method", "notify_down", "notify_up", "retry", "smtp_alert", "snmp_name", "uthreshold", "virtualhost",
    "warmup", "weight", "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "PING_CHECK",
    "UDP_CHECK", "FILE_CHECK", "BFD_CHECK",
];

/// Inside any health checker block.
pub(crate) const CHECKER: &[&str] = &[
    "alpha", "bind_if", "bind_port", "bindto", "connect_ip", "connect_port", "connect_timeout",
    "delay_before_retry", "delay_loop", "digest", "dynamic", "enable_sni", "fast_recovery", "fwmark", "helo_name",
    "host", "http_protocol", "log_all_failures", "misc_dynamic", "misc_path", "misc_timeout", "name", "nb_get_retry",
    "path", "payload", "regex", "require_reply", "retry", "status_code", "track_file", "type", "url", "user",
    "virtualhost", "warmup", "weight", "min_reply_length", "max_reply_length", "file", "family",
];

/// `url { ... }` inside HTTP_GET / SSL_GET.
pub(crate) const URL: &[&str] = &[
    "digest", "path", "regex", "regex_max_offset", "regex_min_offset", "regex_no_match", "regex_options",
    "regex_stack", "status_code", "virtualhost",
];
