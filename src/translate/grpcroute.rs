//! GRPCRoute (v1, v1alpha2) → route table entries, after every HTTPRoute.
//!
//! Attachment is the Gateway API's (`attach.rs`), with what the GRPCRoute
//! spec adds there: HTTPS listeners only (a plain listener would need h2c,
//! which Synapse does not speak) and no hostname shared with HTTPRoutes on
//! a listener. A gRPC call is a POST of `/service/method` over HTTP/2, so
//! matches become paths:
//! - service and method (Exact): the path `/service/method` (v2 matches
//!   it exactly; v1 and 0.2 key it as a prefix, which a gRPC path, two
//!   segments, never goes below);
//! - service alone: the prefix `/service` — every method of it;
//! - method alone: any service's method, an expression (v2); v1 and 0.2
//!   cannot say it (UnsupportedMatch, as a dropped HTTPRoute condition);
//! - RegularExpression: `^/(?:service)/(?:method)$` (v2), checked as
//!   Synapse's engine reads it; refused by v1 and 0.2 (SR1203);
//! - header matches: dropped and reported, as for HTTPRoute.
//!
//! Every entry speaks HTTP/2 to its backends (`http2_enabled: true`).
//! Backends, weights, ReferenceGrants and header modifiers are shared
//! with `httproute.rs`; a request mirror, an ExtensionRef and session
//! persistence are reported. Routes are taken in the SPEC's order
//! (creationTimestamp, then namespace/name): the first to claim a key
//! keeps it.

use std::sync::Arc;

use gateway_api::experimental::grpcroutes::{GrpcRouteRules, GrpcRouteRulesMatchesMethodType};

use super::attach::{RouteView, attach};
use super::httproute::Pending;
use super::rules::{
    RefView, apply_header_mod, dropped_conditions, header_mod, ref_view, resolved_refs_of,
    route_hosts, servers_of, sticky,
};
use super::scope::Scope;
use super::{Ctx, annotations, regex};
use crate::diag::Code;
use crate::ir::{PathEntry, PathMatch, Provenance, RouteMatch, Server, Transforms};
use crate::model::{FieldPath, GrpcRoute, Obj, Origin, diag_at};

/// Translates every GRPCRoute; `by_listener` gets the hosts each reached
/// its listeners with (for their certificates).
pub fn translate(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    pending: &mut Pending,
    by_listener: &mut [Vec<String>],
) {
    let snap = ctx.snap;
    let mut routes: Vec<&Obj<GrpcRoute>> = snap.grpc_routes.values().collect();
    // Those that carry a creationTimestamp first, oldest first; the map's
    // namespace/name order breaks ties (the sort is stable).
    routes.sort_by_key(|r| {
        let created = r.value.metadata.creation_timestamp.as_ref().map(|t| t.0);
        (created.is_none(), created)
    });
    for route in routes {
        let Some(view) = RouteView::of_grpc(route) else {
            continue;
        };
        let mut listener_hosts = Vec::new();
        let first_status = ctx.route_status.len();
        let targets = attach(ctx, &view, scope, &mut listener_hosts);
        for (i, host) in listener_hosts {
            if let Some(hosts) = by_listener.get_mut(i) {
                hosts.push(host);
            }
        }
        if targets.is_some() {
            let refs = route
                .value
                .spec
                .iter()
                .flat_map(|s| s.rules.iter().flatten())
                .flat_map(|r| r.backend_refs.iter().flatten())
                .map(|b| ref_view!(b));
            let resolved = resolved_refs_of(ctx, &route.origin, "GRPCRoute", refs);
            for st in ctx.route_status.iter_mut().skip(first_status) {
                st.conditions.push(resolved.clone());
            }
        }
        if let Some(targets) = targets.filter(|t| !t.is_empty()) {
            render(ctx, route, &targets, pending);
        }
    }
}

fn render(
    ctx: &mut Ctx<'_>,
    route: &Obj<GrpcRoute>,
    targets: &[super::attach::Reached],
    pending: &mut Pending,
) {
    let origin = &route.origin;
    let Some(spec) = route.value.spec.as_ref() else {
        return;
    };
    let ann = annotations::read(
        route.value.metadata.annotations.as_ref(),
        origin,
        ctx.target(),
        &mut ctx.diags,
    );
    let hosts: Vec<String> = route_hosts(ctx, origin, targets)
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    let mut rendered = false;
    for (ri, rule) in spec.rules.iter().flatten().enumerate() {
        let rfield = FieldPath::of(&["spec", "rules"]).idx(ri);
        let mut settings = (*ann.settings).clone();
        // gRPC is HTTP/2 end to end.
        settings.http2_enabled = Some(true);
        filters(ctx, origin, rule, &rfield, &mut settings);
        if rule.session_persistence.is_some() {
            ctx.push(diag_at(
                Code::UnsupportedFilter,
                "rule field sessionPersistence has no Synapse equivalent; the rule renders without it".to_string(),
                origin,
                &rfield.key("sessionPersistence"),
            ));
        }
        let refs: Vec<RefView<'_>> = rule
            .backend_refs
            .iter()
            .flatten()
            .map(|b| ref_view!(b))
            .collect();
        let servers: Arc<[Server]> = servers_of(ctx, origin, "GRPCRoute", &refs, &rfield).into();
        let keys = match_keys(ctx, origin, rule, &rfield);
        let settings = Arc::new(settings);
        for host in &hosts {
            for (m, conditional, mfield) in &keys {
                let prov = Provenance {
                    origin: origin.clone(),
                    field: mfield.clone(),
                };
                if servers.is_empty() {
                    pending.fall_through(host.clone(), m.clone(), prov);
                    continue;
                }
                let entry = PathEntry::new(servers.clone(), settings.clone(), prov, *conditional);
                rendered |= ctx.claim_match(host, m.clone(), entry);
            }
        }
    }
    sticky(ctx, origin, rendered, ann.sticky);
}

