//! `watch`: the command-line face of `crate::watch` (files) and
//! `crate::cluster` (`--from-cluster`): flags turned into their settings.
//!
//! The loop itself lives in `watch.rs`; nothing here runs it beyond calling
//! it.

use std::io::{self, Write};

use super::{EXIT_ERROR, EXIT_OK, WatchArgs, options};
use crate::outputs::{empty_render_refusal, write_outputs};
use crate::render;

/// `watch PATH...`: the loop of `crate::watch`, writing through
/// `write_outputs`, logging JSON lines on stderr.
pub(super) fn cmd_watch(a: WatchArgs, stderr: &mut dyn Write) -> io::Result<u8> {
    use crate::watch;
    if a.from_cluster && !a.input.paths.is_empty() {
        writeln!(
            stderr,
            "synroute: error: --from-cluster watches the API server; give no PATH"
        )?;
        return Ok(EXIT_ERROR);
    }
    if !a.from_cluster && (a.input.paths.is_empty() || a.input.paths.iter().any(|p| p == "-")) {
        writeln!(
            stderr,
            "synroute: error: watch needs files or folders to watch (stdin cannot change), or --from-cluster"
        )?;
        return Ok(EXIT_ERROR);
    }
    let (paths, exclude) = (a.input.paths.clone(), a.input.select.exclude.clone());
    let (from_cluster, crd_recheck) = (a.from_cluster, a.crd_recheck);
    let namespace = a.input.select.namespace.clone();
    let settings = watch_settings(a);
    if from_cluster {
        crate::cluster::run(settings, namespace, crd_recheck, stderr)?;
    } else {
        watch::run_files(settings, paths, exclude, stderr)?;
    }
    Ok(EXIT_OK)
}

/// What the loop does on each render: render with the flags, log the
/// diagnostics, write through `write_outputs`, then signal as asked.
pub(super) fn watch_settings(a: WatchArgs) -> crate::watch::Settings {
    use crate::watch::{self, Reload, Settings};
    let target = a.input.select.target.unwrap_or_default();
    let reload = match (&a.reload_pid_file, a.no_reload, a.reload_process_name) {
        (_, true, _) => Reload::Off,
        (Some(f), false, _) => Reload::PidFile(f.clone()),
        (None, false, Some(name)) => Reload::Name(name),
        // Pingress's proxy reloads on its own when its folder changes.
        (None, false, None) if target == crate::target::Target::Pingress => Reload::Off,
        (None, false, None) => Reload::Name("synapse".to_string()),
    };
    let select = a.input.select;
    let (output, certs_out, allow_empty) = (a.output, a.certs_out, a.allow_empty);
    let mut last_diagnostics: Vec<serde_json::Value> = Vec::new();
    Settings {
        debounce: a.debounce,
        reload,
        ready_file: a.ready_file,
        max_renders: a.max_renders,
        render: Box::new(move |sources, log_out| {
            // Options are built per render: the clock moves on.
            let rendered = render(sources, &options(&select, false));
            // Diagnostics are logged when they differ from the last
            // render's, not again on every change elsewhere.
            let diagnostics: Vec<serde_json::Value> = rendered
                .diagnostics
                .iter()
                .map(|d| {
                    let at = d
                        .location
                        .as_ref()
                        .map(|l| format!("{}:{}", l.file, l.line))
                        .unwrap_or_default();
                    serde_json::json!({
                        "code": d.code.id(),
                        "severity": d.severity.as_str(),
                        "at": at,
                        "message": d.message,
                    })
                })
                .collect();
            if diagnostics != last_diagnostics {
                for d in &diagnostics {
                    watch::log(log_out, "diagnostic", d.clone());
                }
                last_diagnostics = diagnostics;
            }
            if rendered.malformed {
                watch::log(
                    log_out,
                    "error",
                    serde_json::json!({"message": "the input is malformed; the last good files stay"}),
                );
                return Ok(None);
            }
            if !allow_empty && let Some(d) = empty_render_refusal(&output, &rendered) {
                watch::log(
                    log_out,
                    "refused",
                    serde_json::json!({
                        "code": d.code.id(),
                        "at": format!("{}:1", output.display()),
                        "message": d.message,
                        "hint": d.hint,
                    }),
                );
                return Ok(None);
            }
            let changed = write_outputs(
                Some(&output),
                certs_out.as_deref(),
                &rendered,
                &|w: &mut dyn Write| w.write_all(&rendered.upstreams),
            )?;
            watch::log(
                log_out,
                if changed { "changed" } else { "unchanged" },
                serde_json::json!({
                    "hosts": rendered.table.hosts.len(),
                    "certificates": rendered.table.certs.len(),
                }),
            );
            Ok(Some(changed))
        }),
    }
}
