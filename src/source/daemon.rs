//! The Docker Engine API source: images held by a local Docker-compatible daemon
//! (Docker, Podman's compatible socket), through bollard.
//!
//! Takes a reference (or "every image") and gives the same [`Resolved`] images over a
//! [`Store`] as a `docker save` archive would: the export stream is read as a tar as it
//! arrives, each layer written straight into its spool file and small members kept in
//! memory, then the docker-save reader resolves it. Inspect data fills in the tags,
//! digests and platform. If the stream breaks off, what arrived is still used.

use super::docker;
use super::store::MemberStore;
use super::{Arrived, Resolved, SourceIssue, Store};
use crate::error::{Error, Result};
use crate::image::{Image, LayerRef};
use crate::spool::{DiskGuard, Spool};
use crate::util::{HashingWriter, sha256_digest};
use bollard::Docker;
use bollard::models::ImageInspect;
use futures_util::StreamExt;
use std::io::{BufRead, BufWriter, Read, Write};
use std::sync::mpsc;
use std::time::Duration;

/// Connection settings.
#[derive(Clone, Copy, Debug)]
pub struct DaemonOptions {
    /// Limit for connecting and for each API request (the export stream excepted).
    pub timeout: Duration,
    /// Longest silence tolerated in the middle of the export stream.
    pub idle_timeout: Duration,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// Members at least this big, and every layer, go to the spool instead of memory.
const SPOOL_AT: u64 = 1 << 20;

/// Where the client will connect: `DOCKER_HOST`, else the default socket.
pub fn daemon_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::Target(format!("starting the I/O runtime: {e}")))
}

fn unreachable(host: &str, err: &dyn std::fmt::Display) -> Error {
    let text = err.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("permission denied") {
        let socket = host.strip_prefix("unix://").unwrap_or(host);
        return Error::Target(format!(
            "permission denied on the Docker socket {socket}: run as a user in the `docker` group, or point DOCKER_HOST at a socket you may use (e.g. rootless Podman's unix://$XDG_RUNTIME_DIR/podman/podman.sock)"
        ));
    }
    Error::Target(format!(
        "cannot reach a Docker daemon at {host} ({text}); start it, or set DOCKER_HOST (unix:///path/to/docker.sock, tcp://host:2375; Podman: unix:///run/podman/podman.sock)"
    ))
}

async fn connect(host: &str, opts: DaemonOptions) -> Result<Docker> {
    let docker = Docker::connect_with_host(host)
        .map_err(|e| unreachable(host, &e))?
        .with_timeout(opts.timeout);
    match tokio::time::timeout(opts.timeout, docker.negotiate_version()).await {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(unreachable(host, &error_chain(&e))),
        Err(_) => Err(unreachable(
            host,
            &format!("no answer within {}s", opts.timeout.as_secs()),
        )),
    }
}

/// An error with its sources, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Tags the daemon holds that look like `wanted` (same repository, or same name).
async fn similar_tags(docker: &Docker, wanted: &str) -> Vec<String> {
    let Ok(list) = docker
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
    else {
        return Vec::new();
    };
    let repo = wanted
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map_or(wanted, |(r, _)| r);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let mut out: Vec<String> = list
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .filter(|t| t != "<none>:<none>")
        .filter(|t| {
            let r = t.rsplit_once(':').map_or(t.as_str(), |(r, _)| r);
            r == repo || r.rsplit('/').next() == Some(name)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reads the bytes a channel delivers, as a `Read`.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(Ok(b)) => self.current = b,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// What arrived from the export stream, and how it ended.
struct Received {
    store: MemberStore,
    /// sha256 of every spooled member (to match layers by diff_id if the manifest is missing).
    digests: Vec<(String, Vec<u8>)>,
    error: Option<String>,
}

/// Members that are not layers (configs, manifests, other artifacts' blobs) are kept
/// up to this size; a larger one is read past and left out.
const MAX_MEMBER: u64 = 64 << 20;

/// A reader that remembers the first error its source gave.
struct Watched<R> {
    inner: R,
    error: Option<String>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.error.get_or_insert_with(|| e.to_string());
        })
    }
}

