#!/usr/bin/env python3
"""Helpers of bench/realcode.sh: lay out Debian packages where each ecosystem keeps vendored
code, plant secrets into third-party files, and score layerhound's and Kingfisher's
reports against the planted list.

  realcode.py wheels LIST WHEELDIR OUTDIR
  realcode.py debian LIST DEBDIR OUTDIR
  realcode.py plant PLANTED LAYERSDIR PRISTINEDIR RESOLVED_OUT
  realcode.py score --set NAME --layers DIR... --planted RESOLVED --lh JSON --lh-rc N
                    --lh-time FILE --kf JSON --kf-rc N --kf-time FILE --noise TSV --md OUT
"""

import argparse
import glob
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict

CARGO_SRC = "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/"
GO_VENDOR = "go/src/app/vendor/"
GO_MODCACHE = "go/pkg/mod/"
WEBINF = "usr/local/tomcat/webapps/ROOT/WEB-INF/lib/"
M2 = "root/.m2/repository/"
BUNDLE = "usr/local/bundle/"
PHP_VENDOR = "var/www/html/vendor/"


def die(msg):
    print(f"[realcode] error: {msg}", file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------------------
# Ecosystems, decided from a path in the image
# --------------------------------------------------------------------------------------

def ecosystem(path):
    p = path.split("!", 1)[0]
    if "/node_modules/" in "/" + p:
        return "npm"
    if p.startswith("app/vendor/"):
        return "pypi"
    if ".cargo/registry/" in p:
        return "cargo"
    if p.startswith(("usr/share/gocode/", GO_VENDOR, GO_MODCACHE)):
        return "go"
    if p.startswith(("usr/share/java/", "usr/share/maven-repo/", M2, WEBINF)) or p.endswith(".jar"):
        return "java"
    if p.startswith((BUNDLE, "usr/lib/ruby/", "usr/share/rubygems-integration/")):
        return "ruby"
    if p.startswith((PHP_VENDOR, "usr/share/php/")):
        return "php"
    if p.startswith("app/"):
        return "app"
    if p.startswith("config:"):
        return "image-config"
    return "other"


def package_of(path):
    """A short name of the package a third-party path belongs to (for the tables)."""
    p = path.split("!", 1)[0]
    parts = p.split("/")
    eco = ecosystem(path)
    if eco == "npm":
        i = len(parts) - 1 - parts[::-1].index("node_modules")
        name = parts[i + 1] if i + 1 < len(parts) else "?"
        if name.startswith("@") and i + 2 < len(parts):
            name += "/" + parts[i + 2]
        return name
    if eco == "pypi":
        return parts[2] if len(parts) > 2 else "?"
    if eco == "cargo":
        return parts[5] if len(parts) > 5 else "?"
    if eco == "go":
        if p.startswith(GO_MODCACHE):
            for i, q in enumerate(parts[3:], 3):
                if "@" in q:
                    return "/".join(parts[3:i + 1])
        return "/".join(parts[4:7])
    if eco == "java":
        for q in parts:
            if q.endswith(".jar"):
                return q
        return "/".join(parts[:4])
    if eco == "ruby":
        return parts[4] if p.startswith(BUNDLE + "gems/") and len(parts) > 4 else parts[-1]
    if eco == "php":
        return "/".join(parts[4:6])
    return parts[0] + "/" + (parts[1] if len(parts) > 1 else "")


# --------------------------------------------------------------------------------------
# Python wheels → app/vendor/
# --------------------------------------------------------------------------------------

def norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def wheels(list_path, wheeldir, out):
    """Unpacks each pinned wheel into OUT/app/vendor/ and removes its dist-info RECORD
    (METADATA stays): vendored code, not an installation pip could vouch for."""
    vendor = os.path.join(out, "app/vendor")
    os.makedirs(vendor, exist_ok=True)
    have = os.listdir(wheeldir)
    for line in open(list_path):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, version = line.split("==")
        hits = sorted(f for f in have if f.endswith(".whl") and norm(f.split("-")[0]) == norm(name)
                      and f.split("-")[1] == version)
        if not hits:
            die(f"{name}=={version}: no wheel in {wheeldir}")
        with zipfile.ZipFile(os.path.join(wheeldir, hits[0])) as z:
            z.extractall(vendor)
    for rec in glob.glob(os.path.join(vendor, "*.dist-info/RECORD")):
        os.remove(rec)


# --------------------------------------------------------------------------------------
# Debian packages → ecosystem layouts
# --------------------------------------------------------------------------------------

def copytree(src, dst):
    """cp -a src/. dst/ (symlinks kept as symlinks)."""
    os.makedirs(dst, exist_ok=True)
    subprocess.run(["cp", "-a", src.rstrip("/") + "/.", dst], check=True)


def real_files(d):
    out = []
    for root, _dirs, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(p)
    return out


def go_modules(src):
    """Module roots under usr/share/gocode/src: the directory with a go.mod nearest the top,
    else the first three path components (github.com/owner/repo)."""
    mods = []
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        if rel == ".":
            continue
        depth = rel.count("/") + 1
        if "go.mod" in files or depth == 3:
            mods.append(rel)
            dirs[:] = []
    return sorted(mods)


def debian(list_path, debdir, out):
    entries = []
    for line in open(list_path):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, layout = line.split()
        name, version = spec.split("=", 1)
        entries.append((name, version, layout))
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    go_vendor_mods = []  # (module, version, packages)
    composer = []
    for name, version, layout in entries:
        upstream = re.sub(r"^\d+:", "", version).split("-")[0]
        upstream = re.sub(r"[+~](dfsg|ds|debian).*$", "", upstream)
        debs = glob.glob(os.path.join(debdir, f"{name}_*.deb"))
        want = [d for d in debs if os.path.basename(d).split("_")[1].replace("%3a", ":") == version]
        if not want:
            die(f"{name}={version}: no .deb in {debdir}")
        with tempfile.TemporaryDirectory(dir=os.path.dirname(out)) as x:
            subprocess.run(["dpkg-deb", "-x", want[0], x], check=True)
            if layout in ("go", "go-vendor", "go-mod"):
                src = os.path.join(x, "usr/share/gocode/src")
                if not os.path.isdir(src):
                    die(f"{name}: no usr/share/gocode/src")
                if layout == "go":
                    copytree(src, os.path.join(out, "usr/share/gocode/src"))
                elif layout == "go-mod":
                    # the module cache: <module>@<version>/, capitals escaped as !lower
                    for mod in go_modules(src):
                        esc = re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), mod)
                        copytree(os.path.join(src, mod), os.path.join(out, GO_MODCACHE, f"{esc}@v{upstream}"))
                else:
                    for mod in go_modules(src):
                        copytree(os.path.join(src, mod), os.path.join(out, GO_VENDOR, mod))
                        pkgs = sorted(
                            os.path.relpath(r, src)
                            for r, _d, fs in os.walk(os.path.join(src, mod))
                            if any(f.endswith(".go") and not f.endswith("_test.go") for f in fs)
                        )
                        go_vendor_mods.append((mod, "v" + upstream, pkgs))
            elif layout.startswith("java"):
                java = os.path.join(x, "usr/share/java")
                if not os.path.isdir(java):
                    die(f"{name}: no usr/share/java")
                jars = [j for j in real_files(java) if j.endswith(".jar")]
                placed = False
                if layout == "java-m2":
                    for pom in glob.glob(os.path.join(x, "usr/share/maven-repo/**/*.pom"), recursive=True):
                        rel = os.path.relpath(pom, os.path.join(x, "usr/share/maven-repo"))
                        parts = rel.split("/")
                        if len(parts) < 4 or parts[-2] == "debian":
                            continue
                        group, art, ver = "/".join(parts[:-3]), parts[-3], parts[-2]
                        jar = pom[:-4] + ".jar"
                        if not os.path.exists(jar):  # a dangling or missing link: jar elsewhere
                            continue
                        dst = os.path.join(out, M2, group, art, ver)
                        os.makedirs(dst, exist_ok=True)
                        shutil.copyfile(os.path.realpath(jar), os.path.join(dst, f"{art}-{ver}.jar"))
                        shutil.copyfile(pom, os.path.join(dst, f"{art}-{ver}.pom"))
                        placed = True
                elif layout == "java-webinf":
                    dst = os.path.join(out, WEBINF)
                    os.makedirs(dst, exist_ok=True)
                    for j in jars:
                        shutil.copyfile(j, os.path.join(dst, os.path.basename(j)))
                    placed = True
                if not placed:
                    copytree(java, os.path.join(out, "usr/share/java"))
                    mr = os.path.join(x, "usr/share/maven-repo")
                    if os.path.isdir(mr):
                        copytree(mr, os.path.join(out, "usr/share/maven-repo"))
            elif layout == "ruby":
                specs = glob.glob(os.path.join(x, "usr/share/rubygems-integration/*/specifications/*.gemspec"))
                if not specs:
                    die(f"{name}: no gemspec")
                for i, spec in enumerate(sorted(specs)):
                    stem = os.path.basename(spec)[: -len(".gemspec")]
                    gemdir = os.path.join(out, BUNDLE, "gems", stem)
                    shipped = os.path.join(os.path.dirname(os.path.dirname(spec)), "gems", stem)
                    if os.path.isdir(shipped):
                        copytree(shipped, gemdir)
                    elif i == 0:
                        vr = os.path.join(x, "usr/lib/ruby/vendor_ruby")
                        if os.path.isdir(vr):
                            copytree(vr, os.path.join(gemdir, "lib"))
                    os.makedirs(gemdir, exist_ok=True)
                    os.makedirs(os.path.join(out, BUNDLE, "specifications"), exist_ok=True)
                    shutil.copyfile(spec, os.path.join(out, BUNDLE, "specifications", stem + ".gemspec"))
            elif layout == "php":
                php = os.path.join(x, "usr/share/php")
                if not os.path.isdir(php):
                    die(f"{name}: no usr/share/php")
                base = re.sub(r"^(php|libphp)-", "", name).split("-", 1)
                cname = f"{base[0]}/{base[1]}" if len(base) == 2 else f"{base[0]}/{base[0]}"
                copytree(php, os.path.join(out, PHP_VENDOR, cname, "src"))
                composer.append({
                    "name": cname, "version": upstream, "version_normalized": upstream + ".0",
                    "type": "library", "install-path": "../" + cname,
                    "autoload": {"psr-4": {"": "src/"}},
                })
            else:
                die(f"{name}: unknown layout {layout}")
    if go_vendor_mods:
        with open(os.path.join(out, GO_VENDOR, "modules.txt"), "w") as f:
            for mod, ver, pkgs in go_vendor_mods:
                f.write(f"# {mod} {ver}\n## explicit\n")
                for p in pkgs:
                    f.write(p + "\n")
    if composer:
        os.makedirs(os.path.join(out, PHP_VENDOR, "composer"), exist_ok=True)
        with open(os.path.join(out, PHP_VENDOR, "composer/installed.json"), "w") as f:
            json.dump({"packages": composer, "dev": False, "dev-package-names": []}, f, indent=4)
            f.write("\n")


