//! Value parsers of `config`: durations, sizes, addresses, log levels. Pure functions from
//! text to value or to the one-line reason it is not one.

use super::*;

// ---------------------------------------------------------------------------------------------
// Value parsers
// ---------------------------------------------------------------------------------------------

/// Parses `"500ms"`, `"10s"`, `"1m"`, `"8h"`, `"2d"`, `"1h30m"`, `"0"`.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    const HINT: &str = r#"use a number with a unit: ms, s, m, h or d, e.g. "500ms", "10s", "8h""#;
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(format!("empty; {HINT}"));
    }
    if s.contains('.') {
        return Err(r#"fractions are not supported; use a smaller unit, e.g. "1500ms""#.into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(HINT.to_string());
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| "number too large".to_string())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = |mul: u64| n.checked_mul(mul).map(Duration::from_secs);
        let part = match unit {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            "m" => secs(60),
            "h" => secs(3600),
            "d" => secs(86_400),
            "" => return Err(format!("missing unit; {HINT}")),
            other => return Err(format!("unknown unit {other:?}; {HINT}")),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(|| "too large".to_string())?;
    }
    Ok(total)
}

/// Parses `"1024"`, `"64MiB"`, `"64M"`, `"16MB"`, `"1 GiB"` into bytes.
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    const HINT: &str =
        r#"use bytes or a number with a unit (B, KiB, MiB, GiB, KB, MB, GB), e.g. "64MiB""#;
    let t = s.trim();
    if t.contains('.') {
        return Err(r#"fractions are not supported; use a smaller unit, e.g. "1536KiB""#.into());
    }
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits == 0 {
        return Err(HINT.to_string());
    }
    let n: u64 = t[..digits]
        .parse()
        .map_err(|_| "number too large".to_string())?;
    let unit = t[digits..].trim_start();
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(format!("unknown unit {unit:?}; {HINT}")),
    };
    n.checked_mul(mul).ok_or_else(|| "too large".to_string())
}

/// Checks `host:port` syntax; returns a normalized (host, port) for duplicate detection.
/// The host may be a name, an IPv4 address or a bracketed IPv6 address; the port 1..=65535.
pub(super) fn parse_host_port(s: &str) -> Result<(String, u16), String> {
    const HINT: &str =
        r#"expected host:port, e.g. "10.0.0.10:3306", "db.internal:3306" or "[::1]:3306""#;
    if s.chars().any(char::is_whitespace) {
        return Err(format!("contains whitespace; {HINT}"));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("missing `]` after the IPv6 address; {HINT}"))?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not a valid IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("missing port; {HINT}"))?;
        (ip.to_string(), port)
    } else {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("missing port; {HINT}"))?;
        if host.contains("://") {
            return Err(format!("remove the scheme: {HINT}"));
        }
        if host.contains(':') {
            if host.parse::<Ipv6Addr>().is_ok() {
                return Err(r#"an IPv6 address must be in brackets, e.g. "[::1]:3306""#.into());
            }
            return Err(format!("{host:?} is not a valid host name or IP address"));
        }
        if host.is_empty() {
            return Err(format!("missing host; {HINT}"));
        }
        (normalize_host(host)?, port)
    };
    if port.is_empty() {
        return Err(format!("missing port; {HINT}"));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {port:?} is not a number"));
    }
    match port.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok((host, p as u16)),
        _ => Err(format!("port {port} is out of range 1..65535")),
    }
}

/// Validates an unbracketed host (IPv4 address or DNS name) and lowercases it.
pub(super) fn normalize_host(host: &str) -> Result<String, String> {
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| format!("{host:?} is not a valid IPv4 address"));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(format!("{host:?} is not a valid host name or IP address"));
    }
    Ok(name.to_ascii_lowercase())
}

/// Accepts `LEVEL` or a comma-separated list of `LEVEL` / `TARGET=LEVEL`.
pub(super) fn check_log_level(s: &str) -> Result<(), String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    let is_level = |l: &str| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l));
    let bad = |what: &str| {
        let context = if what == s {
            String::new()
        } else {
            format!(" in {s:?}")
        };
        Err(format!(
            "invalid log level {what:?}{context}: expected trace, debug, info, warn, error or \
             off, or a list of LEVEL and TARGET=LEVEL entries separated by commas"
        ))
    };
    if s.trim().is_empty() {
        return bad("");
    }
    for directive in s.split(',').map(str::trim) {
        let level = match directive.rsplit_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level.trim(),
            Some(_) => return bad(directive),
            None => directive,
        };
        if !is_level(level) {
            return bad(level);
        }
    }
    Ok(())
}
