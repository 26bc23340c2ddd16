//! Password checks for clients logging in to the proxy, and the scrambles the proxy answers
//! backends with. The proxy knows each user's password (from proxy.toml), so it can verify the
//! client's scramble itself and log in to every backend with the same credentials.

use mysql_common::scramble::{scramble_native, scramble_sha256};
use rand::RngCore;
use sha1::{Digest, Sha1};

pub const NATIVE: &str = "mysql_native_password";

/// A fresh 20-byte challenge. Bytes are printable ASCII without NUL (some clients treat the
/// scramble as a C string), like the server's own.
///
/// Random bytes are drawn 64 at a time and a byte is kept only below the largest multiple of
/// the alphabet's size (rejection sampling): every character stays equally likely, and one
/// draw from the generator usually serves the whole scramble (20 `random_range` calls cost
/// ~3% of the proxy's instructions per connect-per-request client).
pub fn new_scramble() -> [u8; 20] {
    const ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!%&()*+,-./:;<=>?[]^_{|}~";
    const LIMIT: usize = 256 / ALPHABET.len() * ALPHABET.len();
    let mut rng = rand::rng();
    let mut out = [0u8; 20];
    let mut filled = 0;
    let mut random = [0u8; 64];
    while filled < out.len() {
        rng.fill_bytes(&mut random);
        for &r in &random {
            if (r as usize) < LIMIT {
                out[filled] = ALPHABET[r as usize % ALPHABET.len()];
                filled += 1;
                if filled == out.len() {
                    break;
                }
            }
        }
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a mysql_native_password response: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
/// An empty password is sent as an empty response.
///
/// SHA1(pw) and SHA1(SHA1(pw)) depend on the password only, so they come from a per-thread
/// cache: a login then costs one SHA1 block instead of four (`scramble_native` hashes the
/// password twice), about a tenth of the proxy's instructions for a connect-per-request client.
pub fn verify_native(scramble: &[u8], password: &str, response: &[u8]) -> bool {
    if password.is_empty() {
        return response.is_empty();
    }
    let (stage1, stage2) = native_hashes(password.as_bytes());
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stage2);
    let mixed: [u8; 20] = h.finalize().into();
    let mut expected = [0u8; 20];
    for (e, (a, b)) in expected.iter_mut().zip(stage1.iter().zip(mixed)) {
        *e = a ^ b;
    }
    constant_time_eq(&expected, response)
}

/// Passwords whose hashes a thread keeps (proxy.toml's users; a reload that changes them
/// starts the cache over once it is full).
const NATIVE_CACHE_MAX: usize = 64;

/// (SHA1(pw), SHA1(SHA1(pw))) for `password`, cached per thread: no lock, and each runtime
/// thread fills its own on its first login.
fn native_hashes(password: &[u8]) -> ([u8; 20], [u8; 20]) {
    type Cache = foldhash::HashMap<Box<[u8]>, ([u8; 20], [u8; 20])>;
    thread_local! {
        static CACHE: std::cell::RefCell<Cache> = std::cell::RefCell::default();
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(h) = cache.get(password) {
            return *h;
        }
        let stage1: [u8; 20] = Sha1::digest(password).into();
        let stage2: [u8; 20] = Sha1::digest(stage1).into();
        if cache.len() >= NATIVE_CACHE_MAX {
            cache.clear();
        }
        cache.insert(password.into(), (stage1, stage2));
        (stage1, stage2)
    })
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

    /// Every character of the alphabet turns up, none more than chance allows, and never a NUL.
    #[test]
    fn scramble_characters_are_uniform() {
        let mut counts = std::collections::HashMap::new();
        for _ in 0..5000 {
            for b in new_scramble() {
                *counts.entry(b).or_insert(0u32) += 1;
            }
        }
        assert_eq!(counts.len(), 87, "{counts:?}");
        assert!(!counts.contains_key(&0));
        // 100,000 draws over 87 characters: 1,149 each on average, σ ≈ 34.
        for (b, n) in counts {
            assert!((950..1350).contains(&n), "{} drawn {n} times", b as char);
        }
    }

    /// The cached hashes give the answers `scramble_native` computes, for many passwords and
    /// scrambles (more passwords than the cache keeps, so it starts over on the way).
    #[test]
    fn native_cache_matches_the_full_computation() {
        for round in 0..3 {
            for i in 0..(NATIVE_CACHE_MAX + 10) {
                let pw = format!("pw-{i}");
                let s = new_scramble();
                let r = scramble_native(&s, pw.as_bytes()).unwrap();
                assert!(verify_native(&s, &pw, &r), "round {round}, {pw}");
                assert!(!verify_native(&s, &format!("{pw}x"), &r));
                assert!(!verify_native(&new_scramble(), &pw, &r));
            }
        }
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

/// What the proxy logs in to backends with on behalf of a client.
#[derive(Clone)]
pub enum Credential {
    /// The password, from proxy.toml.
    Password(String),
    /// Auth passthrough: SHA1(password), recovered from the client's mysql_native_password
    /// answer and the account's stored hash SHA1(SHA1(password)); enough to answer any
    /// mysql_native_password challenge, never the password itself.
    NativeHash { stage1: [u8; 20], stage2: [u8; 20] },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Password(_) => "Credential::Password(***)",
            Credential::NativeHash { .. } => "Credential::NativeHash(***)",
        })
    }
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn xor20(a: &[u8; 20], b: &[u8; 20]) -> [u8; 20] {
    let mut out = [0u8; 20];
    for i in 0..20 {
        out[i] = a[i] ^ b[i];
    }
    out
}

