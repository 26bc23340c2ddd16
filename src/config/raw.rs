//! The raw layer of `config`: what serde reads from each section. Only unknown keys fail
//! here; every leaf is a [`Leaf`] kept with its span, checked by `ctx` afterwards so that all
//! problems of a file are reported together.

use super::*;

// ---------------------------------------------------------------------------------------------
// Raw layer: what serde reads. Only unknown keys fail here; every leaf is a `Leaf` (any TOML
// scalar) kept with its span, and types, ranges and required keys are checked afterwards so
// that all such problems are reported together.
// ---------------------------------------------------------------------------------------------

pub(super) type Field = Option<Spanned<Leaf>>;

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [master] table with an `address` key"
)]
pub(super) struct RawMaster {
    pub(super) address: Field,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[replicas]] table with `address` and optional `weight` keys"
)]
pub(super) struct RawReplica {
    pub(super) address: Field,
    pub(super) weight: Field,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[users]] table with `name` and `password` keys"
)]
pub(super) struct RawUser {
    pub(super) name: Field,
    pub(super) password: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [auth] table")]
pub(super) struct RawAuth {
    pub(super) passthrough: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [limits] table")]
pub(super) struct RawLimits {
    pub(super) max_client_connections: Field,
    pub(super) handshake_timeout: Field,
    pub(super) idle_client_timeout: Field,
    pub(super) max_packet_size: Field,
    pub(super) long_data_total: Field,
    pub(super) max_user_connections: Field,
    pub(super) max_idle_backend_connections: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [tls] table")]
pub(super) struct RawTls {
    pub(super) cert: Field,
    pub(super) key: Field,
    pub(super) require_client_tls: Field,
    pub(super) backend_ca: Field,
    pub(super) backend_tls: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [routing] table")]
pub(super) struct RawRouting {
    pub(super) max_replication_lag: Field,
    pub(super) fallback_to_master: Field,
    pub(super) consistency: Field,
    pub(super) consistency_wait: Field,
    pub(super) multiplex: Field,
    pub(super) multiplex_after: Field,
    pub(super) read_only_transactions_on_replicas: Field,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [monitor] table with `user` and `password` keys"
)]
pub(super) struct RawMonitor {
    pub(super) user: Field,
    pub(super) password: Field,
    pub(super) interval: Field,
    pub(super) connect_timeout: Field,
    pub(super) query_timeout: Field,
    pub(super) fail_after: Field,
    pub(super) recover_after: Field,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an [admin] table with `user` and `password` keys"
)]
pub(super) struct RawAdmin {
    pub(super) listen: Field,
    pub(super) user: Field,
    pub(super) password: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [metrics] table")]
pub(super) struct RawMetrics {
    pub(super) listen: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [timeouts] table")]
pub(super) struct RawTimeouts {
    pub(super) connect: Field,
    pub(super) query: Field,
    pub(super) read_failover: Field,
    pub(super) client_write: Field,
    pub(super) client_read: Field,
    pub(super) keepalive: Field,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [log] table")]
pub(super) struct RawLog {
    pub(super) level: Field,
    pub(super) format: Field,
}

/// Any TOML value at a leaf position; its type is checked during validation.
pub(super) enum Leaf {
    Str(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    /// Array, table or date-time: never valid for a leaf key.
    Other(&'static str),
}

impl Leaf {
    /// "an integer (10)"; with `show_value` false (passwords) the value is left out.
    pub(super) fn describe(&self, show_value: bool) -> String {
        let (kind, value) = match self {
            Leaf::Str(s) => ("a string", format!("{s:?}")),
            Leaf::Int(n) => ("an integer", n.to_string()),
            Leaf::Bool(b) => ("a boolean", b.to_string()),
            Leaf::Float(f) => ("a float", f.to_string()),
            Leaf::Other(kind) => return kind.to_string(),
        };
        if show_value {
            format!("{kind} ({value})")
        } else {
            kind.to_string()
        }
    }
}

impl<'de> Deserialize<'de> for Leaf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Leaf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Leaf, E> {
                Ok(Leaf::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Leaf, E> {
                Ok(Leaf::Str(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Leaf, E> {
                Ok(Leaf::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Leaf, E> {
                Ok(i64::try_from(v).map_or(Leaf::Other("an integer out of range"), Leaf::Int))
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Leaf, E> {
                Ok(Leaf::Other("an integer out of range"))
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Leaf, E> {
                Ok(Leaf::Other("an integer out of range"))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Leaf, E> {
                Ok(Leaf::Bool(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Leaf, E> {
                Ok(Leaf::Float(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Leaf, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Leaf::Other("an array"))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Leaf, A::Error> {
                // toml hands date-times over as a map with one private key.
                let mut kind = "a table";
                if let Some(k) = map.next_key::<String>()? {
                    if k.contains("toml_private_datetime") {
                        kind = "a date-time";
                    }
                    map.next_value::<de::IgnoredAny>()?;
                    while map
                        .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                        .is_some()
                    {}
                }
                Ok(Leaf::Other(kind))
            }
        }
        d.deserialize_any(V)
    }
}
