//! Ingress (`networking.k8s.io/v1`) → route table entries.
//!
//! Class selection, rules and paths, defaultBackend, ACME solver paths and
//! `spec.tls`, in the SPEC's order: by creationTimestamp (objects that
//! carry one first), then namespace/name.
//!
//! It reads no Gateway API object; annotations are read through
//! `annotations.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::networking::v1::{HTTPIngressPath, IngressBackend, IngressSpec};

use crate::model::Ingress;

use super::backends::{BackendRef, PortRef, service_server};
use super::{Ctx, Op, acme, annotations, prefix_key, regex, report_path, routable_host, tls};
use crate::Options;
use crate::diag::Code;
use crate::ir::{Passthrough, PathEntry, PathMatch, Provenance, RouteMatch, Server};
use crate::model::{Anchored, FieldPath, Lookup, Obj, Origin, Snapshot, by_key, diag_at};

pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// What the translation of one Ingress on its own yields: diagnostics, and
/// the operations on the route table it asks for, to be replayed in order.
pub struct Alone {
    diags: Vec<Anchored>,
    ops: Vec<Op>,
}

/// Translates one Ingress on its own, as soon as it is read and on any
/// core (see `load::load_pending`): its table operations are recorded, not
/// applied, so that `translate` can apply them in the SPEC's order.
pub fn translate_alone<'a>(
    snap: &'a Snapshot,
    lookup: &'a Lookup<'a>,
    opts: &'a Options,
    ing: &Obj<Ingress>,
) -> Alone {
    let mut own = Ctx::recording(snap, opts, lookup);
    if is_ours(&mut own, ing) {
        translate_one(&mut own, ing);
    }
    let (diags, ops) = own.into_recorded();
    Alone { diags, ops }
}

/// Applies the Ingresses' own translations, given in the SPEC's order
/// (`load::Streamed`), so that
/// the first writer wins exactly as in a serial pass (and the result is the
/// same whatever `--jobs` is).
pub fn translate(ctx: &mut Ctx<'_>, alone: Vec<Alone>) {
    for Alone { diags, ops } in alone {
        ctx.diags.extend(diags);
        ctx.replay(ops);
    }
}

/// The one-server list for `server`: one of `pools` if it holds that
/// server, else a new one, added to them.
fn single_server(pools: &mut Vec<Arc<[Server]>>, server: Server) -> Arc<[Server]> {
    if let Some(found) = pools.iter().find(|p| matches!(&p[..], [s] if *s == server)) {
        return Arc::clone(found);
    }
    let pool: Arc<[Server]> = Arc::from([server]);
    pools.push(Arc::clone(&pool));
    pool
}

/// Class selection (SPEC §3): explicit class name, then the legacy
/// annotation, then a default IngressClass of our controller.
fn is_ours(ctx: &mut Ctx<'_>, ing: &Obj<Ingress>) -> bool {
    let want = ctx.opts.ingress_class.as_str();
    let explicit = ing
        .value
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref())
        .filter(|c| !c.is_empty());
    let legacy = ing
        .value
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CLASS_ANNOTATION))
        .map(String::as_str);
    let (ours, why, field) = if let Some(c) = explicit {
        (
            c == want,
            format!("spec.ingressClassName is {c:?}"),
            FieldPath::of(&["spec", "ingressClassName"]),
        )
    } else if let Some(c) = legacy {
        (
            c == want,
            format!("annotation {CLASS_ANNOTATION} is {c:?}"),
            FieldPath::of(&["metadata", "annotations"]).key(CLASS_ANNOTATION),
        )
    } else {
        let ours = ctx.snap.ingress_classes.values().any(|c| {
            let default = c
                .value
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                .is_some_and(|v| v == "true");
            default
                && c.value.spec.as_ref().and_then(|s| s.controller.as_deref())
                    == Some(ctx.opts.controller_name.as_str())
        });
        (
            ours,
            "it names no class and no default IngressClass of controller ".to_string()
                + &ctx.opts.controller_name
                + " is in the input",
            FieldPath::of(&["spec"]),
        )
    };
    if ours {
        return true;
    }
    // A class of our controller under another name deserves a hint.
    let hinted = explicit.and_then(|c| by_key(&ctx.snap.ingress_classes, "", c));
    let controller = ctx.opts.controller_name.clone();
    match hinted {
        Some(class)
            if class
                .value
                .spec
                .as_ref()
                .and_then(|s| s.controller.as_deref())
                == Some(controller.as_str()) =>
        {
            ctx.push(
                diag_at(
                    Code::IngressClassHint,
                    format!(
                        "IngressClass {:?} has controller {controller}, but --ingress-class is {want:?}; the Ingress is not rendered",
                        class.origin.name
                    ),
                    &ing.origin,
                    &field,
                )
                .related("the IngressClass", &class.origin, &FieldPath::of(&["spec", "controller"]))
                .hint(format!("pass --ingress-class {}", class.origin.name)),
            );
        }
        _ => ctx.push(diag_at(
            Code::IngressClassIgnored,
            format!(
                "not of class {want:?} ({why}); the Ingress{} is not rendered",
                hosts_note(ing)
            ),
            &ing.origin,
            &field,
        )),
    }
    false
}

