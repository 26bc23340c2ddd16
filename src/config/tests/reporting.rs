//! How problems are reported: file:line:column and key, unknown keys, wrong types, syntax
//! errors, every problem in one pass, reading the file.

use super::*;

#[test]
fn display_format_is_file_line_column_key_message() {
    let err = parse(&minimal_with("[routing]\nconsistency = \"strong\"\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "proxy.toml:8:15: key `routing.consistency`: expected one of eventual, session, \
             global, got \"strong\""
    );
}

#[test]
fn unknown_keys_are_errors_with_line_and_key() {
    let (line, key, msg) = one_problem(&format!("bogus = 1\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "bogus"));
    assert!(
        msg.starts_with("unknown key, expected one of `listen`, `master`"),
        "{msg}"
    );
    // After [[users]], a key belongs to that table.
    let (line, key, msg) = one_problem(&minimal_with("bogus = 1\n"));
    assert_eq!((line, key.as_str()), (7, "users[0].bogus"));
    assert!(msg.contains("unknown field `bogus`"), "{msg}");
    let (line, key, msg) = one_problem(&minimal_with("[limits]\nmax_conns = 5\n"));
    assert_eq!((line, key.as_str()), (8, "limits.max_conns"));
    assert!(msg.contains("unknown field `max_conns`"), "{msg}");
    // [master] has no weight.
    let (line, key, _) = one_problem(
        "[master]\naddress = \"a:1\"\nweight = 2\n[[users]]\nname = \"u\"\npassword = \"p\"\n",
    );
    assert_eq!((line, key.as_str()), (3, "master.weight"));
    // Unknown key in the second [[replicas]].
    let (line, key, _) = one_problem(&minimal_with(
        "[[replicas]]\naddress = \"r1:3306\"\n[[replicas]]\naddress = \"r2:3306\"\nport = 1\n",
    ));
    assert_eq!((line, key.as_str()), (11, "replicas[1].port"));
    // Unknown section.
    let (line, key, msg) = one_problem(&minimal_with("[loging]\nlevel = \"info\"\n"));
    assert_eq!((line, key.as_str()), (7, "loging"));
    assert!(msg.contains("expected one of"), "{msg}");
}

#[test]
fn type_errors_name_key_and_line() {
    let (line, key, msg) = one_problem(&minimal_with("[limits]\nhandshake_timeout = 5\n"));
    assert_eq!((line, key.as_str()), (8, "limits.handshake_timeout"));
    assert!(
        msg.contains("expected a duration string") && msg.contains("integer (5)"),
        "{msg}"
    );
    let (line, key, msg) = one_problem(&minimal_with("[routing]\nfallback_to_master = \"yes\"\n"));
    assert_eq!((line, key.as_str()), (8, "routing.fallback_to_master"));
    assert!(msg.contains("expected true or false"), "{msg}");
    let (line, key, _) = one_problem(&minimal_with("listen = 3306\n"));
    // A top-level key after a table belongs to that table in TOML; here it lands in
    // users[0]. Put it first instead:
    let _ = (line, key);
    let (line, key, msg) = one_problem(&format!("listen = 3306\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "listen"));
    assert!(msg.contains("host:port"), "{msg}");
    let (line, key, msg) =
        one_problem("master = \"a:1\"\n[[users]]\nname = \"u\"\npassword = \"p\"\n");
    assert_eq!((line, key.as_str()), (1, "master"));
    assert!(msg.contains("[master] table"), "{msg}");
    let (line, key, msg) = one_problem(&minimal_with(
        "[[replicas]]\naddress = \"r:1\"\nweight = \"2\"\n",
    ));
    assert_eq!((line, key.as_str()), (9, "replicas[0].weight"));
    assert!(msg.contains("expected an integer"), "{msg}");
}

#[test]
fn syntax_errors_have_line_and_key() {
    let ps = problems("[master]\naddress = \"m:1\"\naddress = \"m:2\"\n");
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!((ps[0].0, ps[0].1.as_str()), (3, "master.address"));
    assert!(ps[0].2.contains("duplicate key"), "{}", ps[0].2);
    let (line, key, _) = one_problem("listen = \"127.0.0.1:3306\n[master]\naddress = \"m:1\"\n");
    assert_eq!((line, key.as_str()), (1, "listen"));
    let (line, key, _) = one_problem(&minimal_with(
        "[[replicas]]\naddress = \"r:1\"\n[[replicas]]\naddress = r:2\n",
    ));
    assert_eq!((line, key.as_str()), (10, "replicas[1].address"));
}

#[test]
fn many_problems_reported_in_one_pass_in_file_order() {
    let text = r#"bogus = true
[master]
address = "m"
[[replicas]]
address = "r:1"
weight = 9000
[[users]]
name = "u"
password = "env:UNSET_VAR"
[limits]
handshake_timeout = "5"
max_packet_size = "lots"
max_client_connections = 0
[routing]
consistency = "strong"
consistency_wait = 100
[log]
format = "yaml"
"#;
    let ps = problems(text);
    let got: Vec<(usize, &str)> = ps.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (1, "bogus"),
            (3, "master.address"),
            (6, "replicas[0].weight"),
            (9, "users[0].password"),
            (11, "limits.handshake_timeout"),
            (12, "limits.max_packet_size"),
            (13, "limits.max_client_connections"),
            (15, "routing.consistency"),
            (16, "routing.consistency_wait"),
            (18, "log.format"),
        ]
    );
    let shown = parse(text).unwrap_err().to_string();
    assert_eq!(shown.lines().count(), 10);
    assert!(
        shown.lines().all(|l| l.starts_with("proxy.toml:")),
        "{shown}"
    );
}

#[test]
fn columns_count_characters() {
    let text = format!("# ünïcödé\n{MINIMAL}[log]\nformat = \"ü\"\n");
    let err = parse(&text).unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(
        p.location,
        Some(Location {
            line: 9,
            column: 10
        })
    );
    assert_eq!(line_col("aé\nxé", 7), (2, 3));
    assert_eq!(line_col("aé\nxé", 6), (2, 2)); // inside a character: its start
    assert_eq!(line_col("ab", 99), (1, 3));
}

#[test]
fn from_file_reads_and_names_the_file() {
    let dir = std::env::temp_dir().join(format!("rwsplit-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("proxy.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(
        Config::from_file(&path).unwrap().master.address,
        "db.internal:3306"
    );
    std::fs::write(&path, format!("{MINIMAL}[log]\nformat = \"xml\"\n")).unwrap();
    let err = Config::from_file(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:8:10: key `log.format`", path.display())),
        "{err}"
    );
    std::fs::write(&path, format!("{MINIMAL}[timeouts]\nkeepalive = \"0s\"\n")).unwrap();
    assert_eq!(Config::from_file(&path).unwrap().timeouts.keepalive, None);
    std::fs::write(&path, b"\xff\xfe").unwrap();
    let err = Config::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("not valid UTF-8"), "{err}");
    let missing = dir.join("missing.toml");
    let err = Config::from_file(&missing).unwrap_err();
    assert_eq!(err.problems()[0].location, None);
    assert!(err
        .to_string()
        .starts_with(&format!("{}: cannot read the file", missing.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_error_is_a_std_error() {
    fn takes(_: &dyn std::error::Error) {}
    let err = parse("").unwrap_err();
    takes(&err);
    assert_eq!(err.problems().len(), 2); // no [master], no [[users]]
}
