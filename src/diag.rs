//! Diagnostics: the one table of codes (id, title, default severity,
//! explanation) and the `Diagnostic` value every stage produces.
//!
//! A diagnostic is data: a stable code, a severity, a message that says what
//! was done, and where it came from (file:line:column, `Kind ns/name`, the
//! field path). Stages create them where meaning is lost; this module only
//! describes and prints them. It does no I/O.

use std::fmt;

/// How serious a diagnostic is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($( $variant:ident = $id:literal, $sev:ident, $expl:literal; )*) => {
        /// Every diagnostic synroute can raise. The variant name is the title.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            /// The whole table, in code order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable identifier, `SRnnnn`.
            pub fn id(self) -> &'static str {
                match self { $(Code::$variant => $id),* }
            }

            /// The CamelCase title the SPEC uses.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => stringify!($variant)),* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            /// What the code means, what synroute did, and how to fix it.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => $expl),* }
            }
        }
    };
}

codes! {
    MalformedDocument = "SR1001", Error,
        "A document is not valid YAML or JSON, or a field has the wrong type \
         (a string where a list belongs, invalid base64 in a Secret). The API \
         server would reject it too. `render` writes nothing while any input \
         is malformed; fix the document at the reported line and column.";
    MissingName = "SR1002", Error,
        "An object synroute uses has no `metadata.name`. The API server \
         rejects such an object, so it is treated as malformed input.";
    DuplicateObject = "SR1003", Error,
        "The same kind, namespace and name appear twice in the input. A \
         cluster holds one of them; synroute keeps the one from the file \
         that sorts first and ignores the other. Remove the stale copy or \
         exclude its folder with `--exclude`.";
    UnsupportedApiVersion = "SR1004", Warning,
        "An object of a kind synroute uses has an API version it does not \
         read (for example `extensions/v1beta1` Ingress, removed in \
         Kubernetes 1.22). The object is skipped; migrate it to the current \
         version.";
    UnreadableInput = "SR1005", Error,
        "An input file is not UTF-8 text. It is treated as malformed input.";
    NoObjects = "SR1006", Warning,
        "The input holds no object synroute uses (no Ingress, Service, \
         Secret or Gateway API object). An empty pipe or a wrong path would \
         otherwise pass silently.";
    UnusedSuppression = "SR1007", Warning,
        "A suppression (the `synroute.gen0sec.com/ignore` annotation or \
         `--ignore`) matches no diagnostic, or names no synroute code. A \
         stale suppression would hide the next real problem; remove it.";
    KustomizeNamespace = "SR1008", Info,
        "A kustomization file in the input sets `namespace:`. kustomize \
         gives that namespace to the objects it lists when it builds them; \
         synroute reads the files as written, so an object there without \
         `metadata.namespace` is in `default` (or `--namespace`), and a \
         reference to it in the kustomization's namespace is not found. \
         Render what is applied with `kustomize build DIR | synroute \
         render -`.";
    IngressClassIgnored = "SR1201", Info,
        "The Ingress belongs to another class (by `spec.ingressClassName`, \
         the `kubernetes.io/ingress.class` annotation, or the default \
         IngressClass) and is not rendered. Pass `--ingress-class` if it is \
         meant for Synapse.";
    ExactPathApproximated = "SR1202", Warning,
        "Synapse matches paths by segment-wise prefix only. An `Exact` path \
         is rendered as a prefix entry, so it also answers requests below \
         it.";
    UnsupportedPathRegex = "SR1203", Warning,
        "The path contains regular-expression characters (`( ) [ ] { } ^ $ | \
         * + ?`). Synapse has no regex paths; rendering it literally would \
         never match and widening it would mis-route, so it is not rendered.";
    CatchAllHostUnsupported = "SR1204", Warning,
        "The rule matches every host, but Synapse looks hosts up exactly. It \
         is not rendered. Pass `--catch-all-host NAME` to render it under the \
         one name clients use to reach the proxy.";
    DefaultBackendLimited = "SR1205", Info,
        "`spec.defaultBackend` is rendered as the `/` entry of the Ingress's \
         own hosts that have no `/` path. Requests for any other host do not \
         reach it, because Synapse matches hosts exactly.";
    BackendUnresolved = "SR1206", Error,
        "The backend's port cannot be resolved: the port is given by name and \
         the Service is not in the input, or it has no port of that name, or \
         no port is given at all. The path is not rendered.";
    UnsupportedBackend = "SR1207", Warning,
        "The backend is not a Service (for example `backend.resource`, or a \
         backendRef of another kind). Synapse proxies to host:port only; the \
         path is not rendered.";
    InvalidAnnotation = "SR1208", Warning,
        "An annotation synroute reads has a value it cannot parse. The field \
         is left unset rather than guessed.";
    RouteConflict = "SR1209", Warning,
        "Two objects claim the same (host, path). The first in synroute's \
         order (Ingresses before HTTPRoutes, then creationTimestamp, then \
         namespace/name) keeps it; the later one is not rendered there.";
    UnknownAnnotation = "SR1210", Warning,
        "An annotation under `synapse.gen0sec.com/` is not one synroute \
         knows; it is probably misspelt. It has no effect.";
    UnsupportedAnnotation = "SR1211", Warning,
        "An ingress-nginx annotation has no Synapse equivalent. The Ingress \
         renders without it, so requests may be handled differently than \
         under ingress-nginx.";
    InvalidHostname = "SR1212", Warning,
        "The host is not a valid DNS name (RFC 1123, lowercase). It is not \
         rendered. A `${VAR}` in it means the manifests were read before \
         their variables were substituted.";
    WildcardHostUnsupported = "SR1213", Warning,
        "The rule's host is a wildcard (`*.example.com`). Synapse looks \
         hosts up exactly, so a wildcard entry would never match; it is not \
         rendered. A wildcard TLS certificate still covers concrete hosts.";
    InvalidPath = "SR1214", Warning,
        "The path does not start with `/`. It is not rendered.";
    ServicePortNotFound = "SR1301", Warning,
        "The backend's port number is not among the Service's `spec.ports`. \
         The entry is rendered as written, but connections will likely fail.";
    ServiceNotInInput = "SR1302", Info,
        "The backend's Service is not in the input. Its address is rendered \
         from the name and port by cluster DNS; it cannot be checked.";
    IngressClassHint = "SR1303", Info,
        "The Ingress names an IngressClass whose controller is synroute's \
         `--controller-name`, but the class name differs from \
         `--ingress-class`. It is not rendered; pass `--ingress-class` with \
         that name to render it.";
    TlsSecretNotFound = "SR1401", Warning,
        "A TLS entry names a Secret that is not in the input. No certificate \
         file is written and the host gets no `certificate:`.";
    TlsSecretInvalid = "SR1402", Warning,
        "The TLS Secret is not of type `kubernetes.io/tls`, or lacks \
         `tls.crt` or `tls.key`. No certificate file is written.";
    CertificateConflict = "SR1403", Warning,
        "Two TLS entries give different Secrets for the same certificate \
         file stem. The first in synroute's order keeps it.";
    TlsWithoutSecret = "SR1404", Info,
        "A TLS entry has no `secretName`; Synapse serves its default \
         certificate for those hosts.";
    CertificateUnparseable = "SR1405", Warning,
        "The Secret's `tls.crt` is not a PEM X.509 certificate, or its \
         `tls.key` is not a PEM private key. Synapse cannot load the pair; \
         the files are still written as they are.";
    CertificateKeyMismatch = "SR1406", Warning,
        "The private key in `tls.key` does not belong to the certificate in \
         `tls.crt` (RSA modulus or EC point differ). TLS handshakes for its \
         hosts will fail.";
    CertificateHostMismatch = "SR1407", Warning,
        "The certificate's subject alternative names (or common name) do not \
         cover a host it is served for. Clients will reject it.";
    CertificateExpired = "SR1408", Error,
        "The certificate's notAfter is in the past (at `--now`, or the \
         current time). Clients will reject it.";
    CertificateExpiring = "SR1409", Warning,
        "The certificate expires within `--expiry-warning` days (21 by \
         default). Renew it before clients start rejecting it.";
    CertificateNotYetValid = "SR1410", Warning,
        "The certificate's notBefore is in the future. Clients will reject it \
         until then.";
    TlsSecretInCluster = "SR1411", Info,
        "`render --emit configmap|kustomize`: a TLS Secret the input names is \
         not in the input. The objects synroute emits mount it from the \
         cluster (cert-manager creates such Secrets there), so the host is \
         served with it; its certificate cannot be checked offline.";
    GatewayIgnored = "SR2001", Info,
        "The Gateway's class is not one of ours (no GatewayClass in the \
         input has `spec.controllerName` equal to `--controller-name`), or \
         `--gateway` leaves it out. Routes attached only to it are not \
         rendered.";
    NoMatchingParent = "SR2002", Warning,
        "A parentRef names a Gateway or ListenerSet that is not in the input, \
         or a `sectionName`/`port` that none of its listeners has. The route \
         is not attached there (Accepted=False, NoMatchingParent).";
    RouteNotAttached = "SR2003", Info,
        "The HTTPRoute has no parentRef to a Gateway or ListenerSet of ours; \
         it belongs to another controller and is not rendered.";
    NotAllowedByListeners = "SR2004", Warning,
        "The parent's listeners do not accept this route: wrong protocol \
         (only HTTP and HTTPS carry HTTPRoutes), `allowedRoutes.kinds`, or \
         `allowedRoutes.namespaces` (Same, All, Selector). The route is not \
         attached there (Accepted=False, NotAllowedByListeners).";
    NoMatchingListenerHostname = "SR2005", Warning,
        "None of the route's hostnames intersects the hostnames of the \
         listeners it could attach to. The route is not attached there \
         (Accepted=False, NoMatchingListenerHostname).";
    RefNotPermitted = "SR2006", Error,
        "A reference to another namespace (a backendRef, a listener's \
         certificateRef) has no ReferenceGrant in the target namespace \
         allowing it. The reference is dropped (ResolvedRefs=False, \
         RefNotPermitted).";
    UnsupportedMatch = "SR2007", Warning,
        "Synapse routes on host and path only. A header, query-parameter or \
         method match is rendered on its path alone, so it answers every \
         request on that path; an unconditional match on the same path \
         always takes precedence. `--strict` makes this an error.";
    UnsupportedFilter = "SR2008", Warning,
        "A filter or rule field has no Synapse equivalent (URLRewrite, a \
         redirect other than to https, RequestMirror, ExtensionRef, CORS, \
         header removal, per-backend filters, timeouts, retries, session \
         persistence). The rule renders without it.";
    BackendFallThrough = "SR2009", Error,
        "A rule is left without any backend (none given, all weights 0, or \
         all dropped). A Gateway API implementation answers 500; Synapse \
         cannot, and its requests fall through to a shorter path on the \
         same host. The message names where they land.";
    ListenerSetNotAllowed = "SR2010", Warning,
        "The ListenerSet's parent Gateway does not admit ListenerSets from \
         its namespace (`spec.allowedListeners.namespaces.from` is None by \
         default). Its listeners, and routes attached to them, are not \
         rendered.";
    NamespaceSelectorUnmatchable = "SR2011", Warning,
        "A namespace selector (allowedRoutes or allowedListeners) needs the \
         Namespace objects' labels, and the input holds no Namespace of that \
         name. It cannot match; add the Namespace manifests to the input.";
    HttpsRedirectUnmerged = "SR2012", Warning,
        "A rule that only redirects to https is merged into the route with \
         backends on the same host and path (as `https_proxy_enabled`). No \
         such route exists here, and Synapse cannot answer with a redirect \
         alone.";
    SelectedGatewayMissing = "SR2013", Warning,
        "`--gateway NS/NAME` names a Gateway that is not in the input, or is \
         not of one of our GatewayClasses.";
    HeaderAddApproximated = "SR2014", Warning,
        "A header modifier's `add` appends to a value the message already \
         carries. Synapse's header list sets headers, so `add` is rendered \
         like `set`: an existing value is replaced, not appended to.";
    BackendNotFound = "SR2015", Warning,
        "An HTTPRoute backendRef names a Service that is not in the input. A \
         Gateway API controller would answer 500 for its share \
         (ResolvedRefs=False, BackendNotFound); synroute renders its cluster \
         DNS address, assuming the Service exists outside the input (a Helm \
         release, another repository).";
    BackendTlsPolicyIgnored = "SR2016", Warning,
        "An HTTPRoute backendRef names a Service that a BackendTLSPolicy \
         targets. synroute does not apply BackendTLSPolicies: Synapse reaches \
         the Service as the route's `ssl_enabled` says (plain HTTP unless the \
         backend-protocol annotation says HTTPS), without the policy's CA \
         certificates or hostname check. A Gateway API controller would use \
         TLS, or answer 5xx for a policy it cannot use.";
    ListenerIsolated = "SR2017", Info,
        "A route reaches a host through a listener, but another listener of \
         the same Gateway and port has a more specific hostname that covers \
         it: by the Gateway API's listener isolation, requests for that host \
         are matched against that listener's routes only, so this route is \
         not rendered there.";
    UnsupportedProtocol = "SR2018", Warning,
        "A GRPCRoute attached to a plain HTTP listener needs HTTP/2 without \
         TLS (h2c, with prior knowledge), and Synapse's plain listener speaks \
         HTTP/1.1 alone: the route is not attached to that listener (the \
         Gateway API's reason is UnsupportedProtocol). Attach it to an HTTPS \
         listener: Synapse offers HTTP/2 there by ALPN.";
    RouteKindConflict = "SR2019", Warning,
        "A GRPCRoute and an HTTPRoute meet on one hostname of one listener. \
         The Gateway API lets routes of one kind serve a hostname on a \
         listener and rejects the other (Accepted=False); synroute takes \
         HTTPRoutes as attached first, so the GRPCRoute is not attached \
         there. Serve gRPC under a hostname of its own, or route it with \
         HTTPRoutes by path.";
    RouteKindUnsupported = "SR2020", Warning,
        "An object whose parentRefs name a Gateway or ListenerSet of ours is \
         of a kind synroute does not render — a TCPRoute or UDPRoute (Synapse \
         proxies HTTP and TLS alone), a route kind of another project — or the \
         target reads no Gateway API (Pingress). What it asks for is not \
         served. Route HTTP with HTTPRoute or GRPCRoute, TLS by SNI with \
         TLSRoute, and raw TCP or UDP with another proxy.";
    PolicyNotApplied = "SR2021", Warning,
        "A policy (any object with targetRefs: Envoy Gateway's \
         BackendTrafficPolicy, SecurityPolicy or ClientTrafficPolicy, Istio's \
         or Kuadrant's policies, …) targets a Gateway of ours, a route \
         attached to one, or a Service a rendered route uses. synroute \
         applies no policy: the retries, timeouts, authentication or rate \
         limits it asks for are not in the routing file. Say what Synapse can \
         do with annotations (docs/behaviour.md), or apply it elsewhere.";
    ListenerProtocolUnsupported = "SR2022", Warning,
        "A listener of a Gateway (or ListenerSet) of ours has a protocol \
         Synapse does not serve — TCP, UDP, anything but HTTP, HTTPS and \
         TLS. Nothing attached to it is rendered; said once per listener.";
    CatchAllNameOnly = "SR2023", Info,
        "A route on a listener without hostname matches every name; the \
         target has no default host, so it is rendered under \
         `--catch-all-host` alone and a request for any other name reaches \
         nothing. Give the listener or the route the hostnames it serves \
         (v1: `--catch-all-host '*'` is the default host).";
    ListenerNoHostname = "SR2101", Warning,
        "`synroute listeners`: an HTTPRoute, GRPCRoute or TLSRoute attached \
         to a WrappedGateway's Gateway has no `spec.hostnames`. Listeners are \
         made per hostname, and gateway-route-sync does not say what a route \
         without one gets: no listener is made for it. Give the route its \
         hostnames.";
    ListenerPortMissing = "SR2102", Warning,
        "`synroute listeners`: a UDPRoute or TCPRoute attached to a \
         WrappedGateway's Gateway has no \
         `gateway-route-sync.homelab-helper.benfiola.com/ports` annotation. \
         These routes have no default port: no listener is made for it.";
    ListenerPortInvalid = "SR2103", Warning,
        "`synroute listeners`: a value of the ports annotation is not a port \
         (a whole number from 1 to 65535, the values separated by commas). \
         That value is skipped; the route's other ports are kept.";
    ListenerProtocolConflict = "SR2104", Warning,
        "`synroute listeners`: routes ask for the same hostname and port with \
         different protocols (an HTTPRoute and a TLSRoute for one name on \
         443, say). A Gateway cannot serve both, and which one wins is not \
         defined: no listener is made for that hostname and port. TCP and UDP \
         on one port do not conflict.";
    WrappedListenersReplaced = "SR2105", Warning,
        "`synroute listeners`: the WrappedGateway's spec has `listeners` of \
         its own. Its Gateway's listeners are the generated ones; those in \
         the WrappedGateway are not kept.";
    ListenerOtherNamespace = "SR2106", Info,
        "`synroute listeners`: a route attached to a WrappedGateway's Gateway \
         is in another namespace. The generated listeners admit routes of \
         the Gateway's namespace only (the Gateway API's default; \
         gateway-route-sync says nothing of `allowedRoutes`), so the route \
         gets its listener but is not admitted by it.";
    WrappedNoListeners = "SR2107", Warning,
        "`synroute listeners`: no route asks the WrappedGateway's Gateway for \
         a listener. A Gateway needs at least one (the API server refuses it \
         otherwise): none is generated until a route names it.";
    WorkloadWithoutTemplate = "SR2201", Warning,
        "`synroute hash --patch`: a Deployment, DaemonSet or StatefulSet \
         that matches the label selector has no `spec.template`, so there is \
         no pod template to stamp the config hash on. It is left out.";
    HashWithoutWorkload = "SR2202", Info,
        "`synroute hash --patch`: a namespace has a config hash but no \
         Deployment, DaemonSet or StatefulSet in the input matches the label \
         selector there: nothing would roll when its config changes.";
    HeadersMerged = "SR1601", Warning,
        "Target 0.2 (the public Synapse 0.2 release) has one `headers` list \
         per path, applied to the request sent upstream and to the response \
         sent back. The path's request and response headers are written into \
         it together, so each is sent both ways.";
    WeightsApproximated = "SR1602", Warning,
        "Target 0.2 has no weights: a server is listed as many times as its \
         weight (reduced by the weights' greatest common divisor) and Synapse \
         round-robins over the list. The list is capped; past the cap the \
         weights are scaled down and rounded, so the shares are approximate.";
    Ipv6ServerUnsupported = "SR1603", Warning,
        "Target 0.2 splits a server on its first `:`, so an IPv6 address \
         (`[::1]:80`) does not parse and Synapse drops it without a word. The \
         server is left out of the file; use a DNS name for it.";
    NotInTarget = "SR1604", Warning,
        "The object asks for something Synapse can do, but the routing-file \
         format of `--target` has no way to say it (timeouts in 0.2, \
         regular-expression paths or TLS passthrough in v1 and 0.2, a health \
         check on a v2 expression route; any annotation for Pingress). It is \
         left out; the message says which target can express it.";
    SolverUnreachable = "SR1605", Warning,
        "A cert-manager HTTP-01 solver answers for a name whose v2 host is \
         passed through as TLS: Synapse serves no HTTP path there, so the \
         challenge cannot be answered and the certificate will not be issued. \
         Use a DNS-01 solver for passthrough names.";
    RoutingFileRefused = "SR1606", Error,
        "`check` of a routing file (not manifests): the Synapse of `--target` \
         (default: the file's own format) refuses the whole file over this key \
         or value — v2 over any key it does not know, 0.2 and v1 over a value \
         of the wrong type — and runs without routes. Render the file again \
         with `synroute render --target T`, or fix the key.";
    RoutingKeyIgnored = "SR1607", Warning,
        "`check` of a routing file: the Synapse of `--target` does not know \
         this key and ignores it (v1 and 0.2 load the rest of the file); or \
         the Pingress proxy takes the file and never uses this (a rule of an \
         exact host before its last, a wildcard host's tls). Whatever it was \
         meant to do is not done.";
    GatewayApiNotInTarget = "SR1608", Info,
        "`--target pingress`: the Pingress controller reads Ingresses of its \
         class alone, so a Gateway of ours in the input, and the routes \
         attached to it, are not rendered into proxy.json. Render them with a \
         Synapse target.";
    PingressRuleLost = "SR1610", Error,
        "`--target pingress`: the Pingress proxy keeps one rule per exact host, \
         the last in proxy.json. synroute writes the one it keeps — the \
         shortest prefix of the host, which answers the most of its requests \
         — and leaves out every other rule of that host: their requests go \
         to the kept rule when its path matches, else to a wildcard rule, \
         else get 500. Give each of those paths a host of its own, or route \
         with a Synapse target.";
    PingressWildcardLoose = "SR1611", Warning,
        "`--target pingress`: the Pingress proxy turns a wildcard host into \
         a regular expression — `*` as `.+`, dots as any character, anchored \
         at neither end — tried in file order after the exact hosts: \
         `*.apps.example.com` also answers `xx-apps.example.com` and \
         `a.apps.example.com.evil.net`.";
    PingressPlainPrefix = "SR1612", Info,
        "`--target pingress`: the Pingress proxy matches a Prefix path as plain \
         text: `/api` answers `/apiary` too, where an Ingress's Prefix stops at \
         `/` boundaries.";
    PingressTlsLeftOut = "SR1613", Error,
        "`--target pingress`: the Pingress proxy reads every rule's key and \
         certificate at start and does not start at all when one does not \
         parse — one bad Secret would take every host down. A host whose \
         certificate does not parse, or whose key is not the certificate's, \
         is written without `tls` (served over plain HTTP alone) and its \
         files are not written. Fix the Secret.";
    PingressWildcardTls = "SR1614", Error,
        "`--target pingress`: the Pingress proxy picks a certificate only where \
         a TLS handshake's SNI is a rule's host exactly: a wildcard host's \
         certificate is never served and HTTPS to its names fails the \
         handshake. Its `tls` is left out (written, it would only restart the \
         proxy at each renewal). Name the hosts that need HTTPS exactly.";
    PingressChainCut = "SR1615", Warning,
        "`--target pingress`: the Pingress proxy loads the first certificate \
         of a cert file alone and sends no chain: the intermediates in the \
         Secret's tls.crt never reach the client, and a client that does not \
         already hold them fails to verify the host.";
    RoutingServerDropped = "SR1609", Warning,
        "`check` of a routing file: a server the Synapse of `--target` cannot \
         dial — in 0.2, one not `host:port` with a port up to 65535, an IPv6 \
         address among them — is left out of its pool without a word, and a \
         path left with no server answers 502. Name the server by a DNS name \
         and a valid port.";
    SecretNotProjectable = "SR1702", Warning,
        "`render --emit kustomize`: a TLS Secret is in another namespace than \
         the Synapse workload (`--workload-namespace`). A projected volume \
         reads Secrets of its pod's namespace only, so the certificate is \
         left out (and the host has none in the routing file). Copy the \
         Secret into the workload's namespace, or issue the certificate \
         there.";
    EmptyRenderRefused = "SR1701", Error,
        "`render -o FILE` or `watch`: the render routes no host, and FILE (the \
         file Synapse reads) routes some. Writing it would take every site \
         down at once — the usual causes are a wrong `--ingress-class`, \
         `--namespace` or `--gateway`, an empty checkout, or Gateway API CRDs \
         not yet installed. Nothing is written and the old file stays. Pass \
         `--allow-empty` when routing nothing is meant.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Code {
    /// Looks a code up by `SRnnnn` id or by title (case-insensitive).
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(s) || c.title().eq_ignore_ascii_case(s))
    }
}