/// Parses a stored mysql_native_password hash (`*` + 40 hex digits) into SHA1(SHA1(password)).
pub fn parse_native_hash(s: &str) -> Option<[u8; 20]> {
    let hex = s.strip_prefix('*')?;
    if hex.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Checks a mysql_native_password answer against a stored hash and, if it matches, returns
/// SHA1(password): answer XOR SHA1(scramble + stage2) must hash to stage2.
pub fn recover_stage1(scramble: &[u8], stage2: &[u8; 20], response: &[u8]) -> Option<[u8; 20]> {
    let response: &[u8; 20] = response.try_into().ok()?;
    let stage1 = xor20(response, &sha1(&[scramble, stage2]));
    constant_time_eq(&sha1(&[&stage1]), stage2).then_some(stage1)
}

/// The answer to a backend's challenge for `plugin` with this credential.
pub fn respond_with(plugin: &[u8], nonce: &[u8], cred: &Credential) -> Result<Vec<u8>, String> {
    match cred {
        Credential::Password(p) => respond(plugin, nonce, p),
        Credential::NativeHash { stage1, stage2 } => match plugin {
            b"mysql_native_password" | b"" => Ok(xor20(stage1, &sha1(&[nonce.get(..20).unwrap_or(nonce), stage2])).to_vec()),
            other => Err(format!(
                "backend asks for auth plugin {} but this account came through auth passthrough, which only carries mysql_native_password",
                String::from_utf8_lossy(other)
            )),
        },
    }
}

#[cfg(test)]
mod passthrough_tests {
    use super::*;

    #[test]
    fn hash_recovery_answers_like_the_password() {
        let stage2 = sha1(&[&sha1(&[b"s3cret"])]);
        let stored = format!(
            "*{}",
            stage2
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        );
        assert_eq!(parse_native_hash(&stored), Some(stage2));
        assert_eq!(parse_native_hash("*00"), None);
        let client_scramble = new_scramble();
        let answer = respond(b"mysql_native_password", &client_scramble, "s3cret").unwrap();
        let stage1 = recover_stage1(&client_scramble, &stage2, &answer).expect("right password");
        let wrong = respond(b"mysql_native_password", &client_scramble, "nope").unwrap();
        assert_eq!(recover_stage1(&client_scramble, &stage2, &wrong), None);
        // The recovered credential answers a backend exactly as the password would.
        let backend_nonce = new_scramble();
        let cred = Credential::NativeHash { stage1, stage2 };
        assert_eq!(
            respond_with(b"mysql_native_password", &backend_nonce, &cred).unwrap(),
            respond(b"mysql_native_password", &backend_nonce, "s3cret").unwrap()
        );
        assert!(respond_with(b"caching_sha2_password", &backend_nonce, &cred).is_err());
        assert!(!format!("{cred:?}").contains("s3cret"));
    }
}
