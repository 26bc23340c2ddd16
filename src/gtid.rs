//! MariaDB GTID positions (`domain-server-seq[,domain-server-seq...]`), compared per domain:
//! a replica has applied a write when, in the write's domain, its sequence number is at least
//! the write's. Used for read-your-writes routing.

use std::fmt;

/// A GTID position: at most one (server, seq) per replication domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidPos {
    /// (domain, server, seq), sorted by domain.
    parts: Vec<(u32, u32, u64)>,
}

impl GtidPos {
    /// Parses `0-1-100,1-2-5`; an empty string is the empty position. None if malformed.
    pub fn parse(s: &str) -> Option<GtidPos> {
        let mut parts = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let mut it = item.split('-');
            let d = it.next()?.parse().ok()?;
            let srv = it.next()?.parse().ok()?;
            let seq = it.next()?.parse().ok()?;
            if it.next().is_some() {
                return None;
            }
            parts.push((d, srv, seq));
        }
        let mut p = GtidPos { parts: Vec::new() };
        for part in parts {
            p.merge_one(part);
        }
        Some(p)
    }

    /// Parses one GTID (`0-1-100`, as the `last_gtid` tracker reports it) without allocating.
    pub fn parse_one(s: &[u8]) -> Option<(u32, u32, u64)> {
        let mut it = s.split(|&b| b == b'-');
        let num = |b: &[u8]| -> Option<u64> {
            if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
                return None;
            }
            b.iter().try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
        };
        let d = u32::try_from(num(it.next()?)?).ok()?;
        let srv = u32::try_from(num(it.next()?)?).ok()?;
        let seq = num(it.next()?)?;
        it.next().is_none().then_some((d, srv, seq))
    }

    /// Adds one GTID (keeps the newer of it and this position's in its domain).
    pub fn note(&mut self, gtid: (u32, u32, u64)) {
        self.merge_one(gtid);
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    fn merge_one(&mut self, (d, srv, seq): (u32, u32, u64)) {
        match self.parts.binary_search_by_key(&d, |p| p.0) {
            Ok(i) => {
                if seq > self.parts[i].2 {
                    self.parts[i] = (d, srv, seq);
                }
            }
            Err(i) => self.parts.insert(i, (d, srv, seq)),
        }
    }

    /// Keeps the newest position of every domain of both.
    pub fn merge(&mut self, other: &GtidPos) {
        for p in &other.parts {
            self.merge_one(*p);
        }
    }

    /// True if this position has applied everything in `needed`.
    pub fn covers(&self, needed: &GtidPos) -> bool {
        needed.parts.iter().all(|&(d, _, seq)| {
            self.parts
                .binary_search_by_key(&d, |p| p.0)
                .is_ok_and(|i| self.parts[i].2 >= seq)
        })
    }
}

impl fmt::Display for GtidPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (d, s, n)) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}-{s}-{n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn one_gtid_without_allocating() {
        assert_eq!(GtidPos::parse_one(b"0-1-25159"), Some((0, 1, 25159)));
        assert_eq!(
            GtidPos::parse_one(b"4294967295-2-18446744073709551615"),
            Some((u32::MAX, 2, u64::MAX))
        );
        for bad in [
            &b""[..],
            b"0-1",
            b"0-1-2-3",
            b"a-1-2",
            b"0--2",
            b"4294967296-1-1",
            b"0-1-18446744073709551616",
            b"0-1-2,1-1-1",
        ] {
            assert_eq!(GtidPos::parse_one(bad), None, "{bad:?}");
        }
        let mut p = GtidPos::parse("0-1-5").unwrap();
        p.note((0, 1, 7));
        p.note((1, 2, 3));
        p.note((0, 1, 6));
        assert_eq!(p.to_string(), "0-1-7,1-2-3");
    }

    use super::*;

    #[test]
    fn per_domain_comparison() {
        let replica = GtidPos::parse("0-1-100,1-2-7").unwrap();
        assert!(replica.covers(&GtidPos::parse("0-1-100").unwrap()));
        assert!(
            replica.covers(&GtidPos::parse("0-3-99").unwrap()),
            "server id does not matter"
        );
        assert!(!replica.covers(&GtidPos::parse("0-1-101").unwrap()));
        assert!(
            !replica.covers(&GtidPos::parse("2-1-1").unwrap()),
            "unknown domain is not applied"
        );
        assert!(replica.covers(&GtidPos::parse("1-2-7,0-1-50").unwrap()));
        assert!(replica.covers(&GtidPos::default()));
        let mut need = GtidPos::parse("0-1-5").unwrap();
        need.merge(&GtidPos::parse("0-1-3,1-1-9").unwrap());
        assert_eq!(need.to_string(), "0-1-5,1-1-9");
        assert_eq!(GtidPos::parse(""), Some(GtidPos::default()));
        assert_eq!(GtidPos::parse("x-1-2"), None);
        assert_eq!(GtidPos::parse("0-1-2-3"), None);
    }
}