/// A place in an input file. Lines and columns are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: Option<u32>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}:{}:{}", self.file, self.line, c),
            None => write!(f, "{}:{}", self.file, self.line),
        }
    }
}

/// `Kind namespace/name` of the object a diagnostic is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Another place that explains a diagnostic (the other side of a conflict).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Related {
    pub message: String,
    pub location: Option<Location>,
    pub object: Option<ObjectRef>,
    pub field: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    pub location: Option<Location>,
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub object: Option<ObjectRef>,
    /// The field at fault, as `spec.rules[0].http.paths[1]`.
    pub field: Option<String>,
    pub related: Vec<Related>,
    /// A suggestion that does not belong in the message itself.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            location: None,
            code,
            severity: code.default_severity(),
            message: message.into(),
            object: None,
            field: None,
            related: Vec::new(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// The concise one-line form printed on stderr:
    /// `file:line: warning[SR1203]: message (Ingress ns/name)`.
    pub fn concise(&self) -> String {
        let mut s = String::new();
        if let Some(loc) = &self.location {
            s.push_str(&loc.to_string());
            s.push_str(": ");
        }
        s.push_str(&format!(
            "{}[{}]: {}",
            self.severity,
            self.code.id(),
            self.message
        ));
        if let Some(obj) = &self.object {
            s.push_str(&format!(" ({obj})"));
        }
        for r in &self.related {
            s.push_str("\n    note: ");
            if let Some(loc) = &r.location {
                s.push_str(&format!("{loc}: "));
            }
            s.push_str(&r.message);
            if let Some(obj) = &r.object {
                s.push_str(&format!(" ({obj})"));
            }
        }
        if let Some(h) = &self.hint {
            s.push_str("\n    help: ");
            s.push_str(h);
        }
        s
    }
}

/// The hint given wherever a value still holds a `${VAR}`.
pub const SUBSTITUTION_HINT: &str = "the value holds an unsubstituted variable (`${...}`): \
     render the manifests after the substitution step (Flux post-build, envsubst), \
     as the cluster would see them";

/// True when `s` looks like it still holds a Flux/envsubst variable.
pub fn has_unsubstituted_variable(s: &str) -> bool {
    s.find("${").is_some_and(|i| s[i..].contains('}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_ids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.id()), "duplicate id {}", c.id());
            assert!(c.id().starts_with("SR") && c.id().len() == 6, "{}", c.id());
            assert!(!c.explanation().is_empty());
        }
    }

    #[test]
    fn parse_by_id_and_title() {
        assert_eq!(Code::parse("sr1203"), Some(Code::UnsupportedPathRegex));
        assert_eq!(Code::parse("RouteConflict"), Some(Code::RouteConflict));
        assert_eq!(Code::parse("SR9999"), None);
    }
}
