//! Password checks for clients logging in to the proxy, and the scrambles the proxy answers
//! backends with. The proxy knows each user's password (from proxy.toml), so it can verify the
//! client's scramble itself and log in to every backend with the same credentials.

use mysql_common::scramble::{scramble_native, scramble_sha256};
use rand::Rng;

pub const NATIVE: &str = "mysql_native_password";

/// A fresh 20-byte challenge. Bytes are printable ASCII without NUL (some clients treat the
/// scramble as a C string), like the server's own.
pub fn new_scramble() -> [u8; 20] {
    const ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!%&()*+,-./:;<=>?[]^_{|}~";
    let mut rng = rand::rng();
    let mut out = [0u8; 20];
    for b in &mut out {
        *b = ALPHABET[rng.random_range(0..ALPHABET.len())];
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a mysql_native_password response: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
/// An empty password is sent as an empty response.
pub fn verify_native(scramble: &[u8], password: &str, response: &[u8]) -> bool {
    match scramble_native(scramble, password.as_bytes()) {
        Some(expected) => constant_time_eq(&expected, response),
        None => response.is_empty(),
    }
}

/// Checks a caching_sha2_password fast-auth response against the known password.
pub fn verify_sha2(scramble: &[u8; 20], password: &str, response: &[u8]) -> bool {
    match scramble_sha256(scramble, password.as_bytes()) {
        Some(expected) => constant_time_eq(&expected, response),
        None => response.is_empty(),
    }
}

/// The response the proxy sends a backend for `plugin` with challenge `nonce`.
pub fn respond(plugin: &[u8], nonce: &[u8], password: &str) -> Result<Vec<u8>, String> {
    match plugin {
        b"mysql_native_password" | b"" => Ok(scramble_native(nonce, password.as_bytes())
            .map(|s| s.to_vec())
            .unwrap_or_default()),
        b"caching_sha2_password" => {
            let nonce: [u8; 20] = nonce
                .get(..20)
                .and_then(|n| n.try_into().ok())
                .ok_or("short caching_sha2_password challenge")?;
            Ok(scramble_sha256(&nonce, password.as_bytes())
                .map(|s| s.to_vec())
                .unwrap_or_default())
        }
        other => Err(format!(
            "backend asks for auth plugin {}, which rwsplit does not support",
            String::from_utf8_lossy(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_round_trip() {
        let s = new_scramble();
        assert!(!s.contains(&0));
        let r = respond(b"mysql_native_password", &s, "secret").unwrap();
        assert!(verify_native(&s, "secret", &r));
        assert!(!verify_native(&s, "Secret", &r));
        assert!(!verify_native(&s, "secret", &r[..19]));
        assert!(verify_native(&s, "", b""));
        assert!(!verify_native(&s, "", &r));
    }

    #[test]
    fn sha2_round_trip() {
        let s = new_scramble();
        let r = respond(b"caching_sha2_password", &s, "pw").unwrap();
        assert!(verify_sha2(&s, "pw", &r));
        assert!(!verify_sha2(&s, "px", &r));
        assert!(respond(b"client_ed25519", &s, "pw").is_err());
    }
}
