//! Unit tests of `topology_file`, one file per concern; the fixture files, the scratch
//! directory and the edit shorthands they share are here.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

mod clusters;
mod main_cluster;
mod safety;

/// The shape of `shared/proxy.example.toml`, plus comments in the places an edit must not
/// disturb (on value lines, between entries, at the end). `env:` names that are unset in
/// any test environment: validation must not need them.
const FILE: &str = r#"# rwsplit configuration.

listen = "127.0.0.1:3306"

# The single write target.
[master]
address = "10.0.0.10:3306"   # primary in rack A

# Read targets; lifecycle hooks add and remove these (rwsplit topology add-replica / remove-replica).
[[replicas]]
address = "10.0.0.11:3306"
weight = 1

[[replicas]]
address = "10.0.0.12:3306"
weight = 2    # bigger box

# Accounts applications log in with.
[[users]]
name = "app"
password = "env:RWSPLIT_TOPOLOGY_TEST_UNSET_1"

[routing]
max_replication_lag = "10s"   # replicas further behind get no reads

[monitor]
user = "monitor"
password = "env:RWSPLIT_TOPOLOGY_TEST_UNSET_2"
interval = "1s"

# end of file
"#;

const NO_REPLICAS: &str = "[master]\naddress = \"10.0.0.10:3306\"\n\n\
                               [[users]]\nname = \"app\"\npassword = \"p\"\n";

/// A fresh directory holding `proxy.toml`; removed on drop.
struct Scratch {
    dir: PathBuf,
    path: PathBuf,
}

impl Scratch {
    fn new(text: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rwsplit-topology-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("proxy.toml");
        fs::write(&path, text).unwrap();
        Scratch { dir, path }
    }

    fn text(&self) -> String {
        fs::read_to_string(&self.path).unwrap()
    }

    fn apply(&self, edit: Edit) -> anyhow::Result<EditOutcome> {
        apply(&self.path, &edit)
    }

    /// Names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn add(address: &str, weight: Option<u32>) -> Edit {
    Edit::AddReplica {
        cluster: None,
        address: address.into(),
        weight,
    }
}

fn remove(address: &str) -> Edit {
    Edit::RemoveReplica {
        cluster: None,
        address: address.into(),
    }
}

fn set_master(address: &str) -> Edit {
    Edit::SetMaster {
        cluster: None,
        address: address.into(),
    }
}

/// `edit` (one of the three above) aimed at the `[[clusters]]` entry `cluster`.
fn on(cluster: &str, edit: Edit) -> Edit {
    let cluster = Some(cluster.to_string());
    match edit {
        Edit::AddReplica {
            address, weight, ..
        } => Edit::AddReplica {
            cluster,
            address,
            weight,
        },
        Edit::RemoveReplica { address, .. } => Edit::RemoveReplica { cluster, address },
        Edit::SetMaster { address, .. } => Edit::SetMaster { cluster, address },
        other => panic!("not a server edit: {other:?}"),
    }
}

fn add_cluster(name: &str, master: &str, replicas: &[(&str, u32)]) -> Edit {
    Edit::AddCluster {
        name: name.into(),
        master: master.into(),
        replicas: replicas
            .iter()
            .map(|(address, weight)| NewReplica {
                address: address.to_string(),
                weight: *weight,
            })
            .collect(),
    }
}

fn remove_cluster(name: &str) -> Edit {
    Edit::RemoveCluster { name: name.into() }
}

fn valid(text: &str) -> Config {
    validate(text, "test").unwrap_or_else(|e| panic!("invalid result:\n{e}\n---\n{text}"))
}

/// Every way a `[[clusters]]` entry can be written: the example's inline style with
/// replicas (`blogs2`) and without (`blogs3`), `[clusters.master]` / `[[clusters.replicas]]`
/// tables (`blogs4`), a list over several lines with comments (`blogs5`); a rule naming
/// `blogs2`; comments where edits must not disturb them.
const CLUSTERS: &str = r#"listen = "127.0.0.1:3306"

[master]
address = "10.0.0.10:3306"

[[replicas]]
address = "10.0.0.11:3306"
weight = 1

[[users]]
name = "app"
password = "env:RWSPLIT_TOPOLOGY_TEST_UNSET_1"

# More clusters behind the same proxy.
[[clusters]]
name = "blogs2"
master = { address = "10.0.1.10:3306" }   # shard 2
replicas = [{ address = "10.0.1.11:3306", weight = 1 }]

[[clusters]]
name = "blogs3"
master = { address = "10.0.2.10:3306" }

# shard 4, in tables
[[clusters]]
name = "blogs4"

[clusters.master]
address = "10.0.3.10:3306"  # rack B

[[clusters.replicas]]
address = "10.0.3.11:3306"
weight = 1

[[clusters]]
name = "blogs5"
master = { address = "10.0.4.10:3306" }
replicas = [
  { address = "10.0.4.11:3306", weight = 1 },  # big box
  # canary below
  { address = "10.0.4.12:3306", weight = 0 },
]

# Routing rules.
[[rules]]
schema = "blog_2*"
cluster = "blogs2"

[[rules]]
user = "reports"
route = "replica"

# end of file
"#;

/// `cluster`'s master and replicas (address, weight) in the validated result.
fn servers_of(text: &str, cluster: &str) -> (String, Vec<(String, u32)>) {
    let c = valid(text);
    let c = c
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .unwrap_or_else(|| panic!("no cluster {cluster}"));
    let replicas = c
        .replicas
        .iter()
        .map(|r| (r.address.clone(), r.weight))
        .collect();
    (c.master.address.clone(), replicas)
}
