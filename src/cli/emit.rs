//! `render --emit configmap|kustomize`: the render as Kubernetes objects
//! (`crate::gitops`), written to stdout, `-o FILE` or `-o DIR` the way
//! `render -o` writes (atomically, only on change, never over a file that
//! routes hosts with a render that routes none), or compared with
//! `--check`. The flags that place the objects are read here.

use std::io::{self, Write};
use std::path::Path;

use clap::Args;

use super::{EXIT_ERROR, EXIT_FOUND, EXIT_OK, KeysArgs, ReadArgs, RouteArgs, summary};
use crate::gitops::{self, EmitOptions, WORKLOAD_KINDS};
use crate::outputs::{empty_render_refusal, holds, write_atomic_if_changed};
use crate::target::Target;
use crate::{Options, Rendered};

/// What `render` writes, and where the objects go in the cluster.
#[derive(Args, Debug)]
pub(super) struct EmitArgs {
    /// What render writes: `file` (the routing file, and --certs-out's
    /// files), `configmap` (one ConfigMap holding the routing file, on
    /// stdout or -o FILE) or `kustomize` (a kustomize Component in -o DIR:
    /// the ConfigMap, a patch of the workload that mounts it and the TLS
    /// Secrets, and the config hash).
    #[arg(long, default_value = "file", value_parser = ["file", "configmap", "kustomize"])]
    pub emit: String,
    /// The ConfigMap's name [default: synapse-routes; pingress-proxy].
    #[arg(long, value_name = "NAME")]
    pub configmap: Option<String>,
    /// The workload the kustomize patch mounts the files into, KIND/NAME
    /// (Deployment, DaemonSet, StatefulSet) [default: Deployment/synapse;
    /// Deployment/pingress].
    #[arg(long, value_name = "KIND/NAME")]
    pub workload: Option<String>,
    /// The workload's container that reads the files [default: synapse;
    /// pingress].
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// The namespace of the workload and the ConfigMap; TLS Secrets of
    /// another namespace cannot be mounted (SR1702) [default: --namespace,
    /// else default].
    #[arg(long, value_name = "NS")]
    pub workload_namespace: Option<String>,
    /// The folder the ConfigMap is mounted at: Synapse's upstreams_conf is
    /// DIR/upstreams.yaml [default: /etc/synapse/routes; /etc/pingress].
    #[arg(long, value_name = "DIR")]
    pub routes_dir: Option<String>,
    /// The folder the certificates are mounted at (Synapse's
    /// proxy_certificates) [default: /etc/synapse/certs; Pingress: its
    /// --keys-dir].
    #[arg(long, value_name = "DIR")]
    pub certs_dir: Option<String>,
}

/// The three ways `render` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Emit {
    File,
    ConfigMap,
    Kustomize,
}

impl EmitArgs {
    pub(super) fn mode(&self) -> Emit {
        match self.emit.as_str() {
            "configmap" => Emit::ConfigMap,
            "kustomize" => Emit::Kustomize,
            _ => Emit::File,
        }
    }

    /// Where the objects go, with the target's defaults; a usage error for
    /// a value that cannot be used.
    pub(super) fn options(
        &self,
        read: &ReadArgs,
        route: &RouteArgs,
        keys: &KeysArgs,
    ) -> Result<EmitOptions, String> {
        let mode = self.mode();
        // A flag that places what this mode does not write is refused,
        // not ignored: the user meant something by it.
        let kustomize_only = [
            ("--workload", self.workload.is_some()),
            ("--container", self.container.is_some()),
            ("--routes-dir", self.routes_dir.is_some()),
            ("--certs-dir", self.certs_dir.is_some()),
        ];
        let objects = [
            ("--configmap", self.configmap.is_some()),
            ("--workload-namespace", self.workload_namespace.is_some()),
        ];
        for (flag, given) in kustomize_only {
            if given && mode != Emit::Kustomize {
                return Err(format!(
                    "{flag} places the workload patch of --emit kustomize; --emit {} writes none",
                    self.emit
                ));
            }
        }
        for (flag, given) in objects {
            if given && mode == Emit::File {
                return Err(format!(
                    "{flag} places the ConfigMap of --emit configmap or kustomize; --emit file writes the routing file itself"
                ));
            }
        }
        let target = route.target.unwrap_or_default();
        let pingress = target == Target::Pingress;
        let app = if pingress { "pingress" } else { "synapse" };
        let (kind, name) = match self.workload.as_deref() {
            None => ("Deployment".to_string(), app.to_string()),
            Some(w) => match w.split_once('/') {
                Some((k, n)) if WORKLOAD_KINDS.contains(&k) && !n.is_empty() => {
                    (k.to_string(), n.to_string())
                }
                _ => {
                    return Err(format!(
                        "--workload {w:?} is not KIND/NAME with KIND one of {}",
                        WORKLOAD_KINDS.join(", ")
                    ));
                }
            },
        };
        let keys_dir = keys
            .keys_dir
            .clone()
            .unwrap_or_else(|| crate::emit::pingress::DEFAULT_KEYS_DIR.to_string());
        let certs_dir = match (&self.certs_dir, pingress) {
            (Some(d), true) if d.trim_end_matches('/') != keys_dir.trim_end_matches('/') => {
                return Err(format!(
                    "--certs-dir {d:?}: proxy.json names the key files under --keys-dir {keys_dir:?}; mount them there"
                ));
            }
            (Some(d), _) => d.clone(),
            (None, true) => keys_dir,
            (None, false) => "/etc/synapse/certs".to_string(),
        };
        let routes_dir = self.routes_dir.clone().unwrap_or_else(|| {
            if pingress {
                "/etc/pingress"
            } else {
                "/etc/synapse/routes"
            }
            .to_string()
        });
        for (flag, dir) in [("--routes-dir", &routes_dir), ("--certs-dir", &certs_dir)] {
            if !dir.starts_with('/') {
                return Err(format!("{flag} {dir:?}: a mount path is absolute"));
            }
        }
        if routes_dir.trim_end_matches('/') == certs_dir.trim_end_matches('/') {
            return Err(format!(
                "--routes-dir and --certs-dir are both {routes_dir:?}: two volumes cannot be mounted at one path"
            ));
        }
        Ok(EmitOptions {
            workload_kind: kind,
            workload_name: name,
            namespace: self
                .workload_namespace
                .clone()
                .or_else(|| read.namespace.clone())
                .unwrap_or_else(|| "default".to_string()),
            container: self.container.clone().unwrap_or_else(|| app.to_string()),
            configmap: self.configmap.clone().unwrap_or_else(|| {
                if pingress {
                    "pingress-proxy"
                } else {
                    "synapse-routes"
                }
                .to_string()
            }),
            routes_dir,
            certs_dir,
            app: app.to_string(),
        })
    }
}

