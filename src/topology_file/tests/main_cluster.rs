//! Edits of the top-level `[master]` and `[[replicas]]` (the cluster "main"): what changes, what
//! stays byte for byte, what is a no-op, and `list`.

use super::*;

/// Every edit below must change exactly the expected bytes: the tests compare the whole
/// file against the original with one splice, so any disturbed comment, blank line or
/// spacing elsewhere fails them.
#[test]
fn add_replica_goes_after_the_last_replica_and_touches_nothing_else() {
    let s = Scratch::new(FILE);
    let out = s.apply(add("10.0.0.13:3306", None)).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "added replica 10.0.0.13:3306 (weight 1)".into()
        }
    );
    let expected = FILE.replace(
        "weight = 2    # bigger box\n",
        "weight = 2    # bigger box\n\n[[replicas]]\naddress = \"10.0.0.13:3306\"\nweight = 1\n",
    );
    assert_eq!(s.text(), expected);
    // A second one goes after the first new one, still in the group.
    let out = s.apply(add("db-14.internal:3307", Some(5))).unwrap();
    assert_eq!(out.message, "added replica db-14.internal:3307 (weight 5)");
    let expected = expected.replace(
        "address = \"10.0.0.13:3306\"\nweight = 1\n",
        "address = \"10.0.0.13:3306\"\nweight = 1\n\n\
             [[replicas]]\naddress = \"db-14.internal:3307\"\nweight = 5\n",
    );
    assert_eq!(s.text(), expected);
    let c = valid(&s.text());
    let got: Vec<(&str, u32)> = c.replicas.iter().map(|r| (&*r.address, r.weight)).collect();
    assert_eq!(
        got,
        [
            ("10.0.0.11:3306", 1),
            ("10.0.0.12:3306", 2),
            ("10.0.0.13:3306", 1),
            ("db-14.internal:3307", 5)
        ]
    );
}

#[test]
fn add_replica_without_replicas_goes_at_the_end() {
    let s = Scratch::new(NO_REPLICAS);
    s.apply(add("10.0.0.11:3306", Some(0))).unwrap();
    assert_eq!(
        s.text(),
        format!("{NO_REPLICAS}\n[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 0\n")
    );
    // After the last table, before comments that end the file.
    let s = Scratch::new(&format!("{NO_REPLICAS}\n# the end\n"));
    s.apply(add("10.0.0.11:3306", None)).unwrap();
    assert_eq!(
        s.text(),
        format!(
            "{NO_REPLICAS}\n[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n\n# the end\n"
        )
    );
    // A file without a final newline gets one; nothing else changes.
    let s = Scratch::new(NO_REPLICAS.trim_end());
    s.apply(add("10.0.0.11:3306", None)).unwrap();
    assert_eq!(
        s.text(),
        format!("{NO_REPLICAS}\n[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n")
    );
}

#[test]
fn add_existing_replica_is_a_no_op_or_a_weight_update() {
    let s = Scratch::new(FILE);
    let mtime = fs::metadata(&s.path).unwrap().modified().unwrap();
    for (edit, weight) in [
        (add("10.0.0.12:3306", None), 2),
        (add(" 10.0.0.12:3306\n", Some(2)), 2),
        (add("10.0.0.11:3306", Some(1)), 1),
    ] {
        let out = s.apply(edit).unwrap();
        assert!(!out.changed);
        let address = if weight == 2 {
            "10.0.0.12:3306"
        } else {
            "10.0.0.11:3306"
        };
        assert_eq!(
            out.message,
            format!("replica {address} already present with weight {weight}: nothing to do")
        );
    }
    assert_eq!(s.text(), FILE);
    // Not rewritten at all: file watchers see no event.
    assert_eq!(fs::metadata(&s.path).unwrap().modified().unwrap(), mtime);

    // Weight update: only the number changes; the trailing comment stays.
    let out = s.apply(add("10.0.0.12:3306", Some(7))).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "replica 10.0.0.12:3306 already present: weight changed from 2 to 7".into()
        }
    );
    assert_eq!(
        s.text(),
        FILE.replace("weight = 2    # bigger box", "weight = 7    # bigger box")
    );

    // An entry without a weight line has the default weight 1.
    let text = format!("{NO_REPLICAS}\n[[replicas]]\naddress = \"r:1\"  # no weight\n");
    let s = Scratch::new(&text);
    assert!(!s.apply(add("r:1", Some(1))).unwrap().changed);
    let out = s.apply(add("r:1", Some(3))).unwrap();
    assert_eq!(
        out.message,
        "replica r:1 already present: weight changed from 1 to 3"
    );
    assert_eq!(s.text(), format!("{text}weight = 3\n"));
    assert_eq!(valid(&s.text()).replicas[0].weight, 3);
    // A broken weight is shown as written, and replaced when a weight is given.
    let text = format!("{NO_REPLICAS}[[replicas]]\naddress = \"r:1\"\nweight = \"2\" # oops\n");
    let s = Scratch::new(&text);
    let out = s.apply(add("r:1", Some(2))).unwrap();
    assert_eq!(
        out.message,
        "replica r:1 already present: weight changed from \"2\" to 2"
    );
    assert_eq!(s.text(), text.replace("\"2\" # oops", "2 # oops"));
    assert_eq!(valid(&s.text()).replicas[0].weight, 2);
}

