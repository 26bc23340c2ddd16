//! Edits of `[[clusters]]` entries in both TOML forms (inline and tables): replicas and
//! masters with `--cluster`, `add-cluster`, `remove-cluster`, and `list` by cluster.

use super::*;

#[test]
fn inline_cluster_edits_touch_only_their_line() {
    let s = Scratch::new(CLUSTERS);
    let line = "replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]";
    let out = s.apply(on("blogs2", add("10.0.1.12:3306", None))).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "cluster blogs2: added replica 10.0.1.12:3306 (weight 1)".into()
        }
    );
    let two = "replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }, \
               { address = \"10.0.1.12:3306\", weight = 1 }]";
    assert_eq!(s.text(), CLUSTERS.replace(line, two));

    // Idempotent: not rewritten at all.
    let mtime = fs::metadata(&s.path).unwrap().modified().unwrap();
    let out = s.apply(on("blogs2", add("10.0.1.12:3306", None))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: replica 10.0.1.12:3306 already present with weight 1: nothing to do"
    );
    assert!(!out.changed);
    assert_eq!(fs::metadata(&s.path).unwrap().modified().unwrap(), mtime);

    // A weight changes in place.
    s.apply(on("blogs2", add("10.0.1.12:3306", Some(3))))
        .unwrap();
    let two = two.replace("weight = 1 }]", "weight = 3 }]");
    assert_eq!(s.text(), CLUSTERS.replace(line, &two));

    // Removing the first entry keeps the list's layout.
    let out = s.apply(on("blogs2", remove("10.0.1.11:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: removed replica 10.0.1.11:3306"
    );
    let one = "replicas = [{ address = \"10.0.1.12:3306\", weight = 3 }]";
    assert_eq!(s.text(), CLUSTERS.replace(line, one));
    assert!(
        !s.apply(on("blogs2", remove("10.0.1.11:3306")))
            .unwrap()
            .changed
    );

    // The last one: an empty list stays, saying so.
    let out = s.apply(on("blogs2", remove("10.0.1.12:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: removed replica 10.0.1.12:3306; no replicas left: reads go to the master"
    );
    assert_eq!(s.text(), CLUSTERS.replace(line, "replicas = []"));

    // The master's address changes; its trailing comment stays.
    let out = s.apply(on("blogs2", set_master("10.0.1.20:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: master changed from 10.0.1.10:3306 to 10.0.1.20:3306"
    );
    assert_eq!(
        s.text(),
        CLUSTERS.replace(line, "replicas = []").replace(
            "master = { address = \"10.0.1.10:3306\" }   # shard 2",
            "master = { address = \"10.0.1.20:3306\" }   # shard 2"
        )
    );
    assert_eq!(
        servers_of(&s.text(), "blogs2"),
        ("10.0.1.20:3306".into(), vec![])
    );
    // Nothing else moved: the main cluster is as it was.
    let c = valid(&s.text());
    assert_eq!(c.master.address, "10.0.0.10:3306");
    assert_eq!(c.replicas.len(), 1);
}

#[test]
fn set_master_of_a_cluster_promotes_its_replica() {
    let s = Scratch::new(CLUSTERS);
    let out = s.apply(on("blogs2", set_master("10.0.1.11:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: master changed from 10.0.1.10:3306 to 10.0.1.11:3306; \
         10.0.1.11:3306 removed from the replicas; no replicas left: reads go to the master"
    );
    assert_eq!(
        s.text(),
        CLUSTERS
            .replace(
                "replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]",
                "replicas = []"
            )
            .replace("10.0.1.10:3306", "10.0.1.11:3306")
    );
    let out = s.apply(on("blogs2", set_master("10.0.1.11:3306"))).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "cluster blogs2: master is already 10.0.1.11:3306: nothing to do".into()
        }
    );
}

#[test]
fn a_cluster_without_replicas_gets_a_list_in_its_own_style() {
    // Inline master: an inline list, on the line after the master.
    let s = Scratch::new(CLUSTERS);
    s.apply(on("blogs3", add("10.0.2.11:3306", Some(2))))
        .unwrap();
    let master = "master = { address = \"10.0.2.10:3306\" }\n";
    assert_eq!(
        s.text(),
        CLUSTERS.replace(
            master,
            &format!("{master}replicas = [{{ address = \"10.0.2.11:3306\", weight = 2 }}]\n")
        )
    );
    assert_eq!(
        servers_of(&s.text(), "blogs3").1,
        [("10.0.2.11:3306".to_string(), 2)]
    );

    // A [clusters.master] table: [[clusters.replicas]] tables after it, before what follows.
    let text = format!(
        "{NO_REPLICAS}\n[[clusters]]\nname = \"t\"\n\n[clusters.master]\naddress = \"m:1\"\n\n\
         # the rest\n[routing]\nfallback_to_master = true\n"
    );
    let s = Scratch::new(&text);
    s.apply(on("t", add("r:1", None))).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "address = \"m:1\"\n",
            "address = \"m:1\"\n\n[[clusters.replicas]]\naddress = \"r:1\"\nweight = 1\n"
        )
    );
    // And removing it drops the array again.
    s.apply(on("t", remove("r:1"))).unwrap();
    assert_eq!(s.text(), text);
}

#[test]
fn cluster_tables_are_edited_in_place() {
    let s = Scratch::new(CLUSTERS);
    let out = s.apply(on("blogs4", add("10.0.3.12:3306", None))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs4: added replica 10.0.3.12:3306 (weight 1)"
    );
    // After the entry's last replica table, before the next [[clusters]] entry.
    let after = "[[clusters.replicas]]\naddress = \"10.0.3.11:3306\"\nweight = 1\n";
    let added =
        format!("{after}\n[[clusters.replicas]]\naddress = \"10.0.3.12:3306\"\nweight = 1\n");
    assert_eq!(s.text(), CLUSTERS.replace(after, &added));

    // Promoting the first replica: the master's comment stays, its table goes.
    s.apply(on("blogs4", set_master("10.0.3.11:3306"))).unwrap();
    let expected = CLUSTERS
        .replace(
            after,
            "[[clusters.replicas]]\naddress = \"10.0.3.12:3306\"\nweight = 1\n",
        )
        .replace(
            "address = \"10.0.3.10:3306\"  # rack B",
            "address = \"10.0.3.11:3306\"  # rack B",
        );
    assert_eq!(s.text(), expected);
    assert_eq!(
        servers_of(&s.text(), "blogs4"),
        ("10.0.3.11:3306".into(), vec![("10.0.3.12:3306".into(), 1)])
    );
}

#[test]
fn multi_line_lists_keep_their_layout_and_comments() {
    let s = Scratch::new(CLUSTERS);
    let list = "replicas = [\n  { address = \"10.0.4.11:3306\", weight = 1 },  # big box\n  \
                # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n]";
    assert!(CLUSTERS.contains(list));
    let edited = |s: &Scratch, now: &str| assert_eq!(s.text(), CLUSTERS.replace(list, now));

    // One per line, indented alike, before the closing bracket.
    s.apply(on("blogs5", add("10.0.4.13:3306", None))).unwrap();
    edited(
        &s,
        "replicas = [\n  { address = \"10.0.4.11:3306\", weight = 1 },  # big box\n  \
         # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n  \
         { address = \"10.0.4.13:3306\", weight = 1 },\n]",
    );
    // The first entry goes with the comment on its line; the comment above the next stays.
    s.apply(on("blogs5", remove("10.0.4.11:3306"))).unwrap();
    edited(
        &s,
        "replicas = [\n  # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n  \
         { address = \"10.0.4.13:3306\", weight = 1 },\n]",
    );
    s.apply(on("blogs5", remove("10.0.4.13:3306"))).unwrap();
    edited(
        &s,
        "replicas = [\n  # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n]",
    );
    // The last entry: its comment line stays before the bracket.
    s.apply(on("blogs5", remove("10.0.4.12:3306"))).unwrap();
    edited(&s, "replicas = [\n  # canary below\n]");
    valid(&s.text());

    // Without a trailing comma: the comma goes before the last entry's comment, and removing
    // the new entry gives back the original bytes.
    let text = format!(
        "{NO_REPLICAS}\n[[clusters]]\nname = \"c\"\nmaster = {{ address = \"m:1\" }}\n\
         replicas = [\n    {{ address = \"a:1\", weight = 1 }},\n    \
         {{ address = \"b:1\", weight = 1 }}  # last\n]\n"
    );
    let s = Scratch::new(&text);
    s.apply(on("c", add("c:1", None))).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "{ address = \"b:1\", weight = 1 }  # last\n]",
            "{ address = \"b:1\", weight = 1 },  # last\n    \
             { address = \"c:1\", weight = 1 }\n]"
        )
    );
    assert_eq!(servers_of(&s.text(), "c").1.len(), 3);
    s.apply(on("c", remove("c:1"))).unwrap();
    assert_eq!(s.text(), text);
    // A weight added to an entry that has none: inside the braces, spaced like the rest.
    let text = format!("replicas = [{{ address = \"r:1\" }}]\n{NO_REPLICAS}");
    let s = Scratch::new(&text);
    s.apply(add("r:1", Some(3))).unwrap();
    assert_eq!(
        s.text(),
        text.replace("{ address = \"r:1\" }", "{ address = \"r:1\", weight = 3 }")
    );
}

#[test]
fn cluster_main_is_the_top_level() {
    let a = Scratch::new(CLUSTERS);
    let b = Scratch::new(CLUSTERS);
    a.apply(add("10.0.0.12:3306", None)).unwrap();
    let out = b.apply(on("main", add("10.0.0.12:3306", None))).unwrap();
    assert_eq!(out.message, "added replica 10.0.0.12:3306 (weight 1)");
    assert_eq!(a.text(), b.text());
    assert_ne!(a.text(), CLUSTERS);
    b.apply(on("main", set_master("10.0.0.20:3306"))).unwrap();
    assert_eq!(valid(&b.text()).master.address, "10.0.0.20:3306");
}

#[test]
fn unknown_cluster_names_the_clusters_there_are() {
    let s = Scratch::new(CLUSTERS);
    for edit in [
        on("blogs9", add("10.0.9.1:3306", None)),
        on("blogs9", remove("10.0.9.1:3306")),
        on("Blogs2", set_master("10.0.9.1:3306")),
    ] {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(
            err.contains(
                "proxy.toml: the clusters are \"main\", \"blogs2\", \"blogs3\", \"blogs4\", \"blogs5\""
            ) && err.starts_with("no cluster \"Blogs2\"") == matches!(edit, Edit::SetMaster { .. }),
            "{edit:?}: {err}"
        );
    }
    let s2 = Scratch::new(FILE);
    let err = s2
        .apply(on("blogs2", add("10.0.9.1:3306", None)))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("the clusters are \"main\""), "{err}");
    assert_eq!(s.text(), CLUSTERS);
    assert_eq!(s2.text(), FILE);
}

