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
