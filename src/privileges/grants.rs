//! The pure part of the read_only check: `SHOW GRANTS` lines turned into "this account may
//! write on a read_only server, through these privileges" or not, and the account-host
//! patterns of the user table matched against the address a server sees the proxy at.
//!
//! Which privileges let a write through `read_only = 1` depends on the server:
//! - MariaDB 10.11 and later: `READ_ONLY ADMIN` only (MDEV-29596 took it out of `SUPER`; a
//!   `SUPER`-only account gets 1290 on a 10.11 replica, checked against the test cluster).
//! - MariaDB 10.5–10.10: `READ_ONLY ADMIN`, and `SUPER`, which still implied it.
//! - older MariaDB and MySQL: `SUPER`; MySQL 8 also `CONNECTION_ADMIN` (MariaDB's
//!   `CONNECTION ADMIN`, with a space, is another privilege and does not bypass read_only).
//! - everywhere: `ALL [PRIVILEGES]` on `*.*`, which includes whichever of those exists.
//!
//! A privilege counts only when granted on `*.*`: `ALL PRIVILEGES ON db.*` gives no global
//! privilege. Privileges held through a role count too, whether or not the role is the
//! account's default: a client can `SET ROLE` through the proxy.
//!
//! Nothing here keeps a grant line: a line from `SHOW GRANTS` may carry the account's password
//! hash (`IDENTIFIED BY PASSWORD '*…'`), and only privilege, role and account names leave the
//! parser.

/// The kind and version of a server, from `SELECT VERSION()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    pub mariadb: bool,
    pub major: u32,
    pub minor: u32,
}

impl Flavor {
    /// `10.11.19-MariaDB-0+deb12u1-log` → MariaDB 10.11; `8.0.36` → MySQL 8.0. The
    /// greeting's form of a MariaDB version, `5.5.5-10.11.19-MariaDB…` (a prefix for old
    /// replication clients), reads the same. An unreadable version is taken as the oldest
    /// MySQL, where `SUPER` bypasses read_only (the cautious reading).
    pub fn from_version(version: &str) -> Flavor {
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        let version = match version.strip_prefix("5.5.5-") {
            Some(rest) if mariadb => rest,
            _ => version,
        };
        let mut nums = version
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        Flavor {
            mariadb,
            major: nums.next().unwrap_or(0),
            minor: nums.next().unwrap_or(0),
        }
    }

    /// The canonical name of `privilege` (upper case, single spaces) if it lets its holder
    /// write while `read_only = 1` on this server, when granted on `*.*`.
    pub fn bypass_privilege(self, privilege: &str) -> Option<&'static str> {
        let at_least = |major, minor| (self.major, self.minor) >= (major, minor);
        match privilege {
            "ALL" | "ALL PRIVILEGES" => Some("ALL PRIVILEGES"),
            "READ_ONLY ADMIN" | "READ ONLY ADMIN" => Some("READ_ONLY ADMIN"),
            "SUPER" if !(self.mariadb && at_least(10, 11)) => Some("SUPER"),
            "CONNECTION_ADMIN" if !self.mariadb => Some("CONNECTION_ADMIN"),
            _ => None,
        }
    }
}

/// Who a grant is given to: an account (`user@host`), or a role (MariaDB roles have no host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grantee {
    pub user: String,
    pub host: Option<String>,
}

/// What one `SHOW GRANTS` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `GRANT privileges ON target TO grantee`; `global` when the target is `*.*`.
    Privileges {
        privileges: Vec<String>,
        global: bool,
        grantee: Grantee,
    },
    /// `GRANT role[, role…] TO grantee` (MySQL may list several roles in one line).
    Roles {
        roles: Vec<String>,
        grantee: Grantee,
    },
    /// Anything else (`SET DEFAULT ROLE`, an unreadable line).
    Other,
}

/// One token of a grant line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word, upper-cased (keywords and privilege names).
    Word(String),
    /// A backtick- or quote-delimited name, unquoted.
    Quoted(String),
    Punct(char),
}

fn tokenize(line: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '`' | '\'' | '"' => {
                let mut s = String::new();
                while let Some(d) = chars.next() {
                    if d == c {
                        // A doubled delimiter is the delimiter itself.
                        if chars.peek() == Some(&c) {
                            chars.next();
                            s.push(c);
                            continue;
                        }
                        break;
                    }
                    if d == '\\' && c != '`' {
                        if let Some(e) = chars.next() {
                            s.push(e);
                        }
                        continue;
                    }
                    s.push(d);
                }
                out.push(Token::Quoted(s));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut s = String::from(c);
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '$' {
                        s.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(s.to_ascii_uppercase()));
            }
            c => out.push(Token::Punct(c)),
        }
    }
    out
}

