//! Service backends → `host:port` addresses.
//!
//! A backend names a Service and a port (by number or by name). The address
//! is the Service's cluster DNS name, or its `externalName` for an
//! ExternalName Service. Named ports are looked up in the Service's
//! `spec.ports`; what cannot be resolved is reported, never guessed.

use crate::model::Service;
use std::sync::Arc;

use super::Ctx;
use crate::diag::Code;
use crate::ir::{Server, ServiceRef};
use crate::model::{FieldPath, Obj, Origin, diag_at};

/// How a backend names its port.
#[derive(Clone, Copy, Debug)]
pub enum PortRef<'a> {
    Number(i32),
    Name(&'a str),
    Missing,
}

/// A Service backend: where it is named and what a missing Service means.
pub struct BackendRef<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub port: PortRef<'a>,
    /// The object naming the backend and the backend's field (its port's
    /// is `field.port`, built only for a diagnostic).
    pub origin: &'a Arc<Origin>,
    pub field: &'a FieldPath,
    /// The code for a Service that is not in the input (Ingress: info
    /// ServiceNotInInput; HTTPRoute: warning BackendNotFound).
    pub missing: Code,
}

/// Whether a route of `route_kind` in `origin`'s namespace may reach the
/// Service `ns/name`: in its own namespace always, elsewhere when a
/// ReferenceGrant there allows it; otherwise reported at `field`
/// (RefNotPermitted) for the backend to be dropped.
pub fn reference_allowed(
    ctx: &mut Ctx<'_>,
    route_kind: &str,
    origin: &Arc<Origin>,
    (ns, name): (&str, &str),
    field: &FieldPath,
) -> bool {
    if ns == origin.namespace
        || super::attach::grant_allows(
            ctx,
            (super::listener::GROUP, route_kind, &origin.namespace),
            ("", "Service", ns, name),
        )
    {
        return true;
    }
    ctx.push(diag_at(
        Code::RefNotPermitted,
        format!(
            "backendRef to Service {ns}/{name} crosses namespaces and no ReferenceGrant in {ns:?} allows it; it is dropped"
        ),
        origin,
        field,
    ));
    false
}

/// Resolves a Service backend to an address, or reports why it cannot be.
pub fn service_address(ctx: &mut Ctx<'_>, b: BackendRef<'_>) -> Option<String> {
    resolve(ctx, b).map(|(address, _)| address)
}

/// Resolves a Service backend to a server that, for a target that names
/// Services (Pingress), also names the Service and the port number its
/// backend resolved to (for the others it would be memory spent on every
/// route of a large render for nothing).
pub fn service_server(ctx: &mut Ctx<'_>, b: BackendRef<'_>) -> Option<Server> {
    let (namespace, name) = (b.namespace, b.name);
    let (address, port) = resolve(ctx, b)?;
    let service = ctx.target().names_services().then(|| {
        Arc::new(ServiceRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
            port,
        })
    });
    Some(Server {
        address,
        weight: None,
        service,
    })
}