#[test]
fn remove_replica_keeps_comments_above_it() {
    // The first replica carries the section comment: it stays, now above the second one.
    let s = Scratch::new(FILE);
    let out = s.apply(remove("10.0.0.11:3306")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "removed replica 10.0.0.11:3306".into()
        }
    );
    assert_eq!(
        s.text(),
        FILE.replace(
            "[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n\n",
            ""
        )
    );
    // The last one: its blank line goes with it; reads now go to the master.
    let out = s.apply(remove("10.0.0.12:3306")).unwrap();
    assert_eq!(
        out.message,
        "removed replica 10.0.0.12:3306; no replicas left: reads go to the master"
    );
    assert_eq!(
        s.text(),
        FILE.replace(
            "[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n\n\
                 [[replicas]]\naddress = \"10.0.0.12:3306\"\nweight = 2    # bigger box\n",
            ""
        )
    );
    assert!(valid(&s.text()).replicas.is_empty());
    // Removing the second one directly: its own leading blank line goes with it.
    let s = Scratch::new(FILE);
    s.apply(remove("10.0.0.12:3306")).unwrap();
    assert_eq!(
        s.text(),
        FILE.replace(
            "\n[[replicas]]\naddress = \"10.0.0.12:3306\"\nweight = 2    # bigger box\n",
            ""
        )
    );
    // A comment above the last table of the file moves to the end.
    let text = format!("{NO_REPLICAS}\n# canary\n[[replicas]]\naddress = \"r:1\"\n");
    let s = Scratch::new(&text);
    s.apply(remove("r:1")).unwrap();
    assert_eq!(s.text(), format!("{NO_REPLICAS}\n# canary\n"));
    valid(&s.text());
}

#[test]
fn remove_absent_replica_is_a_no_op() {
    let s = Scratch::new(FILE);
    for address in ["10.0.0.99:3306", "10.0.0.10:3306", "localhost:3306"] {
        let out = s.apply(remove(address)).unwrap();
        assert_eq!(
            out,
            EditOutcome {
                changed: false,
                message: format!("replica {address} not present: nothing to do")
            }
        );
    }
    let s2 = Scratch::new(NO_REPLICAS);
    assert!(!s2.apply(remove("r:1")).unwrap().changed);
    assert_eq!(s2.text(), NO_REPLICAS);
    // Exact match, no DNS: 127.0.0.1 is not localhost.
    let text = format!("{NO_REPLICAS}[[replicas]]\naddress = \"localhost:3306\"\n");
    let s3 = Scratch::new(&text);
    assert!(!s3.apply(remove("127.0.0.1:3306")).unwrap().changed);
    assert!(s3.apply(remove("localhost:3306")).unwrap().changed);
    assert_eq!(s.text(), FILE);
}

#[test]
fn set_master_keeps_the_comment_and_drops_a_promoted_replica() {
    let s = Scratch::new(FILE);
    let out = s.apply(set_master("10.0.0.20:3306")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "master changed from 10.0.0.10:3306 to 10.0.0.20:3306".into()
        }
    );
    let expected = FILE.replace(
        "address = \"10.0.0.10:3306\"   # primary in rack A",
        "address = \"10.0.0.20:3306\"   # primary in rack A",
    );
    assert_eq!(s.text(), expected);

    // Promoting a replica: it leaves [[replicas]]; the old master is not added.
    let out = s.apply(set_master("10.0.0.12:3306")).unwrap();
    assert_eq!(
        out.message,
        "master changed from 10.0.0.20:3306 to 10.0.0.12:3306; \
             10.0.0.12:3306 removed from the replicas"
    );
    let c = valid(&s.text());
    assert_eq!(c.master.address, "10.0.0.12:3306");
    let replicas: Vec<&str> = c.replicas.iter().map(|r| &*r.address).collect();
    assert_eq!(replicas, ["10.0.0.11:3306"]);

    let out = s.apply(set_master("10.0.0.12:3306")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "master is already 10.0.0.12:3306: nothing to do".into()
        }
    );
}

#[test]
fn list_shows_the_topology() {
    let s = Scratch::new(FILE);
    assert_eq!(
        list(&s.path).unwrap(),
        "master  10.0.0.10:3306\n\
             replica 10.0.0.11:3306 weight 1\n\
             replica 10.0.0.12:3306 weight 2\n"
    );
    let s = Scratch::new(NO_REPLICAS);
    assert_eq!(list(&s.path).unwrap(), "master  10.0.0.10:3306\n");
    let s = Scratch::new("[master]\n");
    let err = list(&s.path).unwrap_err().to_string();
    assert!(err.contains("key `master.address`"), "{err}");
}

#[test]
fn inline_main_replicas_are_edited_too() {
    // The top-level list in inline form (valid TOML the loader takes): edited like a
    // cluster's, no longer refused.
    let text = format!("replicas = [{{ address = \"r:1\" }}]\n{NO_REPLICAS}");
    let s = Scratch::new(&text);
    s.apply(add("r:2", None)).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "[{ address = \"r:1\" }]",
            "[{ address = \"r:1\" }, { address = \"r:2\", weight = 1 }]"
        )
    );
    s.apply(remove("r:1")).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "[{ address = \"r:1\" }]",
            "[{ address = \"r:2\", weight = 1 }]"
        )
    );
    let replicas: Vec<String> = valid(&s.text())
        .replicas
        .into_iter()
        .map(|r| r.address)
        .collect();
    assert_eq!(replicas, ["r:2"]);
}
