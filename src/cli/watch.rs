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
    let (paths, exclude) = (a.input.paths.clone(), a.input.read.exclude.clone());
    let (from_cluster, crd_recheck, once) = (a.from_cluster, a.crd_recheck, a.once);
    let namespace = a.input.read.namespace.clone();
    let settings = match watch_settings(a) {
        Ok(s) => s,
        Err(why) => {
            writeln!(stderr, "synroute: error: {why}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let last = if from_cluster {
        crate::cluster::run(settings, namespace, crd_recheck, stderr)?
    } else {
        watch::run_files(settings, paths, exclude, stderr)?
    };
    // Only a loop that stops (--once) has a last render to answer for.
    Ok(if once && last == watch::Outcome::Failed {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

/// How the proxy of the target is told to reload, from the flags; a
/// usage error for a way that proxy does not have.
fn reload_of(a: &WatchArgs) -> Result<crate::watch::Reload, String> {
    use crate::reload::{Api, Reload};
    use crate::target::Target;
    let target = a.flags.routing.route.target.unwrap_or_default();
    let signalled = a.reload_pid_file.is_some() || a.reload_process_name.is_some();
    if target == Target::V02 && signalled {
        return Err(
            "--target 0.2: Synapse 0.2 has no SIGHUP handler and the signal ends it; it reloads through its config API (--synapse-api URL) or, by default, a trigger file its watcher sees".to_string(),
        );
    }
    if let Some(url) = &a.synapse_api {
        if target != Target::V02 {
            return Err(format!(
                "--synapse-api is the reload of Synapse 0.2 (--target 0.2); {} reloads on SIGHUP",
                target.describe()
            ));
        }
        if signalled {
            return Err("--synapse-api reloads through the API; give no --reload-process-name or --reload-pid-file".to_string());
        }
        let key = match &a.synapse_api_key_file {
            Some(f) => std::fs::read_to_string(f)
                .map_err(|e| format!("--synapse-api-key-file {}: {e}", f.display()))?,
            None => std::env::var("SYNAPSE_API_KEY").map_err(|_| {
                "--synapse-api needs the API's key: --synapse-api-key-file FILE, or SYNAPSE_API_KEY in the environment".to_string()
            })?,
        };
        return Ok(Reload::Api(Box::new(Api::new(
            url,
            key.trim(),
            a.output.clone(),
        )?)));
    }
    Ok(
        match (&a.reload_pid_file, a.no_reload, &a.reload_process_name) {
            (_, true, _) => Reload::Off,
            (Some(f), false, _) => Reload::PidFile(f.clone()),
            (None, false, Some(name)) => Reload::Name(name.clone()),
            // Pingress's proxy reloads on its own when its folder changes.
            (None, false, None) if target == Target::Pingress => Reload::Off,
            // 0.2's watcher misses a rename: a trigger file it does see.
            (None, false, None) if target == Target::V02 => Reload::Trigger(a.output.clone()),
            (None, false, None) => Reload::Name("synapse".to_string()),
        },
    )
}

/// What the loop does on each render: render with the flags, log the
/// diagnostics, write through `write_outputs`; and how the proxy is told.
pub(super) fn watch_settings(a: WatchArgs) -> Result<crate::watch::Settings, String> {
    use crate::watch::{self, Settings};
    let reload = reload_of(&a)?;
    let (read, flags) = (a.input.read, a.flags);
    let (output, certs_out, allow_empty) = (a.output, a.certs_out, a.allow_empty);
    let mut last_diagnostics: Vec<serde_json::Value> = Vec::new();
    Ok(Settings {
        debounce: a.debounce,
        reload,
        reload_repeat: a.reload_repeat,
        ready_file: a.ready_file,
        max_renders: if a.once { Some(1) } else { a.max_renders },
        render: Box::new(move |sources, log_out| {
            // Options are built per render: the clock moves on.
            let rendered = render(sources, &options(&read, flags.groups(), false));
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
    })
}
