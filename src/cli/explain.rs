//! `explain`: which route a request takes and why, in words.
//!
//! Which entry a request takes is `route/`'s; this file renders, asks it,
//! and puts the answer in words.

use std::io::{self, Read, Write};

use super::{
    EXIT_ERROR, EXIT_FOUND, EXIT_OK, ExplainArgs, Groups, options, print_diagnostics, read_inputs,
};
use crate::diag::Severity;
use crate::route::{Probe, Request, Table, lookup_request};
use crate::target::Target;
use crate::{Rendered, Source, render};

pub(super) fn cmd_explain(
    a: ExplainArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let Some(req) = Request::parse(&a.url) else {
        writeln!(stderr, "synroute: error: {:?} is not an http(s) URL", a.url)?;
        return Ok(EXIT_ERROR);
    };
    let sources = read_inputs(&a.input, stdin)?;
    let rendered = render(
        &sources,
        &options(
            &a.input.read,
            Groups {
                route: Some(&a.route),
                addr: Some(&a.addr),
                ..Groups::default()
            },
            false,
        ),
    );
    if rendered.malformed {
        print_diagnostics(&rendered, Severity::Error, stderr)?;
        writeln!(stderr, "synroute: the input is malformed")?;
        return Ok(EXIT_ERROR);
    }
    let probe = Probe {
        path: req.path.clone(),
        method: a.method.to_ascii_uppercase(),
    };
    let text = explain_request(&rendered, &req, &probe, &sources);
    stdout.write_all(text.as_bytes())?;
    Ok(
        if lookup_request(&rendered.table, &req.host, &probe).is_some()
            && handshake_ok(&rendered, &req)
        {
            EXIT_OK
        } else {
            EXIT_FOUND
        },
    )
}

/// Why Pingress fails the TLS handshake for `host` (no certificate for
/// that SNI), and that what follows is the plain-HTTP answer.
fn pingress_handshake_fails(rendered: &Rendered, host: &str) -> String {
    let table = &rendered.table;
    let why = match crate::route::pingress_host(table, host) {
        Some((k, h)) if h.certificate.is_some() && crate::emit::pingress::is_wildcard(k) => {
            format!("the certificate of wildcard host {k} is never served (SR1614)")
        }
        Some((k, h)) if h.certificate.is_some() => {
            format!("the certificate of {k} would stop Pingress and is left out (SR1613)")
        }
        Some((k, _)) => format!("{k} has no TLS in proxy.json"),
        None => format!("no rule of proxy.json names {host}"),
    };
    format!(
        "  tls      the handshake fails: Pingress serves a certificate only to an SNI that is a rule's exact host with TLS files, and {why}; over plain HTTP:\n"
    )
}

/// Whether the request gets an answer from the proxy past its TLS
/// handshake: Pingress has no certificate but for its exact TLS hosts.
fn handshake_ok(rendered: &Rendered, req: &Request) -> bool {
    rendered.table.target != Target::Pingress
        || !req.https
        || crate::route::pingress_tls(&rendered.table, &req.host)
}

/// True when `message` names `host` as a whole name, not inside another.
pub(super) fn mentions_host(message: &str, host: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    message.match_indices(host).any(|(i, _)| {
        let before_ok = message[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !is_name_char(c) && c != '.');
        let mut after = message[i + host.len()..].chars();
        let after_ok = match after.next() {
            None => true,
            Some('.') => !after.next().is_some_and(is_name_char),
            Some(c) => !is_name_char(c),
        };
        before_ok && after_ok
    })
}

/// The human-readable answer of `explain` for a GET.
pub fn explain_text(rendered: &Rendered, req: &Request, sources: &[Source]) -> String {
    explain_request(rendered, req, &Probe::get(&req.path), sources)
}