/// Reads an archive stream (a daemon's export, standard input, a compressed archive).
/// Each member that looks like a layer is handed to `arrived` as it arrives and read
/// there to its end, its bytes not kept (without `arrived`, it goes to a spool file of
/// its own, keeping `min_free` bytes free). Other members up to [`SPOOL_AT`] are kept
/// in memory, larger ones (up to [`MAX_MEMBER`]) in the spool.
fn receive(
    reader: impl Read,
    spool: &Spool,
    min_free: u64,
    arrived: Option<Arrived<'_>>,
) -> Received {
    let mut r = Received {
        store: MemberStore::default(),
        digests: Vec::new(),
        error: None,
    };
    let mut ar = tar::Archive::new(reader);
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    for entry in entries {
        let mut e = match entry {
            Ok(e) => e,
            Err(err) => {
                r.error = Some(err.to_string());
                break;
            }
        };
        let name = e.path_bytes().into_owned();
        let kind = e.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = e
                .link_name_bytes()
                .map(|t| t.into_owned())
                .unwrap_or_default();
            r.store.add_link(&name, &target, kind.is_symlink());
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let size = e.size();
        let key = crate::util::normalize_path(&name);
        let mut src = std::io::BufReader::with_capacity(64 << 10, &mut e);
        let head = match src.fill_buf() {
            Ok(h) => h,
            Err(err) => {
                r.error = Some(format!("{}: {err}", String::from_utf8_lossy(&name)));
                break;
            }
        };
        if let Some(f) = arrived
            && crate::layer::looks_like_layer(head)
        {
            let mut watched = Watched {
                inner: &mut src,
                error: None,
            };
            let layer = f(String::from_utf8_lossy(&key).into_owned(), &mut watched);
            if let Some(err) = watched.error {
                // The stream itself failed (cut off, stalled): that ends it.
                r.error = Some(format!("{}: {err}", String::from_utf8_lossy(&name)));
                break;
            }
            r.digests.push((layer.digest.clone(), key));
            r.store.add_streamed(&name, layer);
            continue;
        }
        let is_blob = name.ends_with(b"layer.tar") || name.starts_with(b"blobs/");
        if arrived.is_some() && size > MAX_MEMBER {
            // Not a layer, and too large for a configuration or manifest.
            let _ = std::io::copy(&mut src, &mut std::io::sink());
            continue;
        }
        let mut disk_full = false;
        let mut write_error = |err: std::io::Error| {
            disk_full = err.kind() == std::io::ErrorKind::StorageFull;
            Error::Layer(err.to_string())
        };
        let res: Result<()> = if is_blob || size >= SPOOL_AT {
            (|| {
                let mut file = spool.file()?;
                let guard = DiskGuard::new(file.as_file_mut(), spool, min_free);
                let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, guard));
                std::io::copy(&mut src, &mut w).map_err(&mut write_error)?;
                let (mut bw, digest, _) = w.finish();
                bw.flush().map_err(&mut write_error)?;
                drop(bw);
                r.digests.push((digest, key.clone()));
                r.store.add_file(&name, file)?;
                Ok(())
            })()
        } else {
            let mut v = Vec::with_capacity(size as usize);
            src.read_to_end(&mut v)
                .map_err(|err| Error::Layer(err.to_string()))
                .map(|_| r.store.add_bytes(&name, v))
        };
        if let Err(err) = res {
            let message = format!("{}: {err}", String::from_utf8_lossy(&name));
            if disk_full && std::io::copy(&mut src, &mut std::io::sink()).is_ok() {
                r.error.get_or_insert(message);
                continue;
            }
            r.error = Some(message);
            break;
        }
    }
    r
}