/// ` (hosts a, b)` for messages about an Ingress that is not rendered, so
/// that `explain` can tell a user why their host is missing.
fn hosts_note(ing: &Obj<Ingress>) -> String {
    let hosts: Vec<&str> = ing
        .value
        .spec
        .iter()
        .flat_map(|s| s.rules.iter().flatten())
        .filter_map(|r| r.host.as_deref())
        .collect();
    if hosts.is_empty() {
        String::new()
    } else {
        format!(" (hosts {})", hosts.join(", "))
    }
}

fn translate_one(ctx: &mut Ctx<'_>, ing: &Obj<Ingress>) {
    let origin = &ing.origin;
    let Some(spec) = ing.value.spec.as_ref() else {
        return;
    };
    let ann = annotations::read(
        ing.value.metadata.annotations.as_ref(),
        origin,
        ctx.target(),
        &mut ctx.diags,
    );
    if ann.passthrough {
        passthrough(ctx, ing, spec);
        return;
    }
    let rules_field = FieldPath::of(&["spec", "rules"]);
    // Hosts this Ingress renders under, in order, for TLS and defaultBackend.
    let mut hosts: Vec<String> = Vec::new();
    let mut tls_hosts: Vec<String> = Vec::new();
    // Membership through sets: an Ingress with thousands of rules made
    // the scans of these lists quadratic.
    let mut seen_hosts: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut seen_tls: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut own_root: BTreeSet<String> = BTreeSet::new();
    let mut rendered = false;
    // One server list per backend address, shared by every path to it.
    let mut pools: Vec<Arc<[Server]>> = Vec::new();
    for (ri, rule) in spec.rules.iter().flatten().enumerate() {
        let rfield = rules_field.idx(ri);
        if let Some(h) = rule.host.as_deref().filter(|h| !h.is_empty())
            && seen_tls.insert(h)
        {
            tls_hosts.push(h.to_string());
        }
        let paths = rule
            .http
            .as_ref()
            .map(|h| h.paths.as_slice())
            .unwrap_or_default();
        // ACME solver paths are host-independent: route them first.
        let mut host_paths = Vec::new();
        for (pi, p) in paths.iter().enumerate() {
            let pfield = rfield.key("http").key("paths").idx(pi);
            let raw = p.path.as_deref().unwrap_or("");
            if let Some(key) = acme::challenge_key(raw) {
                if let Some(server) =
                    backend_server(ctx, origin, &p.backend, &pfield.key("backend"))
                {
                    let prov = Provenance {
                        origin: origin.clone(),
                        field: pfield,
                    };
                    let names = solver_names(ctx, rule.host.as_deref(), origin, &rfield);
                    acme::claim_solver(ctx, key, server, prov, names);
                }
            } else {
                host_paths.push((pi, p, pfield));
            }
        }
        if host_paths.is_empty() && rule.http.is_some() {
            continue;
        }
        let Some(host) = routable_host(ctx, rule.host.as_deref(), origin, &rfield.key("host"))
        else {
            continue;
        };
        if seen_hosts.insert(host.clone()) {
            hosts.push(host.clone());
        }
        for (_, p, pfield) in host_paths {
            let Some(m) = path_match(ctx, origin, p, &pfield, ann.use_regex) else {
                continue;
            };
            let Some(server) = backend_server(ctx, origin, &p.backend, &pfield.key("backend"))
            else {
                continue;
            };
            let entry = PathEntry {
                servers: single_server(&mut pools, server),
                settings: ann.settings.clone(),
                provenance: Provenance {
                    origin: origin.clone(),
                    field: pfield,
                },
                conditional: false,
                seq: 0,
            };
            if m.plain_key() == Some("/") {
                own_root.insert(host.clone());
            }
            rendered |= ctx.claim_match(&host, m, entry);
        }
    }
    if let Some(backend) = spec.default_backend.as_ref() {
        rendered |= default_backend(ctx, ing, backend, &hosts, &own_root, &ann.settings);
    }
    if rendered && ann.sticky {
        ctx.set_sticky(Provenance {
            origin: origin.clone(),
            field: FieldPath::of(&["metadata", "annotations"])
                .key("synapse.gen0sec.com/sticky-sessions"),
        });
    }
    for (ti, t) in spec.tls.iter().flatten().enumerate() {
        let tfield = FieldPath::of(&["spec", "tls"]).idx(ti);
        let Some(secret) = t.secret_name.as_deref().filter(|s| !s.is_empty()) else {
            ctx.push(diag_at(
                Code::TlsWithoutSecret,
                format!("the TLS entry names no Secret; {} serves its default certificate for these hosts", ctx.target().proxy()),
                origin,
                &tfield,
            ));
            continue;
        };
        let listed: Vec<String> = t.hosts.clone().unwrap_or_default();
        let entry_hosts = if listed.is_empty() {
            tls_hosts.clone()
        } else {
            listed
        };
        tls::project_entry(
            ctx,
            &origin.namespace,
            secret,
            &entry_hosts,
            origin,
            &tfield.key("secretName"),
        );
    }
}

