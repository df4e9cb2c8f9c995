//! Sample converters (configuration.txt §7.3.1), derived as the module docs of [`super`] say.

/// Sample converters: configuration.txt §7.3.1 headings plus the `map_*` forms haproxy 2.6.12
/// registers (`probe/probe_conv.py`). `lua.*` converters come from Lua scripts and are not listed.
pub const CONVERTERS: &[&str] = &[
    "51d.single", "add", "add_item", "aes_gcm_dec", "and", "b64dec", "base64", "be2dec", "be2hex", "bool",
    "bytes", "capture-req", "capture-res", "concat", "cpl", "crc32", "crc32c", "cut_crlf", "da-csv-conv",
    "debug", "digest", "div", "djb2", "even", "field", "fix_is_valid", "fix_tag_value", "hex", "hex2i",
    "hmac", "host_only", "htonl", "http_date", "iif", "in_table", "ipmask", "json", "json_query",
    "jwt_header_query", "jwt_payload_query", "jwt_verify", "language", "length", "lower", "ltime", "ltrim",
    "map", "map_beg", "map_beg_int", "map_beg_ip", "map_dir", "map_dir_int", "map_dir_ip", "map_dom",
    "map_dom_int", "map_dom_ip", "map_end", "map_end_int", "map_end_ip", "map_int", "map_int_int",
    "map_int_ip", "map_ip", "map_ip_int", "map_ip_ip", "map_reg", "map_reg_int", "map_reg_ip", "map_regm",
    "map_str", "map_str_int", "map_str_ip", "map_sub", "map_sub_int", "map_sub_ip", "mod", "mqtt_field_value",
    "mqtt_is_valid", "mul", "nbsrv", "neg", "not", "odd", "or", "port_only", "protobuf", "regsub", "rtrim",
    "sdbm", "secure_memcmp", "set-var", "sha1", "sha2", "srv_queue", "strcmp", "sub", "table_bytes_in_rate",
    "table_bytes_out_rate", "table_conn_cnt", "table_conn_cur", "table_conn_rate", "table_expire",
    "table_gpc", "table_gpc0", "table_gpc0_rate", "table_gpc1", "table_gpc1_rate", "table_gpc_rate",
    "table_gpt", "table_gpt0", "table_http_err_cnt", "table_http_err_rate", "table_http_fail_cnt",
    "table_http_fail_rate", "table_http_req_cnt", "table_http_req_rate", "table_idle", "table_kbytes_in",
    "table_kbytes_out", "table_server_id", "table_sess_cnt", "table_sess_rate", "table_trackers", "ub64dec",
    "ub64enc", "ungrpc", "unset-var", "upper", "url_dec", "url_enc", "utime", "word", "wt6", "xor", "xxh3",
    "xxh32", "xxh64",
];

#[cfg(test)]
mod tests {
    #[test]
    fn converters_are_sorted() {
        crate::keywords::assert_sorted(super::CONVERTERS);
    }
}