/// Reads a docker save or OCI archive from a stream (standard input, a compressed
/// archive file), plain, gzip or zstd, each layer handed to `arrived` as it arrives.
/// What the stream decodes to, after the archive's end too, counts against the byte
/// budget: past it, the rest is not read, and the reason is given with the store. An
/// archive cut short is an error naming where it broke off; `label` names the input in
/// errors.
pub fn receive_archive(
    reader: impl Read,
    label: &str,
    spool: &Spool,
    caps: &crate::layer::LayerCaps,
    arrived: Option<Arrived<'_>>,
) -> Result<(Store, crate::target::Transport, Option<String>)> {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let head = reader
        .fill_buf()
        .map_err(|e| Error::Target(format!("{label}: {e}")))?;
    let compression = crate::layer::sniff(head);
    let plain: Box<dyn Read + '_> = match compression {
        crate::layer::Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        crate::layer::Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(reader)
                .map_err(|e| Error::Target(format!("{label}: {e}")))?,
        ),
        _ => Box::new(reader),
    };
    let mut plain = plain.take(caps.max_bytes.saturating_add(1));
    let received = receive(&mut plain, spool, caps.min_free, arrived);
    // Data after the archive's end (a bomb appended to it) is read up to the budget.
    let after = std::io::copy(&mut plain, &mut std::io::sink());
    let cut = (plain.limit() == 0).then(|| {
        format!(
            "the {} archive decompresses to more than --max-layer-bytes {} MiB; what came after is not read",
            compression.as_str(),
            caps.max_bytes >> 20
        )
    });
    let store = Store::Members(received.store);
    let kind = crate::target::archive_kind(|n| store.contains(n));
    match (kind, received.error.or(after.err().map(|e| e.to_string()))) {
        (Some(k), None) => Ok((store, k, cut)),
        (None, None) if cut.is_some() => Err(Error::Target(format!(
            "{label}: the {} archive inflates past --max-layer-bytes {} MiB before any image in it; not read",
            compression.as_str(),
            caps.max_bytes >> 20
        ))),
        (_, Some(e)) => Err(Error::Target(format!(
            "{label}: the archive is cut short or damaged: {e}"
        ))),
        (None, None) => Err(Error::Target(format!(
            "{label}: not a container image archive (no manifest.json, oci-layout or index.json at its top level)"
        ))),
    }
}

/// The image a daemon source names in findings: `docker-daemon:REF`.
pub fn label_for(reference: &str) -> String {
    format!("docker-daemon:{reference}")
}

/// Opens `reference` (or every image when `None`) from the daemon.
pub fn open(
    reference: Option<&str>,
    spool: &Spool,
    opts: DaemonOptions,
    min_free: u64,
    arrived: Option<Arrived<'_>>,
) -> Result<(Store, Resolved)> {
    let host = daemon_host();
    let rt = runtime()?;
    let docker = rt.block_on(connect(&host, opts))?;
    // Which images, with their inspect data.
    let inspects: Vec<(String, ImageInspect)> = rt.block_on(async {
        match reference {
            Some(r) => match tokio::time::timeout(opts.timeout, docker.inspect_image(r)).await {
                Ok(Ok(i)) => Ok(vec![(r.to_string(), i)]),
                Ok(Err(e)) if is_not_found(&e) => {
                    let similar = similar_tags(&docker, r).await;
                    let hint = if similar.is_empty() {
                        String::new()
                    } else {
                        format!(" (the daemon has: {})", similar.join(", "))
                    };
                    Err(Error::Target(format!(
                        "{}: no such image in the daemon at {host}{hint}",
                        label_for(r)
                    )))
                }
                Ok(Err(e)) => Err(Error::Target(format!(
                    "{}: {}",
                    label_for(r),
                    error_chain(&e)
                ))),
                Err(_) => Err(Error::Target(format!(
                    "{}: the daemon did not answer within {}s",
                    label_for(r),
                    opts.timeout.as_secs()
                ))),
            },
            None => {
                let list = docker
                    .list_images(None::<bollard::query_parameters::ListImagesOptions>)
                    .await
                    .map_err(|e| {
                        Error::Target(format!(
                            "docker-daemon: listing images: {}",
                            error_chain(&e)
                        ))
                    })?;
                let mut v = Vec::new();
                for summary in list {
                    let i = docker.inspect_image(&summary.id).await.map_err(|e| {
                        Error::Target(format!("docker-daemon:{}: {}", summary.id, error_chain(&e)))
                    })?;
                    let name = summary
                        .repo_tags
                        .iter()
                        .find(|t| *t != "<none>:<none>")
                        .cloned()
                        .unwrap_or(summary.id.clone());
                    v.push((name, i));
                }
                Ok(v)
            }
        }
    })?;
    if inspects.is_empty() {
        return Ok((Store::Members(MemberStore::default()), Resolved::default()));
    }
    // Export: by the names given (so the archive carries their tags), else by id.
    let names: Vec<String> = match reference {
        Some(r) => vec![r.to_string()],
        None => inspects
            .iter()
            .flat_map(|(n, i)| {
                let tags: Vec<String> = i.repo_tags.clone().unwrap_or_default();
                if tags.is_empty() {
                    vec![i.id.clone().unwrap_or_else(|| n.clone())]
                } else {
                    tags
                }
            })
            .collect(),
    };
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<bytes::Bytes>>(32);
    let idle = opts.idle_timeout;
    let stream_docker = docker.clone();
    rt.spawn(async move {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut stream = Box::pin(stream_docker.export_images(&refs));
        loop {
            let item = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(b))) => Ok(b),
                Ok(Some(Err(e))) => Err(std::io::Error::other(format!(
                    "the export stream broke off: {}",
                    error_chain(&e)
                ))),
                Ok(None) => break,
                Err(_) => Err(std::io::Error::other(format!(
                    "the export stream stalled for {}s",
                    idle.as_secs()
                ))),
            };
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                break;
            }
        }
    });
    let received = receive(
        ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        },
        spool,
        min_free,
        arrived,
    );
    drop(rt);
    resolve(received, &inspects, reference)
}