/// Sets what an emitting render asks of the translation: TLS Secrets are
/// read from the cluster, and (kustomize) must be in the workload's
/// namespace.
pub(super) fn prepare(mode: Emit, eo: &EmitOptions, opts: &mut Options) {
    if mode != Emit::File {
        opts.secrets_in_cluster = true;
    }
    if mode == Emit::Kustomize {
        opts.workload_namespace = Some(eo.namespace.clone());
    }
}

/// Writes (or, with `check`, compares) what `mode` emits of `rendered`.
pub(super) fn write(
    mode: Emit,
    eo: &EmitOptions,
    (output, check, allow_empty, quiet): (Option<&Path>, bool, bool, bool),
    (rendered, jobs): (&Rendered, usize),
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let mut routing = Vec::new();
    rendered.write_upstreams(&mut routing, jobs)?;
    let files: Vec<(String, String)> = match mode {
        Emit::Kustomize => gitops::kustomize(rendered, &routing, eo)
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
        _ => vec![(
            String::new(),
            gitops::configmap(rendered.table.target.file_name(), &routing, eo),
        )],
    };
    // Where each file goes; a ConfigMap alone goes to stdout without -o.
    let place = |name: &str| -> Option<std::path::PathBuf> {
        let out = output?;
        Some(if name.is_empty() {
            out.to_path_buf()
        } else {
            out.join(name)
        })
    };
    if check {
        let stale: Vec<String> = files
            .iter()
            .filter_map(|(name, text)| {
                let path = place(name)?;
                let same = holds(&path, &|w: &mut dyn Write| w.write_all(text.as_bytes()));
                (!same).then(|| format!("{} differs from the render", path.display()))
            })
            .collect();
        for st in &stale {
            writeln!(stderr, "synroute: stale: {st}")?;
        }
        if stale.is_empty() && !quiet {
            writeln!(stderr, "synroute: up to date")?;
        }
        return Ok(if stale.is_empty() {
            EXIT_OK
        } else {
            EXIT_FOUND
        });
    }
    let Some(out) = output else {
        for (_, text) in &files {
            stdout.write_all(text.as_bytes())?;
        }
        if !quiet {
            writeln!(stderr, "{}", summary(rendered))?;
        }
        return Ok(EXIT_OK);
    };
    let configmap = place(if mode == Emit::Kustomize {
        "configmap.yaml"
    } else {
        ""
    })
    .unwrap_or_else(|| out.to_path_buf());
    if !allow_empty && let Some(d) = empty_render_refusal(&configmap, rendered) {
        writeln!(stderr, "{}", d.concise())?;
        return Ok(EXIT_FOUND);
    }
    if mode == Emit::Kustomize {
        if out.exists() && !out.is_dir() {
            writeln!(
                stderr,
                "synroute: error: --emit kustomize writes a folder; {} is a file",
                out.display()
            )?;
            return Ok(EXIT_ERROR);
        }
        std::fs::create_dir_all(out).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", out.display()))
        })?;
    }
    for (name, text) in &files {
        if let Some(path) = place(name) {
            write_atomic_if_changed(&path, &|w: &mut dyn Write| w.write_all(text.as_bytes()))?;
        }
    }
    if !quiet {
        writeln!(stderr, "{}", summary(rendered))?;
    }
    Ok(EXIT_OK)
}