/// Applies the rule's filters to `settings`, as the target can say them.
fn filters(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &GrpcRouteRules,
    rfield: &FieldPath,
    settings: &mut crate::ir::PathSettings,
) {
    let mut transforms = Transforms::default();
    for (fi, f) in rule.filters.iter().flatten().enumerate() {
        let ffield = rfield.key("filters").idx(fi);
        match format!("{:?}", f.r#type).as_str() {
            "RequestHeaderModifier" => {
                if let Some(m) = &f.request_header_modifier {
                    let m = header_mod!(m);
                    apply_header_mod(ctx, origin, &ffield, m, true, settings, &mut transforms);
                }
            }
            "ResponseHeaderModifier" => {
                if let Some(m) = &f.response_header_modifier {
                    let m = header_mod!(m);
                    apply_header_mod(ctx, origin, &ffield, m, false, settings, &mut transforms);
                }
            }
            other => ctx.push(diag_at(
                Code::UnsupportedFilter,
                format!("{other} has no Synapse equivalent; the rule renders without it"),
                origin,
                &ffield,
            )),
        }
    }
    if !transforms.is_empty() {
        settings.transforms = Some(Box::new(transforms));
    }
}

/// A gRPC service name as the GRPCRoute spec allows it in an Exact match
/// (`pkg.Service`, a leading `.` allowed): one a path can carry as it is.
fn service_name(s: &str) -> bool {
    let s = s.strip_prefix('.').unwrap_or(s);
    !s.is_empty() && s.split('.').all(method_name)
}

/// A gRPC method name: a letter or `_`, then letters, digits and `_`.
fn method_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The rule's matches as (match, conditional, field), as the target can
/// say them.
fn match_keys(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &GrpcRouteRules,
    rfield: &FieldPath,
) -> Vec<(RouteMatch, bool, FieldPath)> {
    let matches = rule.matches.as_deref().unwrap_or_default();
    if matches.is_empty() {
        return vec![(RouteMatch::prefix("/"), false, rfield.clone())];
    }
    let v2 = ctx.target().v2();
    let mut keys = Vec::new();
    for (mi, m) in matches.iter().enumerate() {
        let mfield = rfield.key("matches").idx(mi);
        let methfield = mfield.key("method");
        let mut dropped = Vec::new();
        let method = m.method.as_ref();
        let service = method
            .and_then(|x| x.service.as_deref())
            .filter(|s| !s.is_empty());
        let name = method
            .and_then(|x| x.method.as_deref())
            .filter(|s| !s.is_empty());
        let regex = method
            .and_then(|x| x.r#type.as_ref())
            .is_some_and(|t| *t == GrpcRouteRulesMatchesMethodType::RegularExpression);
        let path = if regex {
            let part = |p: Option<&str>| p.map_or("[^/]+".to_string(), |p| format!("(?:{p})"));
            let pattern = format!("^/{}/{}$", part(service), part(name));
            if !v2 {
                ctx.push(diag_at(
                    Code::UnsupportedPathRegex,
                    format!("a RegularExpression method match ({pattern}) cannot be matched by {}; the match is not rendered (target v2 can)", ctx.target().describe()),
                    origin,
                    &methfield,
                ));
                continue;
            }
            match regex::for_synapse(&pattern) {
                Ok(re) => PathMatch::Regex(re),
                Err(why) => {
                    ctx.push(diag_at(
                        Code::UnsupportedPathRegex,
                        format!("the RegularExpression method match {pattern:?} is not one Synapse's engine compiles ({why}); the match is not rendered"),
                        origin,
                        &methfield,
                    ));
                    continue;
                }
            }
        } else {
            if let Some(bad) = service
                .filter(|s| !service_name(s))
                .or(name.filter(|n| !method_name(n)))
            {
                ctx.push(diag_at(
                    Code::InvalidPath,
                    format!("{bad:?} is not a gRPC service or method name (letters, digits, `_`; a service's parts joined by `.`); the match is not rendered"),
                    origin,
                    &methfield,
                ));
                continue;
            }
            match (service, name) {
                (Some(s), Some(n)) if v2 => PathMatch::Exact(format!("/{s}/{n}")),
                // No gRPC path goes below `/service/method`: the prefix
                // answers exactly the calls of that method.
                (Some(s), Some(n)) => PathMatch::Prefix(format!("/{s}/{n}")),
                (Some(s), None) => PathMatch::Prefix(format!("/{s}")),
                (None, Some(n)) if v2 => match regex::for_synapse(&format!("^/[^/]+/{n}$")) {
                    Ok(re) => PathMatch::Regex(re),
                    Err(_) => continue,
                },
                (None, Some(_)) => {
                    dropped.push("method (without a service)");
                    PathMatch::Prefix("/".to_string())
                }
                (None, None) => PathMatch::Prefix("/".to_string()),
            }
        };
        if m.headers.as_ref().is_some_and(|h| !h.is_empty()) {
            dropped.push("headers");
        }
        let rm = RouteMatch { path, method: None };
        let conditional = dropped_conditions(ctx, origin, &mfield, &dropped, &rm);
        keys.push((rm, conditional, mfield));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_names() {
        assert!(service_name("helloworld.Greeter"));
        assert!(service_name(".grpc.health.v1.Health"));
        assert!(!service_name("a/b"));
        assert!(!service_name("a..b"));
        assert!(!service_name("1a"));
        assert!(method_name("SayHello"));
        assert!(method_name("_x9"));
        assert!(!method_name("Say Hello"));
        assert!(!method_name(""));
    }
}
