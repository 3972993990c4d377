//! Golden tests against haproxy 2.6.12's own output (fixtures/haproxy/stats/, recorded by
//! compat-tests/record-stats.py). Each capture gets a snapshot holding the numbers read
//! off that capture, so the comparisons are byte for byte, time fields included.

mod recorded;
mod tcp;

use super::*;
use recorded::*;

/// The fixture file, as text.
fn fixture(name: &str) -> String {
    let path = format!(
        "{}/fixtures/haproxy/stats/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).expect("fixture recorded by compat-tests/record-stats.py")
}

/// Asserts equality line by line first, so a failure names the first differing line.
fn assert_same(ours: &str, theirs: &str) {
    for (n, (a, b)) in ours.split('\n').zip(theirs.split('\n')).enumerate() {
        assert_eq!(a, b, "line {} differs", n + 1);
    }
    assert_eq!(ours, theirs);
}

#[test]
fn show_stat_equals_haproxy() {
    assert_same(&show_stat(&cli_capture()), &fixture("show-stat.txt"));
}

#[test]
fn page_csv_equals_haproxy() {
    // The page leaves addr/cookie/algo empty without `stats show-legends`.
    let ours = csv(&page_csv_capture(), CsvOptions { legends: false });
    assert_same(&ours, &fixture("page.csv"));
}

#[test]
fn show_info_equals_haproxy() {
    assert_same(&show_info(&cli_capture().info), &fixture("show-info.txt"));
}

#[test]
fn header_has_128_columns_ending_in_comma() {
    assert!(HEADER.starts_with("# pxname,svname,"));
    assert!(HEADER.ends_with("h1_spliced_bytes_out,"));
    assert_eq!(HEADER.matches(',').count(), 128);
}

#[test]
fn text_fields_are_quoted_when_needed() {
    let mut snap = cli_capture();
    snap.proxies[1].servers[1]
        .check
        .as_mut()
        .expect("s2 has a check")
        .info = "a, \"b\"".into();
    let out = show_stat(&snap);
    assert!(out.contains(",-1,\"a, \"\"b\"\"\",,"), "{out}");
}

#[test]
fn uptime_format() {
    assert_eq!(uptime(3), "0d 0h00m03s");
    assert_eq!(uptime(90061), "1d 1h01m01s");
}

/// The options of the recorded `listen stats` page (refresh 5s, no legends, no admin).
fn page_options() -> PageOptions {
    PageOptions {
        uri: "/hadmin".into(),
        refresh: Some(5),
        ..PageOptions::default()
    }
}

#[test]
fn html_page_equals_haproxy() {
    assert_same(
        &html(&page_capture(), &page_options()),
        &fixture("page.html"),
    );
}

#[test]
fn html_admin_page_equals_haproxy() {
    // `listen stats_admin`: stats admin if TRUE, show-legends, no refresh.
    let opts = PageOptions {
        uri: "/hadmin".into(),
        legends: true,
        admin: true,
        ..PageOptions::default()
    };
    assert_same(&html(&admin_capture(), &opts), &fixture("admin.html"));
}

#[test]
fn html_numbers_and_durations() {
    assert_eq!(num(985), "985");
    assert_eq!(num(9985), "<span class=\"rls\">9</span>985");
    assert_eq!(
        num(1234567),
        "<span class=\"rls\">1</span>23<span class=\"rls\">4</span>567"
    );
    assert_eq!(human_time(None), "?");
    assert_eq!(human_time(Some(0)), "0s");
    assert_eq!(human_time(Some(65)), "1m5s");
    assert_eq!(human_time(Some(86400 + 7205)), "1d2h");
}

#[test]
fn html_hide_version_and_norefresh_links() {
    let mut opts = page_options();
    opts.hide_version = true;
    opts.norefresh = true;
    let page = html(&page_capture(), &opts);
    assert!(!page.contains("HAProxy version"));
    assert!(page.contains("<li><a href=\"/hadmin\">Enable refresh</a><br>"));
    assert!(page.contains("<li><a href=\"/hadmin;up;norefresh\">Hide 'DOWN' servers</a>"));
}

#[test]
fn html_hide_down_drops_down_servers() {
    let mut opts = page_options();
    opts.hide_down = true;
    let page = html(&page_capture(), &opts);
    assert!(page.contains("be_app/s1"));
    assert!(!page.contains("be_app/s2"));
    assert!(page.contains("Show all servers"));
}