# --------------------------------------------------------------------------------------
# Planting secrets into third-party files
# --------------------------------------------------------------------------------------

def read_planted(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        p, ln, rule, where, text = line.rstrip("\n").split("\t", 4)
        rows.append({"path": p, "line": ln, "rule": rule, "where": where, "text": text})
    return rows


def plant(planted, layers, pristine, out):
    rows = read_planted(planted)
    layer_dirs = sorted(d for d in os.listdir(layers) if os.path.isdir(os.path.join(layers, d)))
    resolved = []
    appended = defaultdict(list)
    for r in rows:
        hits = [d for d in layer_dirs if os.path.isfile(os.path.join(layers, d, r["path"]))]
        if not hits:
            die(f"planted path {r['path']} is in no layer under {layers}")
        r["layer_dir"] = hits[-1]
        if r["line"].startswith("+"):
            appended[(hits[-1], r["path"])].append(r)
        else:
            lines = open(os.path.join(layers, hits[-1], r["path"]), encoding="utf-8").read().split("\n")
            n = int(r["line"])
            if n > len(lines) or lines[n - 1] != r["text"]:
                die(f"{r['path']}:{n} is not the planted line {r['text'][:40]!r}")
            resolved.append(r)
    for (d, p), rs in appended.items():
        target = os.path.join(layers, d, p)
        keep = os.path.join(pristine, d, p)
        if not os.path.exists(keep):
            os.makedirs(os.path.dirname(keep), exist_ok=True)
            shutil.copy2(target, keep)
        data = open(keep, "rb").read()
        if data and not data.endswith(b"\n"):
            data += b"\n"
        base = data.count(b"\n")
        for r in sorted(rs, key=lambda r: int(r["line"][1:])):
            data += r["text"].encode() + b"\n"
            r["line"] = str(base + int(r["line"][1:]))
            resolved.append(r)
        with open(target, "wb") as f:
            f.write(data)
    with open(out, "w", encoding="utf-8") as f:
        for r in resolved:
            f.write("\t".join([r["path"], r["line"], r["rule"], r["where"], r["text"]]) + "\n")
    print(f"[realcode] {len(resolved)} planted places ({len(appended)} third-party files appended to)", file=sys.stderr)


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------

def parse_time(path):
    """Wall seconds and peak RSS (MiB) from /usr/bin/time -v output."""
    wall, rss = None, None
    try:
        for line in open(path, errors="replace"):
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                v = line.rsplit(" ", 1)[1]
                parts = [float(x) for x in v.split(":")]
                wall = sum(x * 60 ** i for i, x in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(" ", 1)[1]) / 1024
    except FileNotFoundError:
        pass
    return wall, rss


def lh_places(doc):
    out = []
    for f in doc.get("findings", []):
        for p in f.get("places") or []:
            loc = p.get("location", {})
            if loc.get("field") is not None:
                path = "config:" + loc["field"]
            else:
                nested = loc.get("nested")
                path = "!".join(nested) if nested else loc.get("path", "?")
            out.append({
                "rule": p.get("rule_id", f.get("rule_id")), "status": p.get("status"),
                "path": path, "line": loc.get("line"), "column": loc.get("column"),
                "layer": loc.get("layer_index"), "secret": f.get("secret", ""),
                "confidence": f.get("confidence"),
            })
    return out


def kf_places(doc):
    out = []
    for f in doc.get("findings", []):
        fi = f.get("finding", {})
        parts = [s.strip() for s in str(fi.get("path", "?")).split(" | ")]
        path = "!".join(parts[1:]) if len(parts) > 1 else parts[0]
        out.append({
            "rule": f.get("rule", {}).get("id", "?"), "path": path, "line": fi.get("line"),
            "column": fi.get("column_start"), "confidence": fi.get("confidence"),
        })
    return out


def member_bytes(data, name):
    """The bytes of member `name` of an archive or compressed file, or None."""
    try:
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return z.read(name)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
            if name and not tarfile.is_tarfile(io.BytesIO(data)):
                return data
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            m = t.extractfile(name)
            return m.read() if m else None
    except Exception:
        return None


def context(layer_dirs, pl):
    """The matched line, shortened, the secret cut to its first 4 characters (a PEM block
    to its BEGIN line)."""
    if pl["path"].startswith("config:") or pl["layer"] is None or pl["layer"] >= len(layer_dirs):
        return ""
    chain = pl["path"].split("!")
    try:
        data = open(os.path.join(layer_dirs[pl["layer"]], chain[0]), "rb").read()
    except OSError:
        return "(unreadable)"
    for inner in chain[1:]:
        data = member_bytes(data, inner)
        if data is None:
            return "(nested, unreadable)"
    lines = data.split(b"\n")
    n = (pl["line"] or 1) - 1
    if n >= len(lines):
        return ""
    line = lines[n].decode("utf-8", "replace").replace("\t", " ").replace("\r", "")
    col = max((pl["column"] or 1) - 1, 0)
    rest = line[col:]
    pem = re.match(r"-----BEGIN [A-Z0-9 ]*-----", rest)
    if pem:
        red = line[:col] + pem.group(0) + ("…" if len(rest) > pem.end() else "")
    else:
        m = re.match(r"[^\s\"'`<>,;)(\]\[{}\\]*", rest)
        red = line[:col] + rest[:4] + "…" + rest[m.end() if m else 4:]
    start = max(col - 60, 0)
    short = red[start:start + 130]
    return ("…" if start else "") + short.strip() + ("…" if start + 130 < len(red) else "")


def demangle(places, layer_dirs):
    """layerhound masks every secret it found wherever it occurs, paths included: a
    one-character "secret" (`p`) turns every `pem` into `p…em`. A reported path that is
    not on disk but is once the `…` are taken out is given back its real name; returns
    how many were."""
    fixed = 0
    for p in places:
        if "…" not in p["path"] or p["path"].startswith("config:") or p["layer"] is None:
            continue
        parts = p["path"].split("!")
        if os.path.lexists(os.path.join(layer_dirs[p["layer"]], parts[0])):
            continue
        cand = [q.replace("…", "") for q in parts]
        if os.path.lexists(os.path.join(layer_dirs[p["layer"]], cand[0])):
            p["path"] = "!".join(cand)
            fixed += 1
    return fixed


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


ECOS = ["app", "npm", "pypi", "cargo", "go", "java", "ruby", "php", "image-config", "other"]


def by_rule_eco(places):
    c = defaultdict(Counter)
    for p in places:
        c[p["rule"]][ecosystem(p["path"])] += 1
    ecos = [e for e in ECOS if any(c[r][e] for r in c)]
    rows = sorted(c.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    out = [[f"`{r}`", sum(v.values())] + [v[e] or "" for e in ecos] for r, v in rows]
    tot = Counter()
    for _, v in rows:
        tot.update(v)
    out.append(["**total**", f"**{sum(tot.values())}**"] + [f"**{tot[e]}**" if tot[e] else "" for e in ecos])
    return table(["rule", "places"] + ecos, out)


def sizes(layer_dirs):
    size, files = Counter(), Counter()
    for d in layer_dirs:
        for root, _dirs, fs in os.walk(d):
            for f in fs:
                p = os.path.join(root, f)
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                e = ecosystem(os.path.relpath(p, d))
                size[e] += os.path.getsize(p)
                files[e] += 1
    return size, files


def mib(n):
    return f"{n / 2**20:,.1f} MiB"


def score(a):
    layer_dirs = a.layers
    planted = read_planted(a.planted)
    pkey = {(r["path"], int(r["line"])): r for r in planted}
    lh = json.load(open(a.lh))
    lhp = lh_places(lh)
    mangled = demangle(lhp, layer_dirs)
    kf = json.load(open(a.kf)) if os.path.exists(a.kf) and os.path.getsize(a.kf) else {"findings": []}
    kfp = kf_places(kf)
    md = []
    w = md.append
    size, files = sizes(layer_dirs)
    w(f"## Set `{a.set}`\n")
    w("Code in the image, by ecosystem (regular files and their sizes):\n")
    rows = [[e, f"{files[e]:,}", mib(size[e])] for e in ECOS if files[e]]
    tp = sum(size[e] for e in ECOS if e not in ("app", "other", "image-config"))
    rows.append(["**third-party total**", f"**{sum(files[e] for e in ECOS if e not in ('app','other','image-config')):,}**", f"**{mib(tp)}**"])
    w(table(["ecosystem", "files", "size"], rows) + "\n")

    lw, lr = parse_time(a.lh_time)
    kw, kr = parse_time(a.kf_time)
    fmt = lambda x, f: f.format(x) if x is not None else "?"
    w("Run:\n")
    def load(path):
        try:
            return open(path).read().strip() or "?"
        except OSError:
            return "?"
    w(table(["tool", "exit code", "findings", "places", "wall", "peak RSS", "load average at start"], [
        ["layerhound (default options)", a.lh_rc, len(lh.get("findings", [])), len(lhp),
         fmt(lw, "{:.1f} s"), fmt(lr, "{:,.0f} MiB"), load(a.lh_load)],
        ["Kingfisher " + str(kf.get("metadata", {}).get("kingfisher_version", "?")) + " (--no-validate --no-dedup --no-limits)",
         a.kf_rc, len(kf.get("findings", [])), len(kfp), fmt(kw, "{:.1f} s"), fmt(kr, "{:,.0f} MiB"), load(a.kf_load)],
    ]) + "\n")
    w("Times are on a 2-core machine shared with other builds: the load average says how busy it was.\n")

    # planted
    w("Planted secrets found (layerhound: reported by default at that path and line, and exit code 1;"
      " Kingfisher: reported at that path and line):\n")
    rows = []
    nl = nk = 0
    for r in planted:
        k = (r["path"], int(r["line"]))
        lrules = sorted({p["rule"] for p in lhp if (p["path"], p["line"]) == k})
        krules = sorted({p["rule"] for p in kfp if (p["path"], p["line"]) == k})
        lok = bool(lrules) and str(a.lh_rc) == "1"
        nl += lok
        nk += bool(krules)
        rows.append([f"`{r['path']}:{r['line']}`", r["where"], f"`{r['rule']}`",
                     ("yes" if lok else "**no**") + (f" (`{', '.join(lrules)}`)" if lrules and lrules != [r["rule"]] else ""),
                     ("yes" if krules else "no") + (f" (`{', '.join(krules)}`)" if krules else "")])
    rows.append(["**total**", "", "", f"**{nl}/{len(planted)}**", f"**{nk}/{len(planted)}**"])
    w(table(["place", "where", "rule expected", "layerhound", "Kingfisher"], rows) + "\n")

    # noise
    def distinct(places):
        seen = {}
        for p in places:
            k = (p["path"], p["line"])
            if k in pkey:
                continue
            seen.setdefault((k, p["rule"]), p)
        return list(seen.values())

    ln = distinct(lhp)
    kn = distinct(kfp)
    lplaces = {(p["path"], p["line"]) for p in ln}
    kplaces = {(p["path"], p["line"]) for p in kn}
    w(f"Noise: distinct places (path and line) reported that are not planted — layerhound **{len(lplaces)}**, "
      f"Kingfisher **{len(kplaces)}**. A place two rules report counts once here and once per rule below.\n")
    eco_l = Counter(ecosystem(p) for p, _ in lplaces)
    eco_k = Counter(ecosystem(p) for p, _ in kplaces)
    w(table(["ecosystem", "layerhound", "Kingfisher"],
            [[e, eco_l[e], eco_k[e]] for e in ECOS if eco_l[e] or eco_k[e]]
            + [["**total**", f"**{len(lplaces)}**", f"**{len(kplaces)}**"]]) + "\n")
    w("layerhound noise by rule and ecosystem (places):\n")
    w(by_rule_eco(ln) + "\n" if ln else "(none)\n")
    w("layerhound noise by package (top 20, places):\n")
    pk = Counter((ecosystem(p["path"]), package_of(p["path"])) for p in ln)
    w(table(["ecosystem", "package", "places"], [[e, f"`{n}`", c] for (e, n), c in pk.most_common(20)]) + "\n" if pk else "(none)\n")
    w("Kingfisher noise by rule and ecosystem (places):\n")
    w(by_rule_eco(kn) + "\n" if kn else "(none)\n")

    # suppressed
    sup = lh.get("summary", {}).get("suppressed", {})
    w("layerhound `summary.suppressed` (set aside, not reported):\n")
    for k, v in sup.items():
        if isinstance(v, dict):
            total = sum(x for x in v.values() if isinstance(x, (int, float)))
            w(f"- `{k}`: {len(v)} keys, {total} in all" + (":" if v else ""))
            if v:
                items = sorted(v.items(), key=lambda kv: (-kv[1] if isinstance(kv[1], (int, float)) else 0, kv[0]))
                w("  <details><summary>all</summary>\n")
                w("  " + ", ".join(f"`{kk}` {vv}" for kk, vv in items) + "\n")
                w("  </details>")
        else:
            w(f"- `{k}`: {v}")
    w("")
    if mangled:
        w(f"**layerhound redaction bug**: {mangled} of its {len(lhp)} places came with a path the redactor had"
          " mangled (a `…` inserted after a very short found secret wherever it occurs in a path, e.g."
          " `p…em` for `pem`); scored here by the real path on disk.\n")
    errs = lh.get("summary", {}).get("errors", [])
    if errs:
        w(f"layerhound errors: {len(errs)} (first: {errs[0].get('message', '')[:200]})\n")
    skipped = lh.get("summary", {}).get("skipped", {})
    if skipped:
        w("layerhound `summary.skipped`: " + ", ".join(f"`{k}` {v.get('count', v) if isinstance(v, dict) else v}" for k, v in skipped.items()) + "\n")

    # noise file + examples
    with open(a.noise, "w", encoding="utf-8") as f:
        f.write("rule\tecosystem\tpackage\tstatus\tpath\tline\tcolumn\tcontext\n")
        ctx = {}
        for p in sorted(ln, key=lambda p: (p["rule"], p["path"], p["line"] or 0)):
            c = context(layer_dirs, p)
            ctx[id(p)] = c
            f.write("\t".join(str(x) for x in [p["rule"], ecosystem(p["path"]), package_of(p["path"]), p["status"],
                                                p["path"], p["line"], p["column"], c]) + "\n")
    shown = os.path.relpath(a.noise) if not os.path.relpath(a.noise).startswith("..") else a.noise
    w(f"Top layerhound noise, up to 5 examples per rule from different packages (all of them: `{shown}`):\n")
    per_rule = defaultdict(list)
    for p in sorted(ln, key=lambda p: (p["path"], p["line"] or 0)):
        per_rule[p["rule"]].append(p)
    for rule, ps in sorted(per_rule.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        w(f"- `{rule}` ({len(ps)} places)")
        picked, seen = [], set()
        for p in ps:
            k = (ecosystem(p["path"]), package_of(p["path"]))
            if k not in seen:
                seen.add(k)
                picked.append(p)
        for p in ps:
            if len(picked) >= 5:
                break
            if p not in picked:
                picked.append(p)
        for p in picked[:5]:
            c = ctx.get(id(p), "").replace("`", "'")
            w(f"  - `{p['path']}:{p['line']}` — `{c}`")
    w("")
    with open(a.md, "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "wheels":
        wheels(*rest)
    elif cmd == "debian":
        debian(*rest)
    elif cmd == "plant":
        plant(*rest)
    elif cmd == "score":
        ap = argparse.ArgumentParser()
        for o in ["set", "planted", "lh", "lh-rc", "lh-time", "kf", "kf-rc", "kf-time", "noise", "md"]:
            ap.add_argument("--" + o, required=True)
        ap.add_argument("--layers", nargs="+", required=True)
        ap.add_argument("--lh-load", default="")
        ap.add_argument("--kf-load", default="")
        score(ap.parse_args(rest))
    else:
        die(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