fn is_word(t: &Token, w: &str) -> bool {
    matches!(t, Token::Word(x) if x == w)
}

/// A name: a quoted token, or a bare word (servers quote the names they print; a bare one
/// comes back upper-cased).
fn name(t: &Token) -> Option<String> {
    match t {
        Token::Quoted(s) | Token::Word(s) => Some(s.clone()),
        Token::Punct(_) => None,
    }
}

/// `name [@ host]` at the start of `tokens`.
fn grantee(tokens: &[Token]) -> Option<Grantee> {
    let user = name(tokens.first()?)?;
    let host = match (tokens.get(1), tokens.get(2)) {
        (Some(Token::Punct('@')), Some(h)) => Some(name(h)?),
        _ => None,
    };
    Some(Grantee { user, host })
}

/// Reads one `SHOW GRANTS` line.
pub fn parse_line(line: &str) -> Grant {
    let tokens = tokenize(line);
    if !tokens.first().is_some_and(|t| is_word(t, "GRANT")) {
        return Grant::Other;
    }
    // Top-level ON and TO (not inside a column list).
    let (mut depth, mut on, mut to) = (0i32, None, None);
    for (i, t) in tokens.iter().enumerate().skip(1) {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            _ if depth == 0 && on.is_none() && is_word(t, "ON") => on = Some(i),
            _ if depth == 0 && is_word(t, "TO") => {
                to = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(to) = to else {
        return Grant::Other;
    };
    let Some(grantee) = grantee(&tokens[to + 1..]) else {
        return Grant::Other;
    };
    match on {
        Some(on) => {
            let mut privileges = Vec::new();
            let (mut words, mut depth) = (Vec::new(), 0);
            for t in &tokens[1..on] {
                match t {
                    Token::Punct('(') => depth += 1,
                    Token::Punct(')') => depth -= 1,
                    Token::Punct(',') if depth == 0 => {
                        privileges.push(words.join(" "));
                        words.clear();
                    }
                    Token::Word(w) if depth == 0 => words.push(w.clone()),
                    _ => {}
                }
            }
            if !words.is_empty() {
                privileges.push(words.join(" "));
            }
            let target = &tokens[on + 1..to];
            let global = matches!(
                target,
                [Token::Punct('*'), Token::Punct('.'), Token::Punct('*')]
            );
            Grant::Privileges {
                privileges,
                global,
                grantee,
            }
        }
        None => {
            // name [@ host] [, name [@ host]]…: the names are the ones not after an `@`.
            let mut roles = Vec::new();
            let mut after_at = false;
            for t in &tokens[1..to] {
                match t {
                    Token::Punct('@') => after_at = true,
                    Token::Punct(',') => after_at = false,
                    Token::Punct(_) => return Grant::Other,
                    t if !after_at => roles.extend(name(t)),
                    _ => {}
                }
            }
            if roles.is_empty() {
                Grant::Other
            } else {
                Grant::Roles { roles, grantee }
            }
        }
    }
}

/// The roles granted straight to the account `user` (whatever its host) in these lines:
/// the ones to enable (`SET ROLE`) or ask about (`SHOW GRANTS FOR role`) to see their
/// privileges. Roles granted to those roles show in the server's answer for them.
pub fn direct_roles(lines: &[String], user: &str) -> Vec<String> {
    let mut roles = Vec::new();
    for line in lines {
        if let Grant::Roles {
            roles: granted,
            grantee,
        } = parse_line(line)
        {
            if grantee.user == user && grantee.host.is_some() {
                for role in granted {
                    if !roles.contains(&role) {
                        roles.push(role);
                    }
                }
            }
        }
    }
    roles
}

/// The privileges in these `SHOW GRANTS` lines (an account's, with those of its roles) that
/// let `user` write on a read_only server: `"READ_ONLY ADMIN"`, or
/// `"ALL PRIVILEGES via role dba"` for one held through a role. Empty: it cannot.
pub fn bypass_privileges(lines: &[String], user: &str, flavor: Flavor) -> Vec<String> {
    let mut found = Vec::new();
    for line in lines {
        let Grant::Privileges {
            privileges,
            global: true,
            grantee,
        } = parse_line(line)
        else {
            continue;
        };
        for p in &privileges {
            let Some(canonical) = flavor.bypass_privilege(p) else {
                continue;
            };
            let held = if grantee.user == user && grantee.host.is_some() {
                canonical.to_string()
            } else {
                format!("{canonical} via role {}", grantee.user)
            };
            if !found.contains(&held) {
                found.push(held);
            }
        }
    }
    found
}

/// Does the user table's host pattern `pattern` admit a client the server sees as `host`
/// (the host part of `USER()` on a connection from the proxy: an IP address with
/// skip-name-resolve, else the resolved name)? `%` and `_` are wildcards (case-insensitive,
/// `\` escapes), `''` is `%`, and `a.b.c.d/m.m.m.m` is an IPv4 network with its mask.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    if let Some((net, mask)) = pattern.split_once('/') {
        let parse = |s: &str| s.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
        return match (parse(net), parse(mask), parse(host)) {
            (Some(net), Some(mask), Some(ip)) => ip & mask == net,
            _ => false,
        };
    }
    like(
        &pattern.to_ascii_lowercase().chars().collect::<Vec<_>>(),
        &host.to_ascii_lowercase().chars().collect::<Vec<_>>(),
    )
}

