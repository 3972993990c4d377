//! Locks the model that `pharos dump` prints for the seed fixtures, so any
//! change to what a configuration means shows up as a reviewed diff.
//! Update with `INSTA_UPDATE=always cargo test --test snapshots`, then read
//! the `.snap` files under compat-tests/snapshots/.

use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn keepalived_model(rel: &str) -> serde_json::Value {
    let opts = pharos::conf::keepalived::Options::default();
    let path = fixture(rel);
    let outcome = pharos::conf::keepalived::read_file(&path.to_string_lossy(), &opts);
    serde_json::to_value(&outcome.config).expect("the model serializes")
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat-tests/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn seed_vrouter1_keepalived_model() {
    settings().bind(|| {
        insta::assert_json_snapshot!(
            "seed_vrouter1",
            keepalived_model("seed/vrouter1/keepalived.conf")
        )
    });
}

#[test]
fn seed_vrouter2_keepalived_model() {
    settings().bind(|| {
        insta::assert_json_snapshot!(
            "seed_vrouter2",
            keepalived_model("seed/vrouter2/keepalived.conf")
        )
    });
}

#[test]
fn seed_haproxy_model() {
    let opts = pharos::conf::haproxy::Options::default();
    let outcome = pharos::conf::haproxy::read_files(&[fixture("seed/haproxy.cfg")], &opts);
    let model = serde_json::to_value(&outcome.config).expect("the model serializes");
    settings().bind(|| insta::assert_json_snapshot!("seed_haproxy", model));
}
