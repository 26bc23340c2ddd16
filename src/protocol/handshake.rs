//! The server side of the login: the proxy's greeting and the client's handshake response.
//!
//! The greeting carries the master's own server version and collation so applications that
//! check versions behave as with the real server; capabilities are what both the proxy and the
//! backend support. The scramble is fresh per connection.

use std::borrow::Cow;

use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::{MyDeserialize, MySerialize};
use tokio::io::{AsyncRead, AsyncWrite};

use super::auth::{self, Credential, NATIVE};
use super::error::MyError;
use super::packet::{PacketStream, ReadError};
use super::{CapabilityFlags, StatusFlags};
use crate::tls::{Stream, TlsSetup};

/// Capabilities the proxy can honour toward clients. Anything that changes the wire format in a
/// way the raw relay does not follow (compression, query attributes, optional metadata) is left
/// out. TLS (CLIENT_SSL) is added to the greeting only when a certificate is configured.
pub fn proxy_capabilities() -> CapabilityFlags {
    use CapabilityFlags as C;
    C::CLIENT_LONG_PASSWORD
        | C::CLIENT_FOUND_ROWS
        | C::CLIENT_LONG_FLAG
        | C::CLIENT_CONNECT_WITH_DB
        | C::CLIENT_ODBC
        | C::CLIENT_LOCAL_FILES
        | C::CLIENT_IGNORE_SPACE
        | C::CLIENT_PROTOCOL_41
        | C::CLIENT_INTERACTIVE
        | C::CLIENT_IGNORE_SIGPIPE
        | C::CLIENT_TRANSACTIONS
        | C::CLIENT_RESERVED
        | C::CLIENT_SECURE_CONNECTION
        | C::CLIENT_MULTI_STATEMENTS
        | C::CLIENT_MULTI_RESULTS
        | C::CLIENT_PS_MULTI_RESULTS
        | C::CLIENT_PLUGIN_AUTH
        | C::CLIENT_CONNECT_ATTRS
        | C::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | C::CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS
        | C::CLIENT_SESSION_TRACK
        | C::CLIENT_DEPRECATE_EOF
}

/// What the proxy knows of the backend servers, for its greeting.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: Vec<u8>,
    pub capabilities: CapabilityFlags,
    pub collation: u8,
}

impl ServerInfo {
    /// Used only until any backend has been reached.
    pub fn fallback() -> Self {
        ServerInfo {
            version: b"5.5.5-10.11.0-MariaDB-rwsplit".to_vec(),
            capabilities: proxy_capabilities(),
            collation: 45, // utf8mb4_general_ci
        }
    }

    pub fn from_greeting(g: &HandshakePacket<'_>) -> Self {
        ServerInfo {
            version: g.server_version_ref().to_vec(),
            capabilities: g.capabilities(),
            collation: g.default_collation(),
        }
    }
}

/// A client that has proven who it is.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub db: Option<String>,
    pub capabilities: CapabilityFlags,
    pub collation: u8,
    /// The client's connection attributes as it sent them (length-encoded key/value pairs,
    /// checked well-formed): decoded only when a backend login passes them on, which a
    /// session served from the pool never does.
    pub attributes: Vec<u8>,
}

/// The (key, value) pairs of a connection attribute block kept in [`Login::attributes`].
pub fn decode_attributes(raw: &[u8]) -> Vec<(String, String)> {
    use mysql_common::misc::raw::bytes::LenEnc;
    use mysql_common::misc::raw::RawBytes;
    let mut buf = ParseBuf(raw);
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (Ok(k), Ok(v)) = (
            buf.parse::<RawBytes<'_, LenEnc>>(()),
            buf.parse::<RawBytes<'_, LenEnc>>(()),
        ) else {
            break;
        };
        out.push((k.as_str().into_owned(), v.as_str().into_owned()));
    }
    out
}

/// Why a login failed. `Refused` errors were already sent to the client; for `BadPassword`
/// the caller answers (after the delay of `login_throttle`).
#[derive(Debug)]
pub enum LoginError {
    Refused(MyError),
    BadPassword { user: String, with_password: bool },
    Read(ReadError),
    Io(std::io::Error),
}