/// SQL LIKE over characters, `\` escaping the next one.
fn like(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('%') => (0..=s.len()).any(|i| like(&p[1..], &s[i..])),
        Some('_') => !s.is_empty() && like(&p[1..], &s[1..]),
        Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && like(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && like(&p[1..], &s[1..]),
    }
}

/// The account a `SHOW GRANTS` result is about, from its column name (`Grants for app@%`):
/// the row the server picked for this login, with no statement of its own (a `SELECT
/// CURRENT_USER()` would count in the replica's `Com_select`, which operators and tests watch).
pub fn account_of_header(column: &str) -> Option<&str> {
    column.strip_prefix("Grants for ").filter(|a| !a.is_empty())
}

/// `name` as a backtick-quoted identifier (for `SHOW GRANTS FOR`, `SET ROLE`): backticks are
/// not touched by `NO_BACKSLASH_ESCAPES`, so this reads the same under any sql_mode.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARIADB_10_11: &str = "10.11.19-MariaDB-0+deb12u1-log";

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn bypass(text: &str, user: &str, version: &str) -> Vec<String> {
        bypass_privileges(&lines(text), user, Flavor::from_version(version))
    }

    #[test]
    fn flavors() {
        let f = Flavor::from_version(MARIADB_10_11);
        assert_eq!(
            f,
            Flavor {
                mariadb: true,
                major: 10,
                minor: 11
            }
        );
        let f = Flavor::from_version("8.0.36");
        assert!(!f.mariadb && f.major == 8 && f.minor == 0);
        // The greeting of MariaDB 10.x carries a prefix for old replication clients.
        assert_eq!(
            Flavor::from_version("5.5.5-10.11.19-MariaDB-0+deb12u1-log"),
            Flavor::from_version(MARIADB_10_11)
        );
        assert_eq!(Flavor::from_version("5.5.5-x").major, 5);
        // An unreadable version is read cautiously.
        assert_eq!(
            Flavor::from_version("").bypass_privilege("SUPER"),
            Some("SUPER")
        );
    }

    /// The grants of the test cluster's accounts as MariaDB 10.11 prints them.
    #[test]
    fn read_only_admin_and_all_privileges_bypass_on_mariadb_10_11() {
        let roa = "GRANT READ_ONLY ADMIN ON *.* TO `g_roa`@`%` IDENTIFIED BY PASSWORD '*7B9EBEED26AA52ED10C0F549FA863F13C39E0209'\nGRANT ALL PRIVILEGES ON `rwtest`.* TO `g_roa`@`%`";
        assert_eq!(bypass(roa, "g_roa", MARIADB_10_11), ["READ_ONLY ADMIN"]);
        let all = "GRANT ALL PRIVILEGES ON *.* TO `g_all`@`%` IDENTIFIED BY PASSWORD '*7B9EBEED26AA52ED10C0F549FA863F13C39E0209' WITH GRANT OPTION";
        assert_eq!(bypass(all, "g_all", MARIADB_10_11), ["ALL PRIVILEGES"]);
        // MySQL prints ALL without PRIVILEGES in some versions.
        assert_eq!(
            bypass("GRANT ALL ON *.* TO 'root'@'%'", "root", "8.0.36"),
            ["ALL PRIVILEGES"]
        );
    }

    #[test]
    fn all_privileges_on_a_database_does_not_bypass() {
        let db = "GRANT USAGE ON *.* TO `g_db`@`%` IDENTIFIED BY PASSWORD '*7B9EBEED26AA52ED10C0F549FA863F13C39E0209'\nGRANT ALL PRIVILEGES ON `rwtest`.* TO `g_db`@`%`\nGRANT ALL PRIVILEGES ON `rwtest`.`t` TO `g_db`@`%`";
        assert!(bypass(db, "g_db", MARIADB_10_11).is_empty());
        assert!(bypass(db, "g_db", "5.7.44").is_empty());
        // A table-level SUPER cannot exist, but a db-level ALL named `*` must not fool it.
        assert!(bypass(
            "GRANT ALL PRIVILEGES ON `*`.* TO `x`@`%`",
            "x",
            MARIADB_10_11
        )
        .is_empty());
    }

    /// The test cluster's app account: everything but SUPER and READ_ONLY ADMIN. CONNECTION
    /// ADMIN (MariaDB, with a space) is not MySQL's CONNECTION_ADMIN.
    #[test]
    fn the_application_account_of_the_test_cluster_is_clean() {
        let app = "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, SHUTDOWN, PROCESS, FILE, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, BINLOG MONITOR, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CREATE TABLESPACE, DELETE HISTORY, SET USER, FEDERATED ADMIN, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, BINLOG ADMIN, BINLOG REPLAY, SLAVE MONITOR ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*90BE3C2682EBF3427EDA20315D6EAB9E31FD1023'";
        assert!(bypass(app, "app", MARIADB_10_11).is_empty());
        let Grant::Privileges { privileges, .. } = parse_line(app) else {
            panic!("not read as privileges")
        };
        assert!(privileges.contains(&"CREATE TEMPORARY TABLES".to_string()));
        assert!(privileges.contains(&"CONNECTION ADMIN".to_string()));
    }

    /// SUPER stopped bypassing read_only in MariaDB 10.11 (a SUPER-only account got 1290 on
    /// the test cluster's replicas); before that, and on MySQL, it bypasses.
    #[test]
    fn super_depends_on_the_server() {
        let sup = "GRANT SUPER ON *.* TO `g_super`@`%` IDENTIFIED BY PASSWORD '*7B9EBEED26AA52ED10C0F549FA863F13C39E0209'";
        assert!(bypass(sup, "g_super", MARIADB_10_11).is_empty());
        assert!(bypass(sup, "g_super", "11.4.2-MariaDB").is_empty());
        assert_eq!(bypass(sup, "g_super", "10.6.18-MariaDB-log"), ["SUPER"]);
        assert_eq!(bypass(sup, "g_super", "10.3.39-MariaDB"), ["SUPER"]);
        assert_eq!(bypass(sup, "g_super", "8.0.36"), ["SUPER"]);
        let ca = "GRANT CONNECTION_ADMIN ON *.* TO `u`@`%`";
        assert_eq!(bypass(ca, "u", "8.0.36"), ["CONNECTION_ADMIN"]);
        assert!(bypass(ca, "u", MARIADB_10_11).is_empty());
        // Several at once are all named, once each.
        let both =
            "GRANT SELECT, SUPER, READ_ONLY ADMIN ON *.* TO `u`@`%`\nGRANT SUPER ON *.* TO `u`@`%`";
        assert_eq!(
            bypass(both, "u", "10.6.18-MariaDB"),
            ["SUPER", "READ_ONLY ADMIN"]
        );
    }

    /// `SHOW GRANTS` of an account whose default role holds READ_ONLY ADMIN through a nested
    /// role, as MariaDB 10.11 prints it on a connection of that account.
    #[test]
    fn roles() {
        let g_r = "GRANT `g_outer` TO `g_r`@`%`\nGRANT USAGE ON *.* TO `g_r`@`%` IDENTIFIED BY PASSWORD '*7B9EBEED26AA52ED10C0F549FA863F13C39E0209'\nGRANT ALL PRIVILEGES ON `rwtest`.* TO `g_r`@`%`\nGRANT `g_role` TO `g_outer`\nGRANT USAGE ON *.* TO `g_outer`\nGRANT READ_ONLY ADMIN ON *.* TO `g_role`\nSET DEFAULT ROLE `g_outer` FOR `g_r`@`%`";
        assert_eq!(
            bypass(g_r, "g_r", MARIADB_10_11),
            ["READ_ONLY ADMIN via role g_role"]
        );
        // Only the role granted to the account itself is to be enabled; the nested one
        // comes with it.
        assert_eq!(direct_roles(&lines(g_r), "g_r"), ["g_outer"]);
        assert_eq!(
            parse_line("GRANT `g_role` TO `g_outer`"),
            Grant::Roles {
                roles: vec!["g_role".into()],
                grantee: Grantee {
                    user: "g_outer".into(),
                    host: None
                }
            }
        );
        // A role that is not the default shows only as granted; its privileges are read
        // separately (SET ROLE / SHOW GRANTS FOR it).
        let g_r2 = "GRANT `g_role` TO `g_r2`@`%`\nGRANT USAGE ON *.* TO `g_r2`@`%` IDENTIFIED BY PASSWORD '*7B9EBEED26AA52ED10C0F549FA863F13C39E0209'";
        assert!(bypass(g_r2, "g_r2", MARIADB_10_11).is_empty());
        assert_eq!(direct_roles(&lines(g_r2), "g_r2"), ["g_role"]);
        // MySQL 8 roles have hosts, may be granted with ADMIN OPTION, several in one line.
        assert_eq!(
            parse_line("GRANT `dba`@`%`,`ops`@`%` TO `u`@`%` WITH ADMIN OPTION"),
            Grant::Roles {
                roles: vec!["dba".into(), "ops".into()],
                grantee: Grantee {
                    user: "u".into(),
                    host: Some("%".into())
                }
            }
        );
    }

    #[test]
    fn lines_that_are_not_global_privileges() {
        assert_eq!(
            parse_line("SET DEFAULT ROLE `g_outer` FOR `g_r`@`%`"),
            Grant::Other
        );
        assert!(matches!(
            parse_line("GRANT PROXY ON ''@'%' TO 'u'@'%' WITH GRANT OPTION"),
            Grant::Privileges { global: false, .. }
        ));
        assert!(matches!(
            parse_line("GRANT EXECUTE ON PROCEDURE `db`.`p` TO `u`@`%`"),
            Grant::Privileges { global: false, .. }
        ));
        // Column lists: their commas and names (even `on`, `to`) are no privileges.
        let Grant::Privileges {
            privileges,
            global,
            grantee,
        } = parse_line("GRANT SELECT (`on`, `to`), UPDATE (`a`) ON `db`.`t` TO `u`@`h`")
        else {
            panic!()
        };
        assert_eq!(privileges, ["SELECT", "UPDATE"]);
        assert!(!global);
        assert_eq!(grantee.host.as_deref(), Some("h"));
        // Quotes of every kind, escaped delimiters.
        assert_eq!(
            parse_line("GRANT SUPER ON *.* TO 'o''neil'@'10.%'"),
            Grant::Privileges {
                privileges: vec!["SUPER".into()],
                global: true,
                grantee: Grantee {
                    user: "o'neil".into(),
                    host: Some("10.%".into())
                }
            }
        );
        assert_eq!(parse_line("garbage"), Grant::Other);
        assert_eq!(parse_line("GRANT"), Grant::Other);
    }

    #[test]
    fn host_patterns() {
        assert!(host_matches("%", "127.0.0.1"));
        assert!(host_matches("", "10.1.2.3"));
        assert!(host_matches("127.0.0.1", "127.0.0.1"));
        assert!(!host_matches("localhost", "127.0.0.1"));
        assert!(host_matches("LOCALHOST", "localhost"));
        assert!(host_matches("10.0.%", "10.0.3.4"));
        assert!(!host_matches("10.0.%", "10.1.3.4"));
        assert!(host_matches("10.0.0._", "10.0.0.7"));
        assert!(!host_matches("10.0.0._", "10.0.0.17"));
        assert!(host_matches("%.example.com", "web1.example.com"));
        assert!(host_matches("10.0.0.0/255.255.255.0", "10.0.0.200"));
        assert!(!host_matches("10.0.0.0/255.255.255.0", "10.0.1.1"));
        assert!(!host_matches("10.0.0.0/255.255.255.0", "web1"));
        assert!(host_matches("a\\_b", "a_b"));
        assert!(!host_matches("a\\_b", "axb"));
    }

    #[test]
    fn the_account_from_the_header() {
        assert_eq!(account_of_header("Grants for app@%"), Some("app@%"));
        assert_eq!(account_of_header("Grants for "), None);
        assert_eq!(account_of_header("Grants"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("g_role"), "`g_role`");
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
    }
}
