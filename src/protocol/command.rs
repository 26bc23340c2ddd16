//! Command bytes of the client/server protocol (the first byte of every client command packet).

pub const COM_SLEEP: u8 = 0x00;
pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_SHUTDOWN: u8 = 0x08;
pub const COM_STATISTICS: u8 = 0x09;
pub const COM_PROCESS_INFO: u8 = 0x0A;
pub const COM_DEBUG: u8 = 0x0D;
pub const COM_BINLOG_DUMP: u8 = 0x12;
pub const COM_REGISTER_SLAVE: u8 = 0x15;
pub const COM_PROCESS_KILL: u8 = 0x0C;
pub const COM_PING: u8 = 0x0E;
pub const COM_CHANGE_USER: u8 = 0x11;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1A;
pub const COM_SET_OPTION: u8 = 0x1B;
pub const COM_STMT_FETCH: u8 = 0x1C;
pub const COM_RESET_CONNECTION: u8 = 0x1F;

/// A short lowercase name for logs and metrics labels (bounded set).
pub fn name(cmd: u8) -> &'static str {
    match cmd {
        COM_SLEEP => "sleep",
        COM_QUIT => "quit",
        COM_INIT_DB => "init_db",
        COM_QUERY => "query",
        COM_FIELD_LIST => "field_list",
        COM_SHUTDOWN => "shutdown",
        COM_STATISTICS => "statistics",
        COM_PROCESS_INFO => "process_info",
        COM_DEBUG => "debug",
        COM_BINLOG_DUMP => "binlog_dump",
        COM_REGISTER_SLAVE => "register_slave",
        COM_PROCESS_KILL => "process_kill",
        COM_PING => "ping",
        COM_CHANGE_USER => "change_user",
        COM_STMT_PREPARE => "stmt_prepare",
        COM_STMT_EXECUTE => "stmt_execute",
        COM_STMT_SEND_LONG_DATA => "stmt_send_long_data",
        COM_STMT_CLOSE => "stmt_close",
        COM_STMT_RESET => "stmt_reset",
        COM_SET_OPTION => "set_option",
        COM_STMT_FETCH => "stmt_fetch",
        COM_RESET_CONNECTION => "reset_connection",
        _ => "other",
    }
}