/// Resolves what arrived into images, with the daemon's provenance.
fn resolve(
    received: Received,
    inspects: &[(String, ImageInspect)],
    reference: Option<&str>,
) -> Result<(Store, Resolved)> {
    let store = Store::Members(received.store);
    let mut out = Resolved::default();
    let stream_error = received.error.clone();
    let from_manifest = if stream_error.is_none() || store.contains("manifest.json") {
        docker::images(&store, "docker-daemon", None).ok()
    } else {
        None
    };
    for (name, inspect) in inspects {
        let label = label_for(reference.unwrap_or(name));
        let id = inspect.id.clone().unwrap_or_default();
        let mut image = match &from_manifest {
            Some(r) => match r.images.iter().find(|i| i.config_digest == id) {
                Some(i) => i.clone(),
                None => {
                    out.issues.push(SourceIssue {
                        kind: crate::error::ErrorKind::MissingBlob,
                        message: format!("{label}: image {id} is missing from the export"),
                    });
                    continue;
                }
            },
            None => {
                match partial_image(&store, &received.digests, inspect, &label, &mut out.issues) {
                    Some(i) => i,
                    None => continue,
                }
            }
        };
        image.source = label;
        let tags: Vec<String> = inspect.repo_tags.clone().unwrap_or_default();
        image.reference = match reference {
            Some(r) if !r.starts_with("sha256:") && !r.contains('@') => Some(r.to_string()),
            _ => tags.first().cloned().or(Some(id.clone())),
        };
        image.tags = tags;
        image.repo_digests = inspect.repo_digests.clone().unwrap_or_default();
        if let (Some(os), Some(arch)) = (&inspect.os, &inspect.architecture) {
            image.platform = match inspect.variant.as_deref().filter(|v| !v.is_empty()) {
                Some(v) => format!("{os}/{arch}/{v}"),
                None => format!("{os}/{arch}"),
            };
        }
        out.images.push(image);
    }
    if let Some(e) = stream_error {
        out.issues.push(SourceIssue {
            kind: crate::error::ErrorKind::Corrupt,
            message: format!(
                "{}: {e}; scanned what arrived",
                label_for(reference.unwrap_or("(all images)"))
            ),
        });
    }
    Ok((store, out))
}

