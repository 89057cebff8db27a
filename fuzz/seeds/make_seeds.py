#!/usr/bin/env python3
"""Writes the small seed inputs of every fuzz target into fuzz/seeds/<target>/.

Run from anywhere: python3 fuzz/seeds/make_seeds.py. The output is deterministic.
"""
import gzip
import hashlib
import io
import json
import os
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"--8<--"
TOKEN = "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"


def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1704067200
            if kind == "file":
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                t.addfile(info)
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = data
                t.addfile(info)
    return buf.getvalue()


def gz(d):
    return gzip.compress(d, mtime=0)


def sha(d):
    return hashlib.sha256(d).hexdigest()


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


LAYER0 = tar_bytes([
    ("app/", "dir", None),
    ("app/.env", "file", f"token={TOKEN}\n".encode()),
    ("app/link", "hard", "app/.env"),
    ("app/shadow", "sym", "/etc/shadow"),
    ("opt/" + "x" * 120 + "/long.txt", "file", b"long name\n"),
])
LAYER1 = tar_bytes([
    ("app/.wh..env", "file", b""),
    ("opt/.wh..wh..opq", "file", b""),
    ("srv/pax-\u00e9.txt", "file", b"pax\n"),
], fmt=tarfile.PAX_FORMAT)
CONFIG = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Env": [f"T={TOKEN}"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(LAYER0), "sha256:" + sha(LAYER1)]},
    "history": [{"created_by": "COPY . /"}, {"created_by": "RUN rm"}],
}).encode()

# tar_index: two layers.
write("tar_index", "two-layers", LAYER0 + SEP + LAYER1)
write("tar_index", "one-layer", LAYER0)

# open_layer: plain, gzip, zstd-less (no zstd module in the standard library).
write("open_layer", "gzip", gz(LAYER0))
write("open_layer", "multi-member-gzip", gz(LAYER0[:1024]) + gz(LAYER0[1024:]))
write("open_layer", "plain", LAYER1)

# docker_archive: a whole classic docker save (mode 0) and a layout (mode 1).
save = tar_bytes([
    ("manifest.json", "file", json.dumps([{
        "Config": sha(CONFIG) + ".json", "RepoTags": ["corp/app:1.2"],
        "Layers": ["l0/layer.tar", "l1/layer.tar"]}]).encode()),
    (sha(CONFIG) + ".json", "file", CONFIG),
    ("l0/layer.tar", "file", LAYER0),
    ("l1/layer.tar", "sym", "../l0/layer.tar"),
])
write("docker_archive", "classic", b"\x00" + save)
write("docker_archive", "classic-gzip", b"\x00" + gz(save))
manifest = json.dumps([{
    "Config": "blobs/sha256/$1", "RepoTags": ["corp/app:1.2"],
    "Layers": ["blobs/sha256/$2", "blobs/sha256/$3"]}]).encode()
write("docker_archive", "layout", b"\x03" + SEP.join([manifest, CONFIG, LAYER0, gz(LAYER1)]))

# oci_layout: a whole archive (mode 0) and a layout with a nested index (mode 1).
def desc(media, digest, size=1, **extra):
    d = {"mediaType": media, "digest": digest, "size": size}
    d.update(extra)
    return d

IDX = "application/vnd.oci.image.index.v1+json"
MAN = "application/vnd.oci.image.manifest.v1+json"
oci_manifest = json.dumps({
    "schemaVersion": 2, "mediaType": MAN,
    "config": desc("application/vnd.oci.image.config.v1+json", "sha256:$2"),
    "layers": [desc("application/vnd.oci.image.layer.v1.tar", "sha256:$3"),
               desc("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:$4")],
    "annotations": {"a": "b"}}).encode()
nested = json.dumps({"schemaVersion": 2, "manifests": [
    desc(MAN, "sha256:$1", platform={"os": "linux", "architecture": "arm64", "variant": "v8"}),
    desc(IDX, "sha256:$5")]}).encode()
index = json.dumps({"schemaVersion": 2, "manifests": [
    desc(IDX, "sha256:$5", annotations={"org.opencontainers.image.ref.name": "1.2"}),
    desc(MAN, "sha256:$1", annotations={"vnd.docker.reference.type": "attestation-manifest"})]}).encode()
write("oci_layout", "layout", b"\x01" + SEP.join([index, oci_manifest, CONFIG, LAYER0, gz(LAYER1), nested]))
blobs = {}
for doc in [CONFIG, LAYER0, gz(LAYER1)]:
    blobs[sha(doc)] = doc
real_manifest = json.dumps({
    "schemaVersion": 2, "mediaType": MAN,
    "config": desc("application/vnd.oci.image.config.v1+json", "sha256:" + sha(CONFIG), len(CONFIG)),
    "layers": [desc("application/vnd.oci.image.layer.v1.tar", "sha256:" + sha(LAYER0), len(LAYER0))]}).encode()
archive = tar_bytes(
    [("oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}'),
     ("index.json", "file", json.dumps({"schemaVersion": 2, "manifests": [
         desc(MAN, "sha256:" + sha(real_manifest), len(real_manifest),
              annotations={"org.opencontainers.image.ref.name": "1.2"})]}).encode()),
     ("blobs/sha256/" + sha(real_manifest), "file", real_manifest)]
    + [("blobs/sha256/" + h, "file", d) for h, d in blobs.items()])
write("oci_layout", "archive", b"\x00" + archive)

# nested: a .tar.gz holding a jar, a UTF-16 file.
jar = io.BytesIO()
with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("BOOT-INF/classes/application.properties", f"key={TOKEN}\n")
write("nested", "tgz-with-jar", gz(tar_bytes([("lib/app.jar", "file", jar.getvalue())], fmt=tarfile.USTAR_FORMAT)))
write("nested", "jar", jar.getvalue())
write("nested", "utf16le", b"\xff\xfe" + f"key={TOKEN}\r\n".encode("utf-16-le"))

# rules: a gitleaks-style file.
write("rules", "gitleaks", b'''
[extend]
useDefault = true
disabledRules = ["generic-api-key"]
[allowlist]
paths = [\'\'\'(^|/)vendor/\'\'\']
[[rules]]
id = "corp-token"
description = "Corp token"
regex = \'\'\'corp_([a-z0-9]{16})\'\'\'
secretGroup = 1
keywords = ["corp_"]
entropy = 2.5
checksum = "crc32-base62"
structure = "jwt"
confidence = "high"
window = 128
binary = false
[[rules.allowlists]]
regexes = [\'\'\'^corp_test\'\'\']
regexTarget = "line"
stopwords = ["deadbeef"]
condition = "AND"
[[rules]]
id = "corp-token"
[[rules.allowlists]]
stopwords = ["sample"]
''')

# paths.
write("paths", "traversal", b"./a//b/../../../etc/.wh..wh..opq")
write("paths", "non-utf8", b"/srv/caf\xe9/\xff.wh.x/")

# scan: bit 1 of the first byte picks docker save (set) or OCI (clear).
write("scan", "oci-layout", b"\x01" + SEP.join([index, oci_manifest, CONFIG, LAYER0, gz(LAYER1), nested]))
write("scan", "oci-archive", b"\x00" + archive)
write("scan", "docker-classic", b"\x06" + save)
write("scan", "docker-layout", b"\x03" + SEP.join([manifest, CONFIG, LAYER0, gz(LAYER1)]))