/// For log lines: the error as a client would read it (`ERROR 1045 (28000): …`), never the
/// SQLSTATE as a byte array.
impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Refused(e) => e.fmt(f),
            LoginError::BadPassword { user, .. } => write!(f, "wrong password for {user}"),
            LoginError::Read(e) => write!(f, "client read failed: {e}"),
            LoginError::Io(e) => write!(f, "client connection failed: {e}"),
        }
    }
}

impl From<std::io::Error> for LoginError {
    fn from(e: std::io::Error) -> Self {
        LoginError::Io(e)
    }
}

impl From<ReadError> for LoginError {
    fn from(e: ReadError) -> Self {
        LoginError::Read(e)
    }
}

/// The client's host in access-denied messages, as a server running with skip-name-resolve
/// (the usual production setting, and what the proxy's own backends see) shows it: the IP
/// address, `'app'@'127.0.0.1'`, never a resolved name.
pub fn host_label(peer: &std::net::SocketAddr) -> String {
    match peer.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_else(|| v6.to_string()),
        ip => ip.to_string(),
    }
}

/// Sends the greeting, reads the handshake response and verifies the password.
/// `password_of` returns the configured password of a user, if proxy.toml has one (needed for
/// caching_sha2 fast auth). The caller checks a native answer (see `Accepted`), answers a
/// wrong password (`LoginError::BadPassword`, through `login_throttle`) and owes the client the
/// final OK packet.
pub async fn accept_login<F>(
    client: &mut PacketStream<Stream>,
    connection_id: u32,
    info: &ServerInfo,
    tls: &TlsSetup,
    password_of: F,
) -> Result<Accepted, LoginError>
where
    F: Fn(&str) -> Option<String>,
{
    let scramble = auth::new_scramble();
    let mut offered =
        proxy_capabilities() & (info.capabilities | CapabilityFlags::CLIENT_PLUGIN_AUTH);
    if tls.acceptor.is_some() {
        offered |= CapabilityFlags::CLIENT_SSL;
    }
    let mut scramble_2 = scramble[8..].to_vec();
    scramble_2.push(0);
    let greeting = HandshakePacket::new(
        10,
        Cow::Borrowed(&info.version[..]),
        connection_id,
        scramble[..8].try_into().expect("8 bytes"),
        Some(scramble_2),
        offered,
        info.collation,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(NATIVE.as_bytes()),
    );
    let mut buf = Vec::with_capacity(128);
    greeting.serialize(&mut buf);
    client.reset_seq();
    client.write_packet(&buf).await?;

    let mut packet = Vec::new();
    if tls.acceptor.is_some() {
        // It may be a TLS request with the TLS handshake right behind it: read no further.
        client.read_packet_exact(&mut packet).await?;
    } else {
        client.read_packet(&mut packet).await?;
    }
    let mut secure = false;
    if is_tls_request(&packet) {
        let Some(acceptor) = &tls.acceptor else {
            let e = MyError::bad_handshake();
            client.write_packet(&e.to_payload()).await?;
            return Err(LoginError::Refused(e));
        };
        let plain = std::mem::take(&mut client.stream);
        client.stream = plain.accept_tls(acceptor).await?;
        secure = true;
        client.read_packet(&mut packet).await?;
    }
    if tls.require_client && !secure {
        let e = MyError::insecure_transport();
        client.write_packet(&e.to_payload()).await?;
        return Err(LoginError::Refused(e));
    }
    let Some(ClientResponse {
        login,
        auth_data: mut data,
        plugin,
    }) = parse_response(&packet, offered)
    else {
        let e = MyError::bad_handshake();
        client.write_packet(&e.to_payload()).await?;
        return Err(LoginError::Refused(e));
    };
    let user = login.user.clone();
    let password = password_of(&user);

    let switch_to_native = match &plugin {
        Some(AuthPlugin::MysqlNativePassword) | None => false,
        // caching_sha2 fast auth needs the password itself: only for users in proxy.toml.
        Some(AuthPlugin::CachingSha2Password) => password.is_none(),
        Some(_) => true,
    };
    if switch_to_native {
        // Ask the client to answer in mysql_native_password instead.
        let mut sw = Vec::new();
        AuthSwitchRequest::new(NATIVE.as_bytes(), &buf_with_nul(&scramble)[..]).serialize(&mut sw);
        client.write_packet(&sw).await?;
        client.read_packet(&mut data).await?;
    } else if let (Some(AuthPlugin::CachingSha2Password), Some(pw)) = (&plugin, password) {
        if !auth::verify_sha2(&scramble, &pw, &data) {
            return Err(LoginError::BadPassword {
                user,
                with_password: !data.is_empty(),
            });
        }
        // fast_auth_success, then the caller's OK
        client.write_packet(&[0x01, 0x03]).await?;
        return Ok(Accepted {
            login,
            scramble,
            answer: data,
            credential: Some(Credential::Password(pw)),
        });
    }
    Ok(Accepted {
        login,
        scramble,
        answer: data,
        credential: None,
    })
}

