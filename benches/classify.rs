//! Cost of `rwsplit::classify::classify` on statements real applications send.
//!
//!     cargo bench --bench classify                       # full run
//!     cargo bench --bench classify -- --warm-up-time 1 --measurement-time 3
//!     cargo bench --bench classify -- wordpress          # one group
//!
//! One benchmark per statement group. Each measured "iteration" classifies every statement of
//! the group once and the elapsed time is divided by the group's size, so the time criterion
//! reports is **nanoseconds per statement** (the mean over the group), and the throughput line
//! is statements per second.
//!
//! The statements are copied from what the applications put on the wire (placeholders already
//! bound, as with client-side prepared statements / PDO emulation, which is what a proxy sees in
//! COM_QUERY):
//!
//! - `sysbench_oltp`: the statements of sysbench 1.0's oltp_common.lua (point, range, sum,
//!   order, distinct selects; index / non-index updates; delete; insert; BEGIN/COMMIT).
//! - `wordpress`: wpdb / WP_Query / options / meta / terms queries of a WordPress 6 page view,
//!   including `SQL_CALC_FOUND_ROWS` + `FOUND_ROWS()`.
//! - `drupal`: Drupal 10 (ANSI quotes) cache, key_value, router, path alias, entity and
//!   session queries, and its MERGE emulated as INSERT … ON DUPLICATE KEY UPDATE.
//! - `session`: connection set-up statements (SET NAMES, sql_mode, autocommit, USE, @vars).
//! - `with_cte`: `WITH` queries, the one kind the scanner hands to sqlparser.
//!
//! Each group runs three times: `classify/<group>` is the whole scan (`classify`: every
//! database named, each statement's digest key: a proxy with a `digest` rule), `names/<group>`
//! without the digest keys (a proxy with other rules, or several clusters), `routing/<group>`
//! the scan a proxy with neither runs (`analyze_for_routing`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rwsplit::classify::{analyze_for_routing, analyze_with, classify, Charset, Extras};

const SYSBENCH_OLTP: &[&str] = &[
    "SELECT c FROM sbtest1 WHERE id=5023",
    "SELECT c FROM sbtest3 WHERE id BETWEEN 4711 AND 4810",
    "SELECT SUM(k) FROM sbtest2 WHERE id BETWEEN 2041 AND 2140",
    "SELECT c FROM sbtest4 WHERE id BETWEEN 8120 AND 8219 ORDER BY c",
    "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 617 AND 716 ORDER BY c",
    "UPDATE sbtest2 SET k=k+1 WHERE id=4987",
    "UPDATE sbtest3 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-41576422241-93426793964-56405065102-33518432330' WHERE id=5012",
    "DELETE FROM sbtest4 WHERE id=4996",
    "INSERT INTO sbtest4 (id, k, c, pad) VALUES (4996, 5015, '09279210219-37745839908-56185699327-79477158641-86711242956-61449540392-42622804506-61031512845-36718422840-11028803849', '63188288836-92351140030-06390587585-66802097351-49282961843')",
    "BEGIN",
    "COMMIT",
];