/// The human-readable answer of `explain`: the entry the target's Synapse
/// picks for the request, how it got there, and where it came from.
pub fn explain_request(
    rendered: &Rendered,
    req: &Request,
    probe: &Probe,
    sources: &[Source],
) -> String {
    let scheme = if req.https { "https" } else { "http" };
    let mut out = format!("{scheme}://{}{}\n", req.host, req.path);
    let target = rendered.table.target;
    if target.v2() || probe.method != "GET" {
        out.push_str(&format!(
            "  request  {} (as {} reads its file)\n",
            probe.method,
            target.describe()
        ));
    }
    let proxy = target.proxy();
    let status = target.no_route_status();
    if target == Target::Pingress
        && req.https
        && !crate::route::pingress_tls(&rendered.table, &req.host)
    {
        out.push_str(&pingress_handshake_fails(rendered, &req.host));
    }
    let Some(m) = lookup_request(&rendered.table, &req.host, probe) else {
        let served = match target {
            Target::V2 => {
                crate::route::v2_host(&rendered.table, &req.host).map(|(h, _)| h.to_string())
            }
            Target::Pingress => {
                crate::route::pingress_host(&rendered.table, &req.host).map(|(h, _)| h.to_string())
            }
            Target::V1 | Target::V02 => rendered.table.host(&req.host).map(|_| req.host.clone()),
        };
        if let Some(h) = served {
            out.push_str(&format!(
                "  no entry: host {h} has no route that {} {} matches; {proxy} answers {status}\n",
                probe.method, req.path
            ));
        } else if rendered.table.host(&req.host).is_some() {
            out.push_str(&format!(
                "  no entry: host {} has no path that {} falls under; {proxy} answers {status}\n",
                req.host, req.path
            ));
        } else {
            out.push_str(&format!(
                "  no entry: host {} is not in {}; {proxy} answers {status}\n",
                req.host,
                target.file_name()
            ));
        }
        // Whatever synroute said about this host explains its absence,
        // infos included (an Ingress of another class, say).
        let about: Vec<_> = rendered
            .diagnostics
            .iter()
            .filter(|d| mentions_host(&d.message, &req.host))
            .collect();
        for d in about {
            out.push_str(&format!("  see: {}\n", d.concise().replace('\n', "\n  ")));
        }
        return out;
    };
    match &m.table {
        Table::Internal => out.push_str("  table    internal_paths (checked before any host)\n"),
        Table::Host(h) => {
            let cert = rendered
                .table
                .host(h)
                .and_then(|e| e.certificate.as_deref());
            match (req.https, cert) {
                (true, _) if target == Target::Pingress => {
                    if crate::route::pingress_tls(&rendered.table, &req.host) {
                        let stem = crate::emit::pingress::key_file_stem(h);
                        out.push_str(&format!(
                            "  host     {h} (TLS files {stem}.cert, {stem}.key)\n"
                        ))
                    } else {
                        out.push_str(&format!("  host     {h}\n"))
                    }
                }
                (true, Some(c)) => out.push_str(&format!("  host     {h} (certificate {c})\n")),
                (true, None) => out.push_str(&format!(
                    "  host     {h} (no certificate of its own: Synapse's default)\n"
                )),
                (false, _) => out.push_str(&format!("  host     {h}\n")),
            }
            out.push_str(&format!("  tried    {}\n", m.tried.join(" → ")));
        }
    }
    out.push_str(&format!("  entry    {}\n", m.key));
    if let Some(e) = &m.expr {
        out.push_str(&format!("  matches  {e}\n"));
    }
    if let Some(to) = &m.entry.settings.redirect {
        out.push_str(&format!("  redirect {} {}\n", to.status, to.location));
    }
    // 0.2 serves the pool its file holds: servers repeated by weight, and
    // none it cannot dial.
    let v02_pool;
    let servers: &[crate::ir::Server] = if target == Target::V02 {
        v02_pool = crate::route::file::v02_servers(&m.entry.servers);
        &v02_pool
    } else {
        &m.entry.servers
    };
    let weighted = servers.iter().any(|s| s.weight.is_some());
    let listed: u32 = servers.iter().filter_map(|s| s.weight).sum();
    for (i, s) in servers.iter().enumerate() {
        let label = if i == 0 { "  servers  " } else { "           " };
        if let (Target::Pingress, Some(svc)) = (target, s.service.as_deref()) {
            out.push_str(&format!(
                "{label}Service {}/{} port {} ({})\n",
                svc.namespace, svc.name, svc.port, s.address
            ));
            continue;
        }
        match s.weight {
            Some(w) if target == Target::V02 => out.push_str(&format!(
                "{label}{} (listed {w} of {listed} times)\n",
                s.address
            )),
            Some(w) => out.push_str(&format!("{label}{} (weight {w})\n", s.address)),
            None if weighted => out.push_str(&format!("{label}{} (weight 1)\n", s.address)),
            None => out.push_str(&format!("{label}{}\n", s.address)),
        }
    }
    if target == Target::V02 {
        for s in m.entry.servers.iter() {
            if !crate::emit::v02::dialable(&s.address) {
                out.push_str(&format!(
                    "  dropped  {} (0.2 cannot dial it; not in the file)\n",
                    s.address
                ));
            }
        }
    }
    let st = &m.entry.settings;
    if target.annotations() {
        settings_text(st, &mut out);
    }
    let p = &m.entry.provenance;
    let loc = crate::locate(&p.origin, &p.field, sources);
    out.push_str(&format!(
        "  from     {} at {}:{}",
        p.origin.describe(),
        loc.file,
        loc.line
    ));
    if !p.field.is_root() {
        out.push_str(&format!(" ({})", p.field));
    }
    out.push('\n');
    out
}

/// The per-path flags and headers of an entry, for the Synapse targets.
fn settings_text(st: &crate::ir::PathSettings, out: &mut String) {
    let mut flags = vec![format!("ssl_enabled: {}", st.ssl_enabled)];
    let mut opt = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            flags.push(format!("{name}: {v}"));
        }
    };
    opt("http2_enabled", st.http2_enabled.map(|b| b.to_string()));
    opt(
        "https_proxy_enabled",
        st.https_proxy_enabled.map(|b| b.to_string()),
    );
    opt(
        "connection_timeout",
        st.connect_timeout.map(|b| b.to_string()),
    );
    opt("read_timeout", st.read_timeout.map(|b| b.to_string()));
    opt("write_timeout", st.write_timeout.map(|b| b.to_string()));
    opt("idle_timeout", st.idle_timeout.map(|b| b.to_string()));
    opt("healthcheck", st.healthcheck.map(|b| b.to_string()));
    opt(
        "disable_access_log",
        st.disable_access_log.map(|b| b.to_string()),
    );
    out.push_str(&format!("  flags    {}\n", flags.join(", ")));
    if !st.request_headers.is_empty() {
        out.push_str(&format!(
            "  request headers   {}\n",
            st.request_headers.join(", ")
        ));
    }
    if !st.response_headers.is_empty() {
        out.push_str(&format!(
            "  response headers  {}\n",
            st.response_headers.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_mentions_are_whole_names() {
        assert!(mentions_host("hosts a.example.com, b", "a.example.com"));
        assert!(mentions_host("served a.example.com/api.", "a.example.com"));
        assert!(mentions_host("(hosts a.example.com)", "a.example.com"));
        assert!(!mentions_host("hosts aa.example.com", "a.example.com"));
        assert!(!mentions_host("hosts a.example.com.au", "a.example.com"));
    }
}
