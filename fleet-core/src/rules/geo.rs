//! The geo map: a country CSV converted to the map file `src,map_ip(<map>,--)` reads.
//!
//! ```text
//! DB-IP "IP to Country Lite" CSV (CC BY 4.0, monthly at db-ip.com), one range a line:
//!   start_ip,end_ip,country_code        1.0.0.0,1.0.0.255,AU   (IPv4 and IPv6, quotes allowed)
//!   -> each range split into the fewest CIDRs covering it exactly
//!   -> map lines `CIDR COUNTRY`          1.0.0.0/24 AU          (configuration.txt §7.3.1 map_ip)
//! ```
//!
//! Why DB-IP's format: it is a plain three-column CSV of ranges under a free licence, needs no
//! second locations file (GeoLite2 splits networks and country names in two CSVs and requires an
//! account), and any range list in the same three columns converts too.

use std::net::IpAddr;

/// A line the converter cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// Not `start,end,country`, or an address or country that does not parse.
    #[error("line {line}: {why}")]
    Line {
        /// 1-based.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// `csv` (DB-IP country CSV) as map file text, one `CIDR COUNTRY` line per network. Blank lines
/// and `#` comments are skipped; a header line `start,end,country`-like (first field not an
/// address) is skipped when it is the first line.
pub fn csv_to_map(csv: &str) -> Result<String, GeoError> {
    let mut out = String::new();
    for (i, raw) in csv.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
        let bad = |why: String| GeoError::Line { line: i + 1, why };
        if fields.len() < 3 {
            return Err(bad(format!("expected start_ip,end_ip,country_code, got {line:?}")));
        }
        let (start, end) = match (fields[0].parse::<IpAddr>(), fields[1].parse::<IpAddr>()) {
            (Ok(s), Ok(e)) => (s, e),
            _ if i == 0 => continue,
            _ => return Err(bad(format!("{:?} to {:?} is not an address range", fields[0], fields[1]))),
        };
        let country = fields[2];
        if !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(bad(format!("{country:?} is not a two-letter country code")));
        }
        let country = country.to_ascii_uppercase();
        let (lo, hi, bits, v4) = match (start, end) {
            (IpAddr::V4(s), IpAddr::V4(e)) => (u32::from(s) as u128, u32::from(e) as u128, 32u32, true),
            (IpAddr::V6(s), IpAddr::V6(e)) => (u128::from(s), u128::from(e), 128u32, false),
            _ => return Err(bad("start and end are not the same address family".into())),
        };
        if lo > hi {
            return Err(bad(format!("{start} is after {end}")));
        }
        for (network, len) in cidrs(lo, hi, bits) {
            let address = if v4 { IpAddr::from((network as u32).to_be_bytes()) } else { IpAddr::from(network.to_be_bytes()) };
            out.push_str(&format!("{address}/{len} {country}\n"));
        }
    }
    Ok(out)
}

/// The fewest CIDRs covering `lo..=hi` exactly, in a `bits`-bit address space.
fn cidrs(mut lo: u128, hi: u128, bits: u32) -> Vec<(u128, u32)> {
    let mut out = Vec::new();
    loop {
        // The largest block aligned at `lo` (its host bits) that does not pass `hi`.
        let mut host = if lo == 0 { bits } else { lo.trailing_zeros().min(bits) };
        while host > 0 && span(host) > hi - lo {
            host -= 1;
        }
        out.push((lo, bits - host));
        // `lo` is aligned on 2^host, so this does not overflow.
        let last = lo + span(host);
        if last >= hi {
            return out;
        }
        lo = last + 1;
    }
}

/// The offset of the last address of a block with `host` host bits.
fn span(host: u32) -> u128 {
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_exact_cidrs() {
        let csv = "start,end,country\n1.0.0.0,1.0.0.255,AU\n\"127.0.0.4\",\"127.0.0.4\",\"zz\"\n10.0.0.1,10.0.0.6,FR\n2001:db8::,2001:db8::ffff,DE\n";
        let map = csv_to_map(csv).unwrap();
        assert_eq!(
            map,
            "1.0.0.0/24 AU\n127.0.0.4/32 ZZ\n10.0.0.1/32 FR\n10.0.0.2/31 FR\n10.0.0.4/31 FR\n10.0.0.6/32 FR\n2001:db8::/112 DE\n"
        );
        assert_eq!(csv_to_map("0.0.0.0,255.255.255.255,US\n").unwrap(), "0.0.0.0/0 US\n");
        assert_eq!(csv_to_map("::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,US\n").unwrap(), "::/0 US\n");
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(csv_to_map("1.0.0.0,1.0.0.255,AU\nx,y,FR\n").unwrap_err().to_string(), "line 2: \"x\" to \"y\" is not an address range");
        assert!(csv_to_map("1.0.0.9,1.0.0.1,AU\n").unwrap_err().to_string().contains("after"));
        assert!(csv_to_map("1.0.0.0,::1,AU\n").unwrap_err().to_string().contains("family"));
        assert!(csv_to_map("1.0.0.0,1.0.0.1,AUS\n").unwrap_err().to_string().contains("country"));
    }
}