/// How one Ingress path matches, as the target can say it; None after
/// reporting why it is not rendered.
fn path_match(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    p: &HTTPIngressPath,
    pfield: &FieldPath,
    use_regex: bool,
) -> Option<RouteMatch> {
    let raw = p.path.as_deref().unwrap_or("");
    let kind = p.path_type.as_str();
    if use_regex && matches!(kind, "Prefix" | "ImplementationSpecific") {
        // ingress-nginx's reading: the path is a regex anchored at the
        // start of the request's path.
        let pattern = format!("^{}", if raw.is_empty() { "/" } else { raw });
        return match regex::for_synapse(&pattern) {
            Ok(re) => Some(RouteMatch {
                path: PathMatch::Regex(re),
                method: None,
            }),
            Err(why) => {
                ctx.push(diag_at(
                    Code::UnsupportedPathRegex,
                    format!("path {raw:?} is not a regular expression Synapse's engine compiles ({why}); it is not rendered"),
                    origin,
                    &pfield.key("path"),
                ));
                None
            }
        };
    }
    let key = match prefix_key(raw) {
        Ok(k) => k,
        Err(problem) => {
            report_path(ctx, problem, raw, origin, &pfield.key("path"));
            return None;
        }
    };
    match kind {
        "Prefix" | "ImplementationSpecific" => Some(RouteMatch::prefix(key)),
        "Exact" if ctx.target().exact_paths() => Some(RouteMatch {
            path: PathMatch::Exact(if raw.is_empty() {
                "/".into()
            } else {
                raw.into()
            }),
            method: None,
        }),
        "Exact" => {
            ctx.push(diag_at(
                Code::ExactPathApproximated,
                format!(
                    "Exact path {key} is rendered as a prefix: it also answers requests below it"
                ),
                origin,
                &pfield.key("pathType"),
            ));
            Some(RouteMatch::prefix(key))
        }
        other => {
            ctx.push(diag_at(
                Code::InvalidPath,
                format!("pathType {other:?} is not Prefix, Exact or ImplementationSpecific; the path is not rendered"),
                origin,
                &pfield.key("pathType"),
            ));
            None
        }
    }
}

/// The names an HTTP-01 solver of `rule_host` answers for, which v2 and
/// Pingress need (they route the solver on their host); none for v1 and
/// 0.2, whose internal paths answer every host.
fn solver_names(
    ctx: &mut Ctx<'_>,
    rule_host: Option<&str>,
    origin: &Arc<Origin>,
    rfield: &FieldPath,
) -> Vec<String> {
    if !ctx.target().solvers_on_hosts() {
        return Vec::new();
    }
    routable_host(ctx, rule_host, origin, &rfield.key("host"))
        .into_iter()
        .collect()
}

