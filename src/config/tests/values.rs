//! Value formats: durations, sizes, addresses, weights, enums, log levels, `env:NAME`
//! passwords, and secrets kept out of every output.

use super::*;

#[test]
fn bad_durations() {
    for (value, needle) in [
        ("\"10\"", "missing unit"),
        ("\"10x\"", "unknown unit \\\"x\\\""),
        ("\"1.5s\"", "fractions"),
        ("\"\"", "empty"),
        ("\"s\"", "use a number"),
        ("\"99999999999999999999s\"", "too large"),
    ] {
        let (line, key, msg) = one_problem(&minimal_with(&format!(
            "[routing]\nconsistency_wait = {value}\n"
        )));
        assert_eq!(
            (line, key.as_str()),
            (8, "routing.consistency_wait"),
            "{value}"
        );
        assert!(msg.contains("invalid duration"), "{value}: {msg}");
        assert!(
            msg.contains(needle.replace("\\\"", "\"").as_str()),
            "{value}: {msg}"
        );
    }
    let (_, key, msg) = one_problem(&minimal_with("[limits]\nhandshake_timeout = \"0s\"\n"));
    assert_eq!(key, "limits.handshake_timeout");
    assert!(msg.contains("greater than zero"), "{msg}");
    let (_, key, _) = one_problem(&minimal_with(
        "[monitor]\nuser=\"m\"\npassword=\"p\"\ninterval = \"0ms\"\n",
    ));
    assert_eq!(key, "monitor.interval");
}

