//! ERR packets the proxy itself must send. Every one mirrors what a MariaDB server sends in the
//! same situation (code, SQLSTATE, message format), so clients handle them as they already do.

use mysql_common::io::ParseBuf;
use mysql_common::packets::{ErrPacket, ServerError, SqlState};
use mysql_common::proto::{MyDeserialize, MySerialize};

use super::CapabilityFlags;

/// A server-style error: code, SQLSTATE and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyError {
    pub code: u16,
    pub state: [u8; 5],
    pub message: String,
}

impl MyError {
    pub fn new(code: u16, state: &[u8; 5], message: impl Into<String>) -> Self {
        MyError {
            code,
            state: *state,
            message: message.into(),
        }
    }

    /// ER_ACCESS_DENIED_ERROR, exactly as the server words it.
    pub fn access_denied(user: &str, host: &str, with_password: bool) -> Self {
        let using = if with_password { "YES" } else { "NO" };
        Self::new(
            1045,
            b"28000",
            format!("Access denied for user '{user}'@'{host}' (using password: {using})"),
        )
    }

    /// ER_UNKNOWN_COM_ERROR: what a server answers to a command byte it does not implement.
    pub fn unknown_command() -> Self {
        Self::new(1047, b"08S01", "Unknown command")
    }

    /// ER_SPECIFIC_ACCESS_DENIED_ERROR: what a server answers an account without `privilege`
    /// for a command that needs it (COM_SHUTDOWN, COM_DEBUG, COM_BINLOG_DUMP). The proxy never
    /// passes those commands on, whatever the account may do.
    pub fn specific_access_denied(privilege: &str) -> Self {
        Self::new(
            1227,
            b"42000",
            format!(
                "Access denied; you need (at least one of) the {privilege} privilege(s) for this operation"
            ),
        )
    }

    /// ER_NET_PACKETS_OUT_OF_ORDER: a packet whose sequence id is not the next one; the
    /// server answers this and closes the connection.
    pub fn packets_out_of_order() -> Self {
        Self::new(1156, b"08S01", "Got packets out of order")
    }

    /// ER_NET_PACKET_TOO_LARGE.
    pub fn packet_too_large() -> Self {
        Self::new(
            1153,
            b"08S01",
            "Got a packet bigger than 'max_allowed_packet' bytes",
        )
    }

    /// ER_UNKNOWN_STMT_HANDLER for a statement id the client never prepared.
    pub fn unknown_stmt(id: u32, func: &str) -> Self {
        Self::new(
            1243,
            b"HY000",
            format!("Unknown prepared statement handler ({id}) given to {func}"),
        )
    }

    /// ER_WRONG_ARGUMENTS for a malformed command payload.
    pub fn wrong_arguments(func: &str) -> Self {
        Self::new(1210, b"HY000", format!("Incorrect arguments to {func}"))
    }

    /// ER_CON_COUNT_ERROR.
    pub fn too_many_connections() -> Self {
        Self::new(1040, b"08004", "Too many connections")
    }

    /// ER_SECURE_TRANSPORT_REQUIRED, as MySQL 8 and MariaDB 11.4 word it, for a plain client
    /// when `require_client_tls` is set. (MariaDB 10.11 answers such a client with a bare
    /// "Access denied"; the newer, explicit error is the one that tells the operator why.)
    pub fn insecure_transport() -> Self {
        Self::new(
            3159,
            b"08004",
            "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
        )
    }

    /// ER_TOO_MANY_USER_CONNECTIONS, worded as the server words it.
    pub fn too_many_user_connections(user: &str) -> Self {
        Self::new(
            1203,
            b"42000",
            format!("User {user} already has more than 'max_user_connections' active connections"),
        )
    }

    /// ER_HANDSHAKE_ERROR: a client whose login packets make no sense.
    pub fn bad_handshake() -> Self {
        Self::new(1043, b"08S01", "Bad handshake")
    }

    /// A backend the statement needs cannot be reached: ER_CONNECT_TO_FOREIGN_DATA_SOURCE, the
    /// server's own code for "a server I depend on is unreachable". (Client-range codes such as
    /// 2003/2013 cannot be sent: libmariadb rejects an ERR packet carrying one as malformed.)
    pub fn backend_unavailable(role: &str, addr: &str, why: &str) -> Self {
        Self::new(
            1429,
            b"HY000",
            format!("rwsplit: {role} {addr} unavailable: {why}"),
        )
    }

    /// The backend connection broke while running the statement (before any byte of the
    /// answer reached the client): ER_CONNECTION_KILLED.
    pub fn backend_lost(role: &str, addr: &str, why: &str) -> Self {
        Self::new(
            1927,
            b"70100",
            format!("rwsplit: lost connection to {role} {addr}: {why}"),
        )
    }

    /// The ERR payload for a client that has not logged in yet (sent in place of the greeting):
    /// no capabilities are agreed, so there is no SQLSTATE marker, as from the server (clients
    /// show it as HY000).
    pub fn to_greeting_payload(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(3 + self.message.len());
        buf.push(0xFF);
        buf.extend_from_slice(&self.code.to_le_bytes());
        buf.extend_from_slice(self.message.as_bytes());
        buf
    }

    /// The encoded ERR payload (0xFF, code, '#', SQLSTATE, message).
    pub fn to_payload(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(9 + self.message.len());
        ErrPacket::Error(ServerError::new(
            self.code,
            Some(SqlState::new(self.state)),
            self.message.as_bytes(),
        ))
        .serialize(&mut buf);
        buf
    }

    /// Parses an ERR payload received from a server.
    pub fn from_payload(payload: &[u8]) -> Option<Self> {
        let caps = CapabilityFlags::CLIENT_PROTOCOL_41;
        match ErrPacket::deserialize(caps, &mut ParseBuf(payload)).ok()? {
            ErrPacket::Error(e) => Some(MyError {
                code: e.error_code(),
                state: e.sql_state_ref().map(|s| s.as_bytes()).unwrap_or(*b"HY000"),
                message: e.message_str().into_owned(),
            }),
            ErrPacket::Progress(_) => None,
        }
    }
}

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code,
            String::from_utf8_lossy(&self.state),
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_payload_round_trip() {
        let e = MyError::access_denied("app", "localhost", true);
        let p = e.to_payload();
        assert_eq!(p[0], 0xFF);
        assert_eq!(u16::from_le_bytes([p[1], p[2]]), 1045);
        assert_eq!(&p[3..9], b"#28000");
        assert_eq!(MyError::from_payload(&p), Some(e));
    }
}