const WORDPRESS: &[&str] = &[
    "SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'",
    "SELECT option_value FROM wp_options WHERE option_name = 'rewrite_rules' LIMIT 1",
    "SELECT * FROM wp_users WHERE user_login = 'admin' LIMIT 1",
    "SELECT user_id, meta_key, meta_value FROM wp_usermeta WHERE user_id IN (1) ORDER BY umeta_id ASC",
    "SELECT SQL_CALC_FOUND_ROWS  wp_posts.ID FROM wp_posts  WHERE 1=1  AND ((wp_posts.post_type = 'post' AND (wp_posts.post_status = 'publish' OR wp_posts.post_status = 'private'))) ORDER BY wp_posts.post_date DESC LIMIT 0, 10",
    "SELECT FOUND_ROWS()",
    "SELECT wp_posts.* FROM wp_posts WHERE ID IN (1,5,8,13,21,34,55,89,144,233)",
    "SELECT post_id, meta_key, meta_value FROM wp_postmeta WHERE post_id IN (1,5,8,13,21) ORDER BY meta_id ASC",
    "SELECT t.*, tt.*, tr.object_id FROM wp_terms AS t  INNER JOIN wp_term_taxonomy AS tt ON t.term_id = tt.term_id INNER JOIN wp_term_relationships AS tr ON tr.term_taxonomy_id = tt.term_taxonomy_id WHERE tt.taxonomy IN ('category', 'post_tag', 'post_format') AND tr.object_id IN (1, 5, 8) ORDER BY t.name ASC",
    "SELECT wp_comments.comment_ID FROM wp_comments WHERE ( comment_approved = '1' ) AND comment_post_ID = 1 AND comment_parent = 0 ORDER BY wp_comments.comment_date_gmt ASC, wp_comments.comment_ID ASC",
    "SELECT   wp_posts.ID FROM wp_posts  LEFT JOIN wp_postmeta ON ( wp_posts.ID = wp_postmeta.post_id ) WHERE 1=1  AND ( ( wp_postmeta.meta_key = '_wp_page_template' AND wp_postmeta.meta_value = 'default' ) ) AND wp_posts.post_type = 'page' AND ((wp_posts.post_status = 'publish')) GROUP BY wp_posts.ID ORDER BY wp_posts.menu_order ASC LIMIT 0, 5",
    "INSERT INTO `wp_options` (`option_name`, `option_value`, `autoload`) VALUES ('_transient_doing_cron', '1732540000.1234560012817382812500', 'yes') ON DUPLICATE KEY UPDATE `option_name` = VALUES(`option_name`), `option_value` = VALUES(`option_value`), `autoload` = VALUES(`autoload`)",
    "UPDATE `wp_options` SET `option_value` = 'a:3:{i:1732540060;a:1:{s:16:\\\"wp_version_check\\\";a:0:{}}s:7:\\\"version\\\";i:2;}' WHERE `option_name` = 'cron'",
    "DELETE FROM `wp_options` WHERE `option_name` = '_transient_timeout_feed_mod_ac0b00fe65abe10e0c5b588f3ed8c7ca'",
    "SHOW FULL COLUMNS FROM `wp_options`",
];

const DRUPAL: &[&str] = &[
    "SELECT \"cid\", \"data\", \"created\", \"expire\", \"serialized\", \"tags\", \"checksum\" FROM \"cache_config\" WHERE \"cid\" IN ( 'system.site', 'system.performance' ) ORDER BY \"cid\"",
    "SELECT \"name\", \"value\" FROM \"key_value\" WHERE \"name\" IN ( 'system.cron_last', 'system.maintenance_mode' ) AND \"collection\" = 'state'",
    "SELECT \"name\", \"route\" FROM \"router\" WHERE \"pattern_outline\" IN ( '/node/%', '/node' ) AND \"number_parts\" >= 2",
    "SELECT \"base_table\".\"id\" AS \"id\", \"base_table\".\"path\" AS \"path\", \"base_table\".\"alias\" AS \"alias\", \"base_table\".\"langcode\" AS \"langcode\" FROM \"path_alias\" \"base_table\" WHERE (\"base_table\".\"status\" = 1) AND (\"base_table\".\"alias\" LIKE '/about' ESCAPE '\\\\') AND (\"base_table\".\"langcode\" IN ('en', 'und')) ORDER BY \"base_table\".\"langcode\" ASC, \"base_table\".\"id\" DESC",
    "SELECT \"revision\".\"vid\" AS \"vid\", \"revision\".\"langcode\" AS \"langcode\", \"base\".\"nid\" AS \"nid\", \"base\".\"type\" AS \"type\", \"base\".\"uuid\" AS \"uuid\" FROM \"node\" \"base\" INNER JOIN \"node_revision\" \"revision\" ON \"revision\".\"vid\" = \"base\".\"vid\" WHERE \"base\".\"nid\" IN (1, 2, 3)",
    "SELECT \"t\".* FROM \"node__body\" \"t\" WHERE (\"entity_id\" IN (1, 2, 3)) AND (\"deleted\" = 0) AND (\"langcode\" IN ('en', 'und', 'zxx')) ORDER BY \"delta\" ASC",
    "SELECT \"s\".\"uid\" AS \"uid\", \"s\".\"session\" AS \"session\" FROM \"sessions\" \"s\" WHERE \"s\".\"sid\" = 'xG3q7vd6Hc0hdUyJ8pP0mK3Pz0R7rRz4y8dWfA3kS1E'",
    "INSERT INTO \"cache_data\" (\"cid\", \"expire\", \"created\", \"tags\", \"checksum\", \"data\", \"serialized\") VALUES ('route:[language]=en:/node/1:', -1, '1732540000.123', 'route', '0', 'a:3:{s:4:\\\"path\\\";s:7:\\\"/node/1\\\";}', 1) ON DUPLICATE KEY UPDATE \"cid\" = VALUES(\"cid\"), \"expire\" = VALUES(\"expire\"), \"created\" = VALUES(\"created\"), \"tags\" = VALUES(\"tags\"), \"checksum\" = VALUES(\"checksum\"), \"data\" = VALUES(\"data\"), \"serialized\" = VALUES(\"serialized\")",
    "INSERT INTO \"watchdog\" (\"uid\", \"type\", \"message\", \"variables\", \"severity\", \"link\", \"location\", \"referer\", \"hostname\", \"timestamp\") VALUES (0, 'cron', 'Cron run completed.', 'a:0:{}', 5, '', 'http://example.com/cron', '', '127.0.0.1', 1732540000)",
    "UPDATE \"users_field_data\" SET \"access\"=1732540000 WHERE \"uid\" = 1",
    "DELETE FROM \"semaphore\" WHERE (\"name\" = 'cron') AND (\"value\" = '1234567890abcdef')",
    "SELECT 1 AS \"expression\" FROM \"semaphore\" \"semaphore\" WHERE (\"name\" = 'state:key_value_cache') AND (\"expire\" > 1732540000.5) LIMIT 1 OFFSET 0",
];