/// The address of a Service backend and its port number.
fn resolve(ctx: &mut Ctx<'_>, b: BackendRef<'_>) -> Option<(String, i32)> {
    let BackendRef {
        namespace,
        name,
        port,
        origin,
        field,
        missing,
    } = b;
    let port_field = || field.key("port");
    let service = ctx.service(namespace, name);
    let number = match port {
        PortRef::Number(n) => {
            if !(1..=65535).contains(&n) {
                ctx.push(diag_at(
                    Code::BackendUnresolved,
                    format!("Service {namespace}/{name} port {n} is not a valid port (1-65535); the path is not rendered"),
                    origin,
                    &port_field(),
                ));
                return None;
            }
            match service {
                None => {
                    let d = diag_at(
                        missing,
                        format!("Service {namespace}/{name} is not in the input; its address is rendered from cluster DNS"),
                        origin,
                        field,
                    );
                    ctx.push(super::elsewhere(d, ctx.snap, (crate::model::Kind::Service, namespace, name)));
                }
                Some(svc) if !has_port(svc, n) => ctx.push(
                    diag_at(
                        Code::ServicePortNotFound,
                        format!("Service {namespace}/{name} has no port {n}; the entry is rendered as written"),
                        origin,
                        &port_field(),
                    )
                    .related("the Service", &svc.origin, &FieldPath::of(&["spec", "ports"])),
                ),
                Some(_) => {}
            }
            n
        }
        PortRef::Name(port_name) => {
            let Some(svc) = service else {
                let d = diag_at(
                    Code::BackendUnresolved,
                    format!(
                        "port {port_name:?} of Service {namespace}/{name} cannot be resolved: the Service is not in the input; the path is not rendered"
                    ),
                    origin,
                    &port_field(),
                );
                ctx.push(super::elsewhere(
                    d,
                    ctx.snap,
                    (crate::model::Kind::Service, namespace, name),
                ));
                return None;
            };
            match named_port(svc, port_name) {
                Some(n) if (1..=65535).contains(&n) => n,
                // No proxy dials it: Synapse drops such a server without a
                // word and the path answers 502.
                Some(n) => {
                    ctx.push(
                        diag_at(
                            Code::BackendUnresolved,
                            format!("port {port_name:?} of Service {namespace}/{name} is {n}, which is not a valid port (1-65535); the path is not rendered"),
                            origin,
                            &port_field(),
                        )
                        .related("the Service", &svc.origin, &FieldPath::of(&["spec", "ports"])),
                    );
                    return None;
                }
                None => {
                    ctx.push(
                        diag_at(
                            Code::BackendUnresolved,
                            format!("Service {namespace}/{name} has no port named {port_name:?}; the path is not rendered"),
                            origin,
                            &port_field(),
                        )
                        .related("the Service", &svc.origin, &FieldPath::of(&["spec", "ports"])),
                    );
                    return None;
                }
            }
        }
        PortRef::Missing => {
            ctx.push(diag_at(
                Code::BackendUnresolved,
                format!(
                    "the backend Service {namespace}/{name} has no port; the path is not rendered"
                ),
                origin,
                field,
            ));
            return None;
        }
    };
    let address = address(
        service.and_then(external_name),
        name,
        namespace,
        &ctx.opts.cluster_domain,
        number,
    );
    Some((address, number))
}

/// `host:port`, the host being the external name or the Service's cluster
/// DNS name. Built in one allocation of the right size: every backend of
/// every route is one (two `format!`s cost 4% of a large render's parsing
/// and translation).
fn address(external: Option<&str>, name: &str, namespace: &str, domain: &str, port: i32) -> String {
    use std::fmt::Write;
    const PORT: usize = ":-2147483648".len();
    let mut out;
    match external {
        Some(ext) => {
            out = String::with_capacity(ext.len() + PORT);
            out.push_str(ext);
        }
        None => {
            out = String::with_capacity(name.len() + namespace.len() + domain.len() + 6 + PORT);
            for part in [name, ".", namespace, ".svc.", domain] {
                out.push_str(part);
            }
        }
    }
    // Writing to a String cannot fail.
    let _ = write!(out, ":{port}");
    out
}

fn has_port(svc: &Obj<Service>, n: i32) -> bool {
    let ports = svc.value.spec.as_ref().and_then(|s| s.ports.as_ref());
    match ports {
        // An ExternalName Service often lists no ports at all.
        None => true,
        Some(p) if p.is_empty() => true,
        Some(p) => p.iter().any(|p| p.port == n),
    }
}

fn named_port(svc: &Obj<Service>, port_name: &str) -> Option<i32> {
    svc.value
        .spec
        .as_ref()?
        .ports
        .as_ref()?
        .iter()
        .find(|p| p.name.as_deref() == Some(port_name))
        .map(|p| p.port)
}

fn external_name(svc: &Obj<Service>) -> Option<&str> {
    let spec = svc.value.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        spec.external_name.as_deref().filter(|n| !n.is_empty())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            address(None, "web", "shop", "cluster.local", 8080),
            "web.shop.svc.cluster.local:8080"
        );
        assert_eq!(
            address(Some("db.example.com"), "web", "shop", "c", 5432),
            "db.example.com:5432"
        );
        assert_eq!(
            address(None, "a", "b", "c", -2147483648),
            "a.b.svc.c:-2147483648"
        );
    }
}