#[test]
fn cluster_edits_are_validated_across_clusters() {
    let s = Scratch::new(CLUSTERS);
    // An address is one server in one role in one cluster.
    for (edit, needle) in [
        (
            on("blogs2", add("10.0.0.11:3306", None)),
            "duplicate backend address",
        ),
        (
            on("blogs3", set_master("10.0.1.11:3306")),
            "duplicate backend address",
        ),
        (
            on("blogs2", add("10.0.1.10:3306", None)),
            "10.0.1.10:3306 is the master",
        ),
        (on("blogs2", add("10.0.1.12", None)), "missing port"),
    ] {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{edit:?}: {err}");
        assert_eq!(s.text(), CLUSTERS, "{edit:?}");
    }
}

#[test]
fn add_cluster_appends_after_the_last_cluster() {
    let s = Scratch::new(CLUSTERS);
    let out = s
        .apply(add_cluster(
            "blogs6",
            "10.0.5.10:3306",
            &[("10.0.5.11:3306", 1), ("10.0.5.12:3306", 2)],
        ))
        .unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "added cluster blogs6: master 10.0.5.10:3306, replicas \
                      10.0.5.11:3306 (weight 1), 10.0.5.12:3306 (weight 2)"
                .into()
        }
    );
    let entry = "[[clusters]]\nname = \"blogs6\"\nmaster = { address = \"10.0.5.10:3306\" }\n\
                 replicas = [{ address = \"10.0.5.11:3306\", weight = 1 }, \
                 { address = \"10.0.5.12:3306\", weight = 2 }]\n";
    let expected = CLUSTERS.replace(
        "]\n\n# Routing rules.",
        &format!("]\n\n{entry}\n# Routing rules."),
    );
    assert_eq!(s.text(), expected);
    assert_eq!(
        servers_of(&s.text(), "blogs6"),
        (
            "10.0.5.10:3306".into(),
            vec![("10.0.5.11:3306".into(), 1), ("10.0.5.12:3306".into(), 2)]
        )
    );

    // The same cluster again (replicas in any order): nothing to do, not rewritten.
    let mtime = fs::metadata(&s.path).unwrap().modified().unwrap();
    let out = s
        .apply(add_cluster(
            "blogs6",
            "10.0.5.10:3306",
            &[("10.0.5.12:3306", 2), ("10.0.5.11:3306", 1)],
        ))
        .unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "cluster blogs6 already present with master 10.0.5.10:3306 and the same \
                      replicas: nothing to do"
                .into()
        }
    );
    // Also for the table form and for a cluster without replicas.
    assert!(
        !s.apply(add_cluster(
            "blogs4",
            "10.0.3.10:3306",
            &[("10.0.3.11:3306", 1)]
        ))
        .unwrap()
        .changed
    );
    assert!(
        !s.apply(add_cluster("blogs3", "10.0.2.10:3306", &[]))
            .unwrap()
            .changed
    );
    assert_eq!(fs::metadata(&s.path).unwrap().modified().unwrap(), mtime);

    // A different cluster under that name is refused, file untouched.
    for (edit, needle) in [
        (
            add_cluster("blogs6", "10.0.5.99:3306", &[]),
            "cluster blogs6 already exists in ",
        ),
        (
            add_cluster("blogs6", "10.0.5.99:3306", &[]),
            "with master 10.0.5.10:3306; to move its writes use \
             `rwsplit topology set-master 10.0.5.99:3306 --cluster blogs6`",
        ),
        (
            add_cluster("blogs6", "10.0.5.10:3306", &[("10.0.5.11:3306", 1)]),
            "and other replicas (10.0.5.11:3306 weight 1, 10.0.5.12:3306 weight 2)",
        ),
        (
            add_cluster("blogs3", "10.0.2.10:3306", &[("10.0.2.11:3306", 1)]),
            "and other replicas (none)",
        ),
        (
            add_cluster("main", "10.0.5.99:3306", &[]),
            "\"main\" is the cluster",
        ),
        (
            add_cluster("a b", "10.0.5.99:3306", &[]),
            "invalid cluster name \"a b\"",
        ),
        (add_cluster("", "10.0.5.99:3306", &[]), "must not be empty"),
        (add_cluster("x", "10.0.5.99", &[]), "missing port"),
        (
            add_cluster("x", "10.0.5.99:3306", &[("10.0.5.99:3306", 1)]),
            "10.0.5.99:3306 is the master of cluster x",
        ),
        (
            add_cluster("x", "10.0.5.99:3306", &[("r:1", 1), ("r:1", 2)]),
            "replica r:1 is given twice",
        ),
        (
            add_cluster("x", "10.0.5.99:3306", &[("r:1", 1001)]),
            "weight 1001 is out of range",
        ),
        // A server of another cluster.
        (
            add_cluster("x", "10.0.0.11:3306", &[]),
            "duplicate backend address",
        ),
    ] {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{edit:?}: {err}");
    }
    assert_eq!(s.text(), expected);
}