/// Builds an image from a broken-off export: the config if it arrived, layers matched by
/// diff_id to the members that arrived whole.
fn partial_image(
    store: &Store,
    digests: &[(String, Vec<u8>)],
    inspect: &ImageInspect,
    label: &str,
    issues: &mut Vec<SourceIssue>,
) -> Option<Image> {
    let id = inspect.id.clone()?;
    let hex = id.strip_prefix("sha256:")?;
    let config_name = [format!("{hex}.json"), format!("blobs/sha256/{hex}")]
        .into_iter()
        .find(|n| store.contains(n));
    let cfg = config_name.as_ref().and_then(|n| {
        let blob = store.get(n).ok()?;
        (sha256_digest(blob.bytes()) == id)
            .then(|| oci_spec::image::ImageConfiguration::from_reader(blob.bytes()).ok())?
    });
    let diff_ids: Vec<String> = match &cfg {
        Some(c) => c.rootfs().diff_ids().clone(),
        None => inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .unwrap_or_default(),
    };
    let mut layers = Vec::new();
    for (index, diff_id) in diff_ids.iter().enumerate() {
        match digests.iter().find(|(d, _)| d == diff_id) {
            Some((_, name)) => layers.push(LayerRef {
                index,
                blob: String::from_utf8_lossy(name).into_owned(),
                digest: None,
                diff_id: Some(diff_id.clone()),
                media_type: None,
                size: None,
                created_by: None,
                title: None,
            }),
            None => issues.push(SourceIssue {
                kind: crate::error::ErrorKind::MissingBlob,
                message: format!("{label}: layer {index} ({diff_id}) did not arrive"),
            }),
        }
    }
    let (metadata, platform, steps) = match &cfg {
        Some(c) => (
            crate::image::config_fields(c),
            crate::image::platform_of(c),
            crate::image::layer_steps(c),
        ),
        None => {
            issues.push(SourceIssue {
                kind: crate::error::ErrorKind::MissingBlob,
                message: format!("{label}: the image config did not arrive; metadata not scanned"),
            });
            (Vec::new(), String::new(), Vec::new())
        }
    };
    for l in &mut layers {
        l.created_by = steps.get(l.index).cloned().flatten();
    }
    Some(Image {
        source: label.to_string(),
        reference: None,
        tags: Vec::new(),
        repo_digests: Vec::new(),
        platform,
        config_digest: id,
        manifest_digest: None,
        layers,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn each_layer_is_handed_over_as_soon_as_it_has_arrived() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(Some(dir.path())).unwrap();
        let layer_a = tar_of(&[("etc/a.conf", b"token=1\n")]);
        let layer_b = tar_of(&[("etc/b.conf", b"token=2\n")]);
        let stream = tar_of(&[
            ("aaa/layer.tar", &layer_a),
            ("blobs/sha256/cfg", b"{\"rootfs\":{}}"),
            ("bbb/layer.tar", &layer_b),
            ("manifest.json", b"[]"),
        ]);
        // The first part ends with the first layer's last byte: it is read whole as it
        // arrives, before the rest of the stream.
        let cut = 512 + layer_a.len();
        let (tx, rx) = mpsc::sync_channel::<std::io::Result<bytes::Bytes>>(4);
        let (seen_tx, seen) = mpsc::channel::<(String, String, usize)>();
        std::thread::scope(|s| {
            let receiver = s.spawn(|| {
                let arrived = move |name: String, stream: &mut dyn Read| {
                    let mut h = crate::util::HashingReader::new(stream);
                    std::io::copy(&mut h, &mut std::io::sink()).unwrap();
                    let (digest, size) = h.finish();
                    seen_tx.send((name, digest.clone(), size as usize)).unwrap();
                    super::super::store::Streamed { digest, size }
                };
                let reader = ChannelReader {
                    rx,
                    current: bytes::Bytes::new(),
                };
                receive(reader, &spool, 0, Some(&arrived))
            });
            tx.send(Ok(bytes::Bytes::copy_from_slice(&stream[..cut])))
                .unwrap();
            let first = seen.recv_timeout(Duration::from_secs(30)).unwrap();
            assert_eq!(
                first,
                (
                    "aaa/layer.tar".to_string(),
                    sha256_digest(&layer_a),
                    layer_a.len()
                )
            );
            assert!(seen.try_recv().is_err(), "nothing else has arrived yet");
            tx.send(Ok(bytes::Bytes::copy_from_slice(&stream[cut..])))
                .unwrap();
            drop(tx);
            let received = receiver.join().unwrap();
            assert_eq!(received.error, None);
            // The config blob is no layer; manifest.json stays in memory.
            let rest: Vec<String> = seen.try_iter().map(|(n, _, _)| n).collect();
            assert_eq!(rest, ["bbb/layer.tar"]);
            assert_eq!(received.digests.len(), 3);
        });
    }
}