#[test]
fn duration_parser() {
    let d = |s| parse_duration(s).unwrap();
    assert_eq!(d("500ms"), Duration::from_millis(500));
    assert_eq!(d("10s"), Duration::from_secs(10));
    assert_eq!(d("1m"), Duration::from_secs(60));
    assert_eq!(d("8h"), Duration::from_secs(8 * 3600));
    assert_eq!(d("2d"), Duration::from_secs(2 * 86400));
    assert_eq!(d("1h30m"), Duration::from_secs(5400));
    assert_eq!(d("1s500ms"), Duration::from_millis(1500));
    assert_eq!(d("0"), Duration::ZERO);
    assert_eq!(d("0s"), Duration::ZERO);
    for bad in [
        "", "10", "ms", "10 s", "10S", "1.5s", "-1s", "10sec", "1h 30m",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn sizes() {
    let s = |t| parse_size(t).unwrap();
    assert_eq!(s("1024"), 1024);
    assert_eq!(s("64MiB"), 64 << 20);
    assert_eq!(s("64M"), 64 << 20);
    assert_eq!(s("16MB"), 16_000_000);
    assert_eq!(s("1 GiB"), 1 << 30);
    assert_eq!(s("512kib"), 512 << 10);
    assert_eq!(s("100B"), 100);
    for bad in ["", "MiB", "1.5MiB", "64XB", "-1", "99999999999GiB"] {
        assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
    }
    let c = ok(&minimal_with("[limits]\nmax_packet_size = \"16MB\"\n"));
    assert_eq!(c.limits.max_packet_size, 16_000_000);
    let c = ok(&minimal_with("[limits]\nmax_packet_size = \"1024\"\n"));
    assert_eq!(c.limits.max_packet_size, 1024);
    assert!(!c.limits.max_packet_auto);
    let c = ok(&minimal_with("[limits]\nmax_packet_size = \"auto\"\n"));
    assert!(c.limits.max_packet_auto);
    assert_eq!(
        c.limits.max_packet_size,
        64 << 20,
        "until the servers' own is known"
    );
    assert!(ok(&minimal_with("")).limits.max_packet_auto);

    let (line, key, msg) = one_problem(&minimal_with("[limits]\nmax_packet_size = \"64XB\"\n"));
    assert_eq!((line, key.as_str()), (8, "limits.max_packet_size"));
    assert!(msg.contains("invalid size \"64XB\""), "{msg}");
    let (_, _, msg) = one_problem(&minimal_with("[limits]\nmax_packet_size = \"2GiB\"\n"));
    assert!(msg.contains("between 1KiB and 1GiB"), "{msg}");
    let (_, _, msg) = one_problem(&minimal_with("[limits]\nmax_packet_size = -5\n"));
    assert!(msg.contains("negative"), "{msg}");
}

#[test]
fn address_syntax() {
    let good = [
        "10.0.0.10:3306",
        "db.internal:3306",
        "localhost:1",
        "my_db:65535",
        "[::1]:3306",
        "[2001:db8::10]:3306",
        "DB-1.Example.com.:3306",
    ];
    for a in good {
        assert!(
            parse_host_port(a).is_ok(),
            "{a} should be accepted: {:?}",
            parse_host_port(a)
        );
    }
    let bad = [
        ("10.0.0.10", "missing port"),
        ("10.0.0.10:", "missing port"),
        (":3306", "missing host"),
        ("10.0.0.10:0", "out of range"),
        ("10.0.0.10:65536", "out of range"),
        ("10.0.0.10:99999999999", "out of range"),
        ("10.0.0.10:33a", "not a number"),
        ("10.0.0.10:+1", "not a number"),
        ("10.0.0.256:3306", "not a valid IPv4"),
        ("::1:3306", "brackets"),
        ("[::1]", "missing port"),
        ("[::1:3306", "missing `]`"),
        ("[zz::1]:3306", "not a valid IPv6"),
        ("-db:3306", "not a valid host name"),
        ("db..x:3306", "not a valid host name"),
        ("db x:3306", "whitespace"),
        ("http://db:3306", "remove the scheme"),
        ("a:b:3306", "not a valid host name"),
    ];
    for (a, needle) in bad {
        match parse_host_port(a) {
            Ok(v) => panic!("{a} should be rejected, got {v:?}"),
            Err(e) => assert!(e.contains(needle), "{a}: {e}"),
        }
    }
    let (line, key, msg) = one_problem(&minimal_with("[[replicas]]\naddress = \"db:0\"\n"));
    assert_eq!((line, key.as_str()), (8, "replicas[0].address"));
    assert!(msg.starts_with("invalid address \"db:0\": port 0"), "{msg}");
    let (line, key, _) = one_problem(&minimal_with("[metrics]\nlisten = \"nope\"\n"));
    assert_eq!((line, key.as_str()), (8, "metrics.listen"));
    let (line, key, _) = one_problem(&format!("listen = \"0.0.0.0\"\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "listen"));
    let (line, key, _) =
        one_problem("[master]\naddress = \"x\"\n[[users]]\nname = \"u\"\npassword = \"p\"\n");
    assert_eq!((line, key.as_str()), (2, "master.address"));
}

#[test]
fn weights() {
    let c = ok(&minimal_with(
        "[[replicas]]\naddress = \"r:1\"\n[[replicas]]\naddress = \"s:1\"\nweight = 0\n",
    ));
    assert_eq!(c.replicas[0].weight, 1);
    assert_eq!(c.replicas[1].weight, 0);
    for w in ["-1", "1001", "4294967296"] {
        let (line, key, msg) = one_problem(&minimal_with(&format!(
            "[[replicas]]\naddress = \"r:1\"\nweight = {w}\n"
        )));
        assert_eq!((line, key.as_str()), (9, "replicas[0].weight"));
        assert_eq!(msg, format!("must be between 0 and 1000, got {w}"));
    }
}

#[test]
fn enums() {
    let (line, key, msg) = one_problem(&minimal_with("[tls]\nbackend_tls = \"on\"\n"));
    assert_eq!((line, key.as_str()), (8, "tls.backend_tls"));
    assert_eq!(
        msg,
        "expected one of disabled, preferred, required, got \"on\""
    );
    let (line, key, msg) = one_problem(&minimal_with("[log]\nformat = \"xml\"\n"));
    assert_eq!((line, key.as_str()), (8, "log.format"));
    assert_eq!(msg, "expected one of text, json, got \"xml\"");
    let (_, key, msg) = one_problem(&minimal_with("[routing]\nconsistency = 2\n"));
    assert_eq!(key, "routing.consistency");
    assert!(
        msg.starts_with("expected one of eventual, session, global, got an integer"),
        "{msg}"
    );
    for c in ["eventual", "session", "global"] {
        ok(&minimal_with(&format!(
            "[routing]\nconsistency = \"{c}\"\n"
        )));
    }
}

#[test]
fn log_levels() {
    for good in [
        "trace",
        "DEBUG",
        "warn",
        "off",
        "info,rwsplit=debug",
        "rwsplit::router=trace, warn",
    ] {
        ok(&minimal_with(&format!("[log]\nlevel = \"{good}\"\n")));
    }
    for bad in ["verbose", "", "info,", "=debug", "rwsplit=loud"] {
        let (line, key, _) = one_problem(&minimal_with(&format!("[log]\nlevel = \"{bad}\"\n")));
        assert_eq!((line, key.as_str()), (8, "log.level"), "{bad}");
    }
}

#[test]
fn env_passwords() {
    let c = ok("[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"env:APP_DB_PASSWORD\"\n");
    assert_eq!(c.users[0].password.expose(), "app-secret-1");
    // Unset variable: the error names the variable and its key.
    let (line, key, msg) = one_problem("[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"env:NOT_SET_ANYWHERE\"\n");
    assert_eq!((line, key.as_str()), (5, "users[0].password"));
    assert_eq!(msg, "environment variable `NOT_SET_ANYWHERE` is not set");
    // Bad variable names.
    for bad in ["env:", "env:A-B", "env:$X"] {
        let (_, key, msg) = one_problem(&format!(
            "[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"{bad}\"\n"
        ));
        assert_eq!(key, "users[0].password");
        assert!(msg.contains("invalid environment variable name"), "{msg}");
    }
    // Not valid UTF-8.
    let env = |_: &str| -> Result<String, std::env::VarError> {
        Err(std::env::VarError::NotUnicode("x".into()))
    };
    let err = Config::from_str_with_env(
        "[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"env:X\"\n",
        "p.toml",
        &env,
    )
    .unwrap_err();
    assert!(err.to_string().contains("`X` is not valid UTF-8"), "{err}");
    // Monitor and admin passwords resolve the same way.
    let (_, key, _) = one_problem(&minimal_with(
        "[admin]\nuser = \"a\"\npassword = \"env:NOPE\"\n",
    ));
    assert_eq!(key, "admin.password");
    let (_, key, _) = one_problem(&minimal_with(
        "[monitor]\nuser = \"a\"\npassword = \"env:NOPE\"\n",
    ));
    assert_eq!(key, "monitor.password");
}

#[test]
fn secrets_never_leak() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s}"), "***");
    assert_eq!(format!("{s:?}"), "***");
    assert_eq!(s.expose(), "hunter2");

    let c = ok(EXAMPLE);
    let debug = format!("{c:?} {c:#?}");
    for secret in ["app-secret-1", "monitor-secret-2", "admin-secret-3"] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug output");
    }
    let c = ok(MINIMAL);
    assert!(!format!("{:?}", c.users[0]).contains("pw\""));

    // Mistyped passwords are not echoed in errors, whatever their type.
    for value in [
        "918273645",
        "918273.645",
        "[\"hunter2xyz\"]",
        "{ p = \"hunter2xyz\" }",
        "true",
    ] {
        let text =
            format!("[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = {value}\n");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("users[0].password"), "{err}");
        for needle in ["918273", "hunter2xyz", "true"] {
            assert!(!err.contains(needle), "password value leaked: {err}");
        }
    }
    // A literal password next to other errors in the same entry is never printed.
    let err = parse("[master]\naddress = \"m:1\"\n[[users]]\nname = \"\"\npassword = \"hunter2xyz\"\nextra = 1\n")
            .unwrap_err()
            .to_string();
    assert!(!err.contains("hunter2xyz"), "{err}");
    let err =
        parse("[master]\naddress = \"m:1\"\n[[users]]\nname = \"u\"\npassword = \"hunter2xyz\n")
            .unwrap_err()
            .to_string();
    assert!(!err.contains("hunter2xyz"), "{err}");
    // A stray line (say, a pasted password) is a syntax error that does not echo it.
    let err = parse(&minimal_with("hunter2xyz\n"))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2xyz"), "{err}");
    assert!(err.starts_with("proxy.toml:7:"), "{err}");
}