#[test]
fn add_cluster_to_a_file_without_clusters_goes_at_the_end() {
    let s = Scratch::new(FILE);
    let out = s
        .apply(add_cluster(" blogs2 ", " 10.0.9.10:3306 ", &[]))
        .unwrap();
    assert_eq!(
        out.message,
        "added cluster blogs2: master 10.0.9.10:3306, replicas none: reads go to the master"
    );
    assert_eq!(
        s.text(),
        FILE.replace(
            "\n# end of file\n",
            "\n[[clusters]]\nname = \"blogs2\"\nmaster = { address = \"10.0.9.10:3306\" }\n\
             \n# end of file\n"
        )
    );
    // Then edited like any other.
    s.apply(on("blogs2", add("10.0.9.11:3306", None))).unwrap();
    assert_eq!(
        servers_of(&s.text(), "blogs2"),
        ("10.0.9.10:3306".into(), vec![("10.0.9.11:3306".into(), 1)])
    );
}

#[test]
fn remove_cluster_is_refused_while_a_rule_names_it() {
    let s = Scratch::new(CLUSTERS);
    let line = CLUSTERS[..CLUSTERS.find("cluster = \"blogs2\"").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let err = s.apply(remove_cluster("blogs2")).unwrap_err().to_string();
    assert!(
        err.starts_with("cluster blogs2 is still named by a rule in ")
            && err.ends_with(&format!(
                "proxy.toml ([[rules]] with cluster = \"blogs2\" on line {line}); point those \
                 rules at another cluster or remove them first"
            )),
        "{err}"
    );
    // Two rules.
    let two = format!("{CLUSTERS}\n[[rules]]\nuser = \"x\"\ncluster = \"blogs2\"\n");
    let s2 = Scratch::new(&two);
    let err = s2.apply(remove_cluster("blogs2")).unwrap_err().to_string();
    assert!(err.contains("named by 2 rules"), "{err}");
    assert!(err.contains(&format!("on lines {line}, ")), "{err}");
    assert_eq!(s.text(), CLUSTERS);
    assert_eq!(s2.text(), two);

    // "main" cannot go; an absent cluster is nothing to do.
    let err = s.apply(remove_cluster("main")).unwrap_err().to_string();
    assert!(err.contains("it cannot be removed"), "{err}");
    let out = s.apply(remove_cluster("blogs9")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "cluster blogs9 not present: nothing to do".into()
        }
    );

    // Once the rule points elsewhere, the cluster can go.
    let moved = CLUSTERS.replace("cluster = \"blogs2\"", "cluster = \"blogs3\"");
    fs::write(&s.path, &moved).unwrap();
    let out = s.apply(remove_cluster("blogs2")).unwrap();
    assert_eq!(out.message, "removed cluster blogs2");
    // The comment above the entry describes the section: it stays, above the next entry.
    assert_eq!(
        s.text(),
        moved.replace(
            "[[clusters]]\nname = \"blogs2\"\nmaster = { address = \"10.0.1.10:3306\" }   \
             # shard 2\nreplicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]\n\n",
            ""
        )
    );
    let c = valid(&s.text());
    assert!(c.clusters.iter().all(|c| c.name != "blogs2"));
}