/// A client whose handshake is complete; unless `credential` is set, its mysql_native_password
/// `answer` to `scramble` still has to be checked (possibly against accounts loaded from the
/// master, which takes a round trip the handshake code does not make itself).
pub struct Accepted {
    pub login: Login,
    pub scramble: [u8; 20],
    pub answer: Vec<u8>,
    pub credential: Option<Credential>,
}

/// Sends ER_ACCESS_DENIED_ERROR the way the server words it.
pub async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut PacketStream<S>,
    user: &str,
    peer: &std::net::SocketAddr,
    with_password: bool,
) -> LoginError {
    // Formatted only here: a login that succeeds never needs the client's host as text.
    let e = MyError::access_denied(user, &host_label(peer), with_password);
    match client.write_packet(&e.to_payload()).await {
        Ok(()) => LoginError::Refused(e),
        Err(io) => LoginError::Io(io),
    }
}

fn buf_with_nul(s: &[u8; 20]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

/// A decoded handshake response: who the client says it is, and its first auth answer.
#[derive(Debug)]
pub struct ClientResponse {
    pub login: Login,
    pub auth_data: Vec<u8>,
    pub plugin: Option<AuthPlugin<'static>>,
}

/// The short SSLRequest packet a client sends instead of its login when it wants TLS: the
/// first 32 bytes of a handshake response, with CLIENT_SSL set.
pub fn is_tls_request(packet: &[u8]) -> bool {
    packet.len() == 32
        && CapabilityFlags::from_bits_truncate(u32::from_le_bytes([
            packet[0], packet[1], packet[2], packet[3],
        ]))
        .contains(CapabilityFlags::CLIENT_SSL)
}

/// Decodes a client's handshake response. None for anything the proxy cannot serve: a
/// malformed packet or a pre-4.1 client. `offered` is what the greeting offered; the login
/// keeps only the capabilities both sides have that shape the wire format (TLS is a property
/// of the connection, not of the login, so CLIENT_SSL is dropped).
pub fn parse_response(packet: &[u8], offered: CapabilityFlags) -> Option<ClientResponse> {
    use mysql_common::misc::raw::bytes::LenEnc;
    use mysql_common::misc::raw::{RawBytes, RawInt};
    let caps =
        CapabilityFlags::from_bits_truncate(u32::from_le_bytes(packet.get(..4)?.try_into().ok()?));
    // mysql_common decodes connection attributes into hash maps, which cost more than the rest
    // of the login: it parses a copy without the attributes flag, and the attribute block left
    // over is only checked here and kept as bytes.
    let mut copy;
    let unflagged = if caps.contains(CapabilityFlags::CLIENT_CONNECT_ATTRS) {
        copy = packet.to_vec();
        let without = caps - CapabilityFlags::CLIENT_CONNECT_ATTRS;
        copy[..4].copy_from_slice(&without.bits().to_le_bytes());
        &copy[..]
    } else {
        packet
    };
    let mut buf = ParseBuf(unflagged);
    let resp = HandshakeResponse::deserialize((), &mut buf).ok()?;
    if !caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return None;
    }
    let mut attributes = Vec::new();
    if caps.contains(CapabilityFlags::CLIENT_CONNECT_ATTRS) {
        let len = buf.parse::<RawInt<LenEnc>>(()).ok()?.0 as usize;
        let mut block: ParseBuf<'_> = buf.parse(len).ok()?;
        attributes = block.0.to_vec();
        while !block.is_empty() {
            block.parse::<RawBytes<'_, LenEnc>>(()).ok()?;
            block.parse::<RawBytes<'_, LenEnc>>(()).ok()?;
        }
    }
    let db = resp
        .db_name()
        .filter(|d| !d.is_empty())
        .map(|d| String::from_utf8_lossy(d).into_owned());
    let login = Login {
        user: String::from_utf8_lossy(resp.user()).into_owned(),
        db,
        capabilities: caps & offered & !CapabilityFlags::CLIENT_SSL,
        collation: resp.collation(),
        attributes,
    };
    Some(ClientResponse {
        login,
        auth_data: resp.scramble_buf().to_vec(),
        plugin: resp.auth_plugin().cloned().map(|p| p.into_owned()),
    })
}

