//! `show info`: haproxy 2.6's process information, `Key: value` per line, in 2.6's order,
//! then the CLI's empty line.

use super::snapshot::Info;

const MIB: u64 = 1024 * 1024;

/// `Nd Nh NNmNNs`, haproxy's uptime format (`0d 0h00m03s`).
pub fn uptime(secs: u64) -> String {
    format!(
        "{}d {}h{:02}m{:02}s",
        secs / 86400,
        (secs % 86400) / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// The lines of `show info` (2.6.12's keys, `TotalSplicdedBytesOut` spelling included).
pub fn show_info(info: &Info) -> String {
    let i = info;
    let n = |v: u64| v.to_string();
    let mut fields: Vec<(&str, String)> = vec![
        ("Name", "HAProxy".into()),
        ("Version", i.version.clone()),
        ("Release_date", i.release_date.clone()),
        ("Nbthread", i.nbthread.to_string()),
        ("Nbproc", i.nbproc.to_string()),
        ("Process_num", i.process_num.to_string()),
        ("Pid", i.pid.to_string()),
        ("Uptime", uptime(i.uptime_sec)),
        ("Uptime_sec", n(i.uptime_sec)),
        ("Memmax_MB", n(i.memmax_mb)),
        ("PoolAlloc_MB", n(i.pool_alloc_bytes / MIB)),
        ("PoolUsed_MB", n(i.pool_used_bytes / MIB)),
        ("PoolFailed", n(i.pool_failed)),
        ("Ulimit-n", n(i.ulimit_n)),
        ("Maxsock", n(i.maxsock)),
        ("Maxconn", n(i.maxconn)),
        ("Hard_maxconn", n(i.hard_maxconn)),
        ("CurrConns", n(i.curr_conns)),
        ("CumConns", n(i.cum_conns)),
        ("CumReq", n(i.cum_req)),
        ("MaxSslConns", n(i.max_ssl_conns)),
        ("CurrSslConns", n(i.curr_ssl_conns)),
        ("CumSslConns", n(i.cum_ssl_conns)),
        ("Maxpipes", n(i.maxpipes)),
        ("PipesUsed", n(i.pipes_used)),
        ("PipesFree", n(i.pipes_free)),
        ("ConnRate", n(i.conn_rate)),
        ("ConnRateLimit", n(i.conn_rate_limit)),
        ("MaxConnRate", n(i.max_conn_rate)),
        ("SessRate", n(i.sess_rate)),
        ("SessRateLimit", n(i.sess_rate_limit)),
        ("MaxSessRate", n(i.max_sess_rate)),
        ("SslRate", n(i.ssl_rate)),
        ("SslRateLimit", n(i.ssl_rate_limit)),
        ("MaxSslRate", n(i.max_ssl_rate)),
        ("SslFrontendKeyRate", n(i.ssl_frontend_key_rate)),
        ("SslFrontendMaxKeyRate", n(i.ssl_frontend_max_key_rate)),
        (
            "SslFrontendSessionReuse_pct",
            n(i.ssl_frontend_session_reuse_pct),
        ),
        ("SslBackendKeyRate", n(i.ssl_backend_key_rate)),
        ("SslBackendMaxKeyRate", n(i.ssl_backend_max_key_rate)),
        ("SslCacheLookups", n(i.ssl_cache_lookups)),
        ("SslCacheMisses", n(i.ssl_cache_misses)),
        ("CompressBpsIn", n(i.compress_bps_in)),
        ("CompressBpsOut", n(i.compress_bps_out)),
        ("CompressBpsRateLim", n(i.compress_bps_rate_lim)),
        ("Tasks", n(i.tasks)),
        ("Run_queue", n(i.run_queue)),
        ("Idle_pct", n(i.idle_pct)),
        ("node", i.node.clone()),
    ];
    // 2.6 skips empty fields: `description` only appears when set.
    if let Some(desc) = &i.description {
        fields.push(("description", desc.clone()));
    }
    fields.extend([
        ("Stopping", n(u64::from(i.stopping))),
        ("Jobs", n(i.jobs)),
        ("Unstoppable Jobs", n(i.unstoppable_jobs)),
        ("Listeners", n(i.listeners)),
        ("ActivePeers", n(i.active_peers)),
        ("ConnectedPeers", n(i.connected_peers)),
        ("DroppedLogs", n(i.dropped_logs)),
        ("BusyPolling", n(i.busy_polling)),
        ("FailedResolutions", n(i.failed_resolutions)),
        ("TotalBytesOut", n(i.total_bytes_out)),
        ("TotalSplicdedBytesOut", n(i.total_spliced_bytes_out)),
        ("BytesOutRate", n(i.bytes_out_rate)),
        ("DebugCommandsIssued", n(i.debug_commands_issued)),
        ("CumRecvLogs", n(i.cum_recv_logs)),
        ("Build info", i.build_info.clone()),
        ("Memmax_bytes", n(i.memmax_mb * MIB)),
        ("PoolAlloc_bytes", n(i.pool_alloc_bytes)),
        ("PoolUsed_bytes", n(i.pool_used_bytes)),
        ("Start_time_sec", n(i.start_time_sec)),
        ("Tainted", n(i.tainted)),
    ]);
    let mut out = String::with_capacity(1400);
    for (key, value) in fields {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    out.push('\n');
    out
}