#[test]
fn remove_cluster_takes_its_tables_and_keeps_other_comments() {
    let s = Scratch::new(CLUSTERS);
    // Inline entry without a comment of its own.
    s.apply(remove_cluster("blogs3")).unwrap();
    let expected = CLUSTERS.replace(
        "\n[[clusters]]\nname = \"blogs3\"\nmaster = { address = \"10.0.2.10:3306\" }\n",
        "",
    );
    assert_eq!(s.text(), expected);
    // Table form: the entry and its [clusters.master] / [[clusters.replicas]] go; the
    // comment above it stays, now above the next entry.
    let out = s.apply(remove_cluster("blogs4")).unwrap();
    assert!(out.changed);
    let expected = expected.replace(
        "[[clusters]]\nname = \"blogs4\"\n\n[clusters.master]\naddress = \"10.0.3.10:3306\"  \
         # rack B\n\n[[clusters.replicas]]\naddress = \"10.0.3.11:3306\"\nweight = 1\n\n",
        "",
    );
    assert_eq!(s.text(), expected);
    assert!(!s.apply(remove_cluster("blogs4")).unwrap().changed);
    let names: Vec<String> = valid(&s.text())
        .clusters
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["blogs2", "blogs5"]);

    // The last cluster of a file: the key goes with it, the file is as before add-cluster.
    let s = Scratch::new(FILE);
    s.apply(add_cluster("x", "10.0.9.10:3306", &[("10.0.9.11:3306", 1)]))
        .unwrap();
    s.apply(remove_cluster("x")).unwrap();
    assert_eq!(s.text(), FILE);
}