/// The fields of a COM_CHANGE_USER the proxy needs (mysql_common can build this packet but
/// has no getters for a received one): user, database, and the new character set if sent.
pub fn parse_change_user(pkt: &[u8]) -> Option<(String, Option<String>, Option<u8>)> {
    let rest = pkt.strip_prefix(&[0x11])?;
    let nul = rest.iter().position(|&b| b == 0)?;
    let user = String::from_utf8_lossy(&rest[..nul]).into_owned();
    let rest = &rest[nul + 1..];
    // CLIENT_SECURE_CONNECTION is required of clients, so auth data is length-prefixed.
    let auth_len = *rest.first()? as usize;
    let rest = rest.get(1 + auth_len..)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    let db = Some(String::from_utf8_lossy(&rest[..nul]).into_owned()).filter(|d| !d.is_empty());
    let rest = &rest[nul + 1..];
    let charset = rest.get(..2).map(|c| c[0]);
    Some((user, db, charset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_user_fields() {
        let mut p = vec![0x11];
        p.extend_from_slice(b"app\0");
        p.push(20);
        p.extend_from_slice(&[9u8; 20]);
        p.extend_from_slice(b"rwtest\0");
        p.extend_from_slice(&[45, 0]);
        p.extend_from_slice(b"mysql_native_password\0");
        assert_eq!(
            parse_change_user(&p),
            Some(("app".into(), Some("rwtest".into()), Some(45)))
        );
        assert_eq!(parse_change_user(&p[..10]), None);
        assert_eq!(parse_change_user(b""), None);
    }

    /// A handshake response as mysql_common's client side writes it.
    fn response(attrs: Option<&[(&str, &str)]>) -> Vec<u8> {
        use std::collections::HashMap;
        let caps = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_CONNECT_WITH_DB
            | CapabilityFlags::CLIENT_CONNECT_ATTRS;
        let attrs: Option<HashMap<String, String>> = attrs.map(|a| {
            a.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        });
        let resp = HandshakeResponse::new(
            Some(&[7u8; 20][..]),
            (10, 11, 0),
            Some(&b"app"[..]),
            Some(&b"shop"[..]),
            Some(AuthPlugin::from_bytes(NATIVE.as_bytes())),
            caps,
            attrs,
            1 << 24,
        );
        let mut buf = Vec::new();
        resp.serialize(&mut buf);
        buf
    }

    #[test]
    fn connection_attributes_are_kept_as_sent_and_decoded_on_demand() {
        let offered = CapabilityFlags::all();
        let attrs = [("_client_name", "libmariadb"), ("program_name", "php-fpm")];
        let r = parse_response(&response(Some(&attrs)), offered).expect("parses");
        assert_eq!(r.login.user, "app");
        assert_eq!(r.login.db.as_deref(), Some("shop"));
        assert_eq!(r.auth_data, vec![7u8; 20]);
        assert!(r
            .login
            .capabilities
            .contains(CapabilityFlags::CLIENT_CONNECT_ATTRS));
        let mut got = decode_attributes(&r.login.attributes);
        got.sort();
        let want: Vec<(String, String)> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);

        // No attributes: an empty block.
        let r = parse_response(&response(None), offered).expect("parses");
        assert!(decode_attributes(&r.login.attributes).is_empty());
    }

    #[test]
    fn a_malformed_attribute_block_refuses_the_login() {
        let mut p = response(Some(&[("k", "v")]));
        // The last value claims more bytes than the packet has.
        let n = p.len();
        p[n - 2] = 40;
        assert!(parse_response(&p, CapabilityFlags::all()).is_none());
        // The block's length runs past the end.
        let p = response(Some(&[("key", "value")]));
        assert!(parse_response(&p[..p.len() - 3], CapabilityFlags::all()).is_none());
    }
}