const SESSION: &[&str] = &[
    "SET NAMES utf8mb4",
    "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_520_ci'",
    "SET SESSION sql_mode='ANSI,STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,ONLY_FULL_GROUP_BY'",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET autocommit=1",
    "SET time_zone = '+00:00'",
    "SELECT @@SESSION.sql_mode",
    "USE wordpress",
    "SET @uid := 42",
    "/*!40101 SET NAMES utf8mb4 */",
];

const WITH_CTE: &[&str] = &[
    "WITH recent AS (SELECT ID, post_author FROM wp_posts WHERE post_status = 'publish' ORDER BY post_date DESC LIMIT 20) SELECT u.display_name, COUNT(*) AS n FROM recent r JOIN wp_users u ON u.ID = r.post_author GROUP BY u.display_name ORDER BY n DESC",
    "WITH RECURSIVE tree (term_id, parent, depth) AS (SELECT term_id, parent, 0 FROM wp_term_taxonomy WHERE parent = 0 AND taxonomy = 'category' UNION ALL SELECT tt.term_id, tt.parent, t.depth + 1 FROM wp_term_taxonomy tt JOIN tree t ON tt.parent = t.term_id) SELECT term_id, depth FROM tree",
    "WITH totals AS (SELECT k, SUM(LENGTH(c)) AS len FROM sbtest1 WHERE id BETWEEN 100 AND 200 GROUP BY k) SELECT k, len FROM totals WHERE len > 100",
];

const GROUPS: &[(&str, &[&str])] = &[
    ("sysbench_oltp", SYSBENCH_OLTP),
    ("wordpress", WORDPRESS),
    ("drupal", DRUPAL),
    ("session", SESSION),
    ("with_cte", WITH_CTE),
];

fn bench_classify(c: &mut Criterion) {
    for (label, scan) in [
        ("classify", (|sql| classify(sql)) as fn(&[u8]) -> _),
        ("names", |sql| {
            let names = Extras {
                names: true,
                keys: false,
            };
            analyze_with(sql, &[], Charset::UTF8MB4, names)
        }),
        ("routing", |sql| {
            analyze_for_routing(sql, &[], Charset::UTF8MB4)
        }),
    ] {
        let mut group = c.benchmark_group(label);
        // One element = one statement; the reported time is per statement (see iter_custom).
        group.throughput(Throughput::Elements(1));
        for &(name, statements) in GROUPS {
            let corpus: Vec<&[u8]> = statements.iter().map(|s| s.as_bytes()).collect();
            let n = corpus.len() as u32;
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        for &sql in &corpus {
                            black_box(scan(black_box(sql)));
                        }
                    }
                    // `iters` passes over `n` statements: report the time of `iters` statements.
                    start.elapsed() / n
                })
            });
        }
        group.finish();
    }
}

/// Prints each statement's route once, so a reader of the numbers can see what was measured
/// (and notice when a classifier change moves a statement onto a slower path, e.g. sqlparser).
fn print_corpus() {
    if std::env::var_os("RWSPLIT_BENCH_QUIET").is_some() {
        return;
    }
    for &(name, statements) in GROUPS {
        eprintln!("{name}: {} statements", statements.len());
        for s in statements {
            let c = classify(s.as_bytes());
            let shown: String = s.chars().take(70).collect();
            eprintln!(
                "  {:<8} {:<9} parsed={:<5} {}{}",
                format!("{:?}", c.route),
                c.kind.as_str(),
                c.parsed,
                shown,
                if s.len() > 70 { "…" } else { "" }
            );
        }
    }
}

fn config() -> Criterion {
    print_corpus();
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_classify
}
criterion_main!(benches);