#[test]
fn list_shows_every_cluster_main_first() {
    let s = Scratch::new(CLUSTERS);
    assert_eq!(
        list(&s.path).unwrap(),
        "cluster main\n\
         master  10.0.0.10:3306\n\
         replica 10.0.0.11:3306 weight 1\n\
         cluster blogs2\n\
         master  10.0.1.10:3306\n\
         replica 10.0.1.11:3306 weight 1\n\
         cluster blogs3\n\
         master  10.0.2.10:3306\n\
         cluster blogs4\n\
         master  10.0.3.10:3306\n\
         replica 10.0.3.11:3306 weight 1\n\
         cluster blogs5\n\
         master  10.0.4.10:3306\n\
         replica 10.0.4.11:3306 weight 1\n\
         replica 10.0.4.12:3306 weight 0\n"
    );
}

#[test]
fn replica_specs_take_an_optional_weight() {
    let parsed = |s: &str| {
        NewReplica::parse(s)
            .map(|r| (r.address, r.weight))
            .map_err(|e| e.to_string())
    };
    assert_eq!(parsed("10.0.1.11:3306"), Ok(("10.0.1.11:3306".into(), 1)));
    assert_eq!(
        parsed(" 10.0.1.11:3306:2 "),
        Ok(("10.0.1.11:3306".into(), 2))
    );
    assert_eq!(
        parsed("db-2.internal:3307:0"),
        Ok(("db-2.internal:3307".into(), 0))
    );
    assert_eq!(parsed("[::1]:3306"), Ok(("[::1]:3306".into(), 1)));
    assert_eq!(parsed("[::1]:3306:5"), Ok(("[::1]:3306".into(), 5)));
    for bad in ["10.0.1.11", "10.0.1.11:3306:x", "10.0.1.11:70000", ""] {
        assert!(parsed(bad).is_err(), "{bad}");
    }
}