/// `ssl-passthrough` (v2): each rule host is passed through as TLS to the
/// first backend of its rule; nothing of the Ingress is routed as HTTP.
fn passthrough(ctx: &mut Ctx<'_>, ing: &Obj<Ingress>, spec: &IngressSpec) {
    let origin = &ing.origin;
    for (ri, rule) in spec.rules.iter().flatten().enumerate() {
        let rfield = FieldPath::of(&["spec", "rules"]).idx(ri);
        let Some(host) = routable_host(ctx, rule.host.as_deref(), origin, &rfield.key("host"))
        else {
            continue;
        };
        let paths = rule
            .http
            .as_ref()
            .map(|h| h.paths.as_slice())
            .unwrap_or_default();
        let Some((pi, first)) = paths.iter().enumerate().next() else {
            continue;
        };
        let bfield = rfield.key("http").key("paths").idx(pi).key("backend");
        let Some(Server {
            address: upstream, ..
        }) = backend_server(ctx, origin, &first.backend, &bfield)
        else {
            continue;
        };
        if paths.len() > 1 {
            ctx.push(diag_at(
                Code::NotInTarget,
                format!("{host} is passed through as TLS to one server, {upstream}; the rule's other paths are not rendered (Synapse sees no path of a passthrough host)"),
                origin,
                &rfield.key("http").key("paths"),
            ));
        }
        ctx.claim_passthrough(
            &host,
            Passthrough {
                upstream,
                provenance: Provenance {
                    origin: origin.clone(),
                    field: bfield,
                },
            },
        );
    }
}

/// Adds `spec.defaultBackend` as `/` of the Ingress's hosts without one.
fn default_backend(
    ctx: &mut Ctx<'_>,
    ing: &Obj<Ingress>,
    backend: &IngressBackend,
    hosts: &[String],
    own_root: &BTreeSet<String>,
    settings: &Arc<crate::ir::PathSettings>,
) -> bool {
    let origin = &ing.origin;
    let field = FieldPath::of(&["spec", "defaultBackend"]);
    let mut targets: Vec<String> = hosts
        .iter()
        .filter(|h| !own_root.contains(*h))
        .cloned()
        .collect();
    if let Some(catch_all) = &ctx.opts.catch_all_host
        && !own_root.contains(catch_all)
        && !targets.contains(catch_all)
    {
        targets.push(catch_all.clone());
    }
    if targets.is_empty() {
        if hosts.is_empty() {
            ctx.push(diag_at(
                Code::CatchAllHostUnsupported,
                format!("spec.defaultBackend matches every host, which {} cannot express; it is not rendered", ctx.target().proxy()),
                origin,
                &field,
            ));
        }
        return false;
    }
    let Some(server) = backend_server(ctx, origin, backend, &field) else {
        return false;
    };
    let mut rendered = false;
    let servers = single_server(&mut Vec::new(), server);
    for host in &targets {
        let entry = PathEntry {
            servers: servers.clone(),
            settings: settings.clone(),
            provenance: Provenance {
                origin: origin.clone(),
                field: field.clone(),
            },
            conditional: false,
            seq: 0,
        };
        rendered |= ctx.claim(host, "/", entry);
    }
    ctx.push(diag_at(
        Code::DefaultBackendLimited,
        format!(
            "spec.defaultBackend is rendered as / of {}; requests for other hosts do not reach it",
            targets.join(", ")
        ),
        origin,
        &field,
    ));
    rendered
}

/// An Ingress backend's server, or None after reporting why not.
fn backend_server(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    backend: &IngressBackend,
    field: &FieldPath,
) -> Option<Server> {
    let Some(svc) = backend.service.as_ref() else {
        let what = if backend.resource.is_some() {
            "backend.resource"
        } else {
            "a backend without a service"
        };
        ctx.push(diag_at(
            if backend.resource.is_some() {
                Code::UnsupportedBackend
            } else {
                Code::BackendUnresolved
            },
            format!(
                "{what} cannot be proxied by {}; the path is not rendered",
                ctx.target().proxy()
            ),
            origin,
            field,
        ));
        return None;
    };
    let port = match svc.port.as_ref() {
        Some(p) => match (p.number, p.name.as_deref()) {
            (Some(n), _) => PortRef::Number(n),
            (None, Some(name)) if !name.is_empty() => PortRef::Name(name),
            _ => PortRef::Missing,
        },
        None => PortRef::Missing,
    };
    service_server(
        ctx,
        BackendRef {
            namespace: &origin.namespace,
            name: &svc.name,
            port,
            origin,
            field: &field.key("service"),
            missing: Code::ServiceNotInInput,
        },
    )
}
