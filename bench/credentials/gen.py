#!/usr/bin/env python3
"""Writes the labelled credential suite under bench/credentials/ (issue 19, item 6).

Every value here is FAKE: drawn from a seeded random generator in the documented shape of
its format (prefix, alphabet, length, checksum where the format has one: GitHub tokens'
CRC32, base64 padding bits of Azure keys, clamped WireGuard keys). None is a live
credential, none is copied from anywhere. The generated files are committed so that the
suite is frozen: re-running this script rewrites the same bytes (fixed seed), and a change
to it shows up as a diff of the samples, to be reviewed like any change to a benchmark.

Layout: <family>/positives/<sample> and <family>/negatives/<sample>, one sample per file;
a sample whose meaning depends on its file name (etc/shadow, .pgpass, .git-credentials…)
sits in its own sub-directory that ends in the real path, e.g.
etc-shadow/positives/01-debian-root/etc/shadow. <family>/SOURCES.md names, for every
sample, the public source that documents its format.

Usage: python3 bench/credentials/gen.py   (rewrites every family directory it owns)
It writes nothing here but bench/credentials/<family>/, and reads no rule of layerhound's.
"""
import base64
import binascii
import hashlib
import json
import os
import random
import shutil
import string
import sys
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
R = random.Random(0x1906)  # issue 19, item 6

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
LALNUM = LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = UPPER + LOWER + DIGITS + "+/"
B62 = DIGITS + UPPER + LOWER  # GitHub's checksum alphabet order
CRYPT64 = "./" + DIGITS + UPPER + LOWER  # crypt(3) alphabet
BCRYPT64 = "./" + UPPER + LOWER + DIGITS


def rs(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def rs_mixed(alphabet, n, need=(UPPER, LOWER, DIGITS)):
    """Random string with at least one char of every class in `need` that is in alphabet."""
    while True:
        s = rs(alphabet, n)
        if all(any(c in cls for c in s) for cls in need if any(c in alphabet for c in cls)):
            return s


def rbytes(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def ruuid():
    return str(uuidlib.UUID(bytes=rbytes(16), version=4))


def b64(n_bytes):
    return base64.b64encode(rbytes(n_bytes)).decode()


def b64url_nopad(n_bytes):
    return base64.urlsafe_b64encode(rbytes(n_bytes)).decode().rstrip("=")


def base62(n):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out or "0"


def gh_token(prefix):
    """ghp_/gho_/ghu_/ghs_/ghr_: 30 random base62 characters, then the CRC32 of those 30
    characters in base62, left-padded with 0 to 6 characters."""
    body = rs_mixed(ALNUM, 30)
    crc = binascii.crc32(body.encode()) & 0xFFFFFFFF
    return f"{prefix}_{body}{base62(crc).rjust(6, '0')}"


def gh_token_bad_checksum(prefix):
    t = gh_token(prefix)
    last = t[-1]
    return t[:-1] + ("A" if last != "A" else "B")


def gh_fine_grained():
    return "github_pat_" + rs_mixed(ALNUM, 22) + "_" + rs_mixed(ALNUM, 59)


def azure_b64_key(total, marker, marker_pos):
    """A base64 key of `total` chars with an identifiable marker (Microsoft's
    identifiable-key formats: +ASt storage, ACDb Cosmos, +ASb Service Bus, +AEh Event
    Hubs), with the padding bits right for the key's byte length."""
    if total == 88:  # 64 bytes: 86 chars then '==', the last char's low 4 bits zero
        body = rs(B64, marker_pos) + marker + rs(B64, 85 - marker_pos - len(marker))
        return body + R.choice("AQgw") + "=="
    if total == 44:  # 32 bytes: 43 chars then '=', the last char's low 2 bits zero
        body = rs(B64, marker_pos) + marker + rs(B64, 42 - marker_pos - len(marker))
        return body + R.choice("AEIMQUYcgkosw048") + "="
    raise ValueError(total)


def ado_pat():
    """84-character Azure DevOps PAT (2024 format): 52 random, the JQQJ signature and
    fixed-field area, AZDO, 4 random."""
    s = rs_mixed(ALNUM, 52) + "JQQJ99" + R.choice("ABCDEF") + "ACAAAAAAAAAAAAAS" + "AZDO" + rs_mixed(ALNUM, 4)
    # 52 + 6 + 1 + 16 + 4 + 4 = 83: one more fixed char so the body before AZDO is 76
    s = s[:58] + "B" + s[58:]
    assert len(s) == 84 and s[76:80] == "AZDO", (len(s), s[76:80])
    return s


def aad_secret():
    """Entra ID (Azure AD) client secret: 3 chars, a digit, 'Q~', 34 chars."""
    al = ALNUM + "_~.-"
    return rs(ALNUM, 3) + R.choice(DIGITS) + "Q~" + rs_mixed(al, 34)


def wg_key():
    k = bytearray(rbytes(32))
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return base64.b64encode(bytes(k)).decode()


def aws_akid():
    return "AKIA" + rs("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def aws_secret():
    return rs_mixed(ALNUM + "+/", 40)


def pw(n=16):
    return rs_mixed(ALNUM + "!#%*+-.=?@_", n, need=(UPPER, LOWER, DIGITS, "!#%*+-.=?@_"))


def crypt_like(alg):
    """A crypt(3) string of the right shape: real crypt() output when this Python has the
    module (salted hashes of random passwords), else random characters of the same form."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt  # removed in Python 3.13
        method = {"1": crypt.METHOD_MD5, "5": crypt.METHOD_SHA256, "6": crypt.METHOD_SHA512}[alg]
        salt = "$%s$%s" % (alg, rs(CRYPT64, 16 if alg != "1" else 8))
        out = crypt.crypt(pw(14), salt)
        if out and out.startswith("$" + alg + "$"):
            return out
    except Exception:
        pass
    n = {"1": 22, "5": 43, "6": 86}[alg]
    return "$%s$%s$%s" % (alg, rs(CRYPT64, 16 if alg != "1" else 8), rs(CRYPT64, n))


def bcrypt_like(variant="2b", cost=12):
    salt = rs(BCRYPT64, 21) + R.choice(".Oeu")
    h = rs(BCRYPT64, 30) + R.choice(BCRYPT64[::4])
    return f"${variant}${cost:02d}${salt}{h}"


def yescrypt_like():
    return "$y$j9T$" + rs(CRYPT64, 22) + "$" + rs(CRYPT64, 43)


def cisco_like(t):
    return f"${t}$" + rs(CRYPT64, 14) + "$" + rs(CRYPT64, 42) + R.choice(CRYPT64[::4])


def asrep(user, realm):
    return f"$krb5asrep$23${user}@{realm}:" + rs(HEX, 32) + "$" + rs(HEX, 2 * R.randint(150, 190))


def django_key():
    return rs("abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)", 50)


# --------------------------------------------------------------------------------------
FAMILIES = {}  # name -> {"title", "pos": [(path, text, src)], "neg": [...]}


def fam(name, title):
    FAMILIES[name] = {"title": title, "pos": [], "neg": []}
    return FAMILIES[name]


NP = "Nosey Parker rule `crates/noseyparker/data/default/builtin/rules/%s` (github.com/praetorian-inc/noseyparker)"
KF = "Kingfisher rule `crates/kingfisher-rules/data/rules/%s` (github.com/mongodb/kingfisher)"
GL = "gitleaks rule `cmd/generate/config/rules/%s` (github.com/gitleaks/gitleaks)"
TH = "TruffleHog detector `pkg/detectors/%s` (github.com/trufflesecurity/trufflehog)"


def P(f, path, text, src):
    f["pos"].append((path, text, src))


def N(f, path, text, src):
    f["neg"].append((path, text, src))


# ---- Okta -----------------------------------------------------------------------------
def okta_tok():
    while True:
        t = "00" + rs(ALNUM + "_-", 39) + rs(ALNUM + "_", 1)
        if sum(c.isdigit() for c in t) >= 4:
            return t


f = fam("okta", "Okta API tokens (SSWS)")
src = ("https://developer.okta.com/docs/guides/create-an-api-token/ ; "
       + NP % "okta.yml" + " ; " + KF % "okta.yml")
P(f, "okta.env", f"OKTA_ORG_URL=https://dev-{R.randint(10**7, 10**8)}.okta.com\nOKTA_API_TOKEN={okta_tok()}\n", src)
P(f, "main.tf", 'provider "okta" {\n  org_name  = "acme-corp"\n  base_url  = "okta.com"\n'
  f'  api_token = "{okta_tok()}"\n}}\n', src)
P(f, "sync-users.sh", "#!/bin/sh\nset -eu\ncurl -s -H 'Accept: application/json' \\\n"
  f"  -H 'Authorization: SSWS {okta_tok()}' \\\n  'https://acme.okta.com/api/v1/users?limit=200' > /tmp/users.json\n", src)
P(f, "okta.yaml", "okta:\n  client:\n    orgUrl: https://acme.oktapreview.com\n"
  f"    token: {okta_tok()}\n", "https://github.com/okta/okta-sdk-java#configuration-reference ; " + src)
P(f, "application.properties", "okta.oauth2.issuer=https://login.acme.example/oauth2/default\n"
  f"okta.client.token={okta_tok()}\n", src)
P(f, "okta_admin.py", "from okta.client import Client as OktaClient\n\nconfig = {\n"
  f"    'orgUrl': 'https://acme.okta.com',\n    'token': '{okta_tok()}',\n}}\nclient = OktaClient(config)\n", src)
N(f, "okta.env", "OKTA_ORG_URL=https://dev-123456.okta.com\nOKTA_API_TOKEN=<your-okta-api-token>\n", "near miss: placeholder; " + src)
N(f, "okta.yaml", "okta:\n  client:\n    orgUrl: https://acme.okta.com\n    token: ${OKTA_API_TOKEN}\n", "near miss: env reference; " + src)
N(f, "main.tf", 'provider "okta" {\n  org_name  = "acme-corp"\n  base_url  = "okta.com"\n'
  '  api_token = "00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n}\n', "near miss: xxxx filler; " + src)
N(f, "okta-short.env", f"OKTA_API_TOKEN=00{rs(ALNUM, 18)}\n", "near miss: wrong length (20, tokens are 42); " + src)
N(f, "okta-client.json", json.dumps({"issuer": "https://acme.okta.com/oauth2/default",
                                      "clientId": "0oa" + rs(LALNUM, 17),
                                      "redirectUri": "https://app.acme.example/callback"}, indent=2) + "\n",
  "near miss: public OIDC client ID (0oa…), not a secret; https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/")
N(f, "okta.tf", 'variable "okta_api_token" {\n  type      = string\n  sensitive = true\n}\n\n'
  'provider "okta" {\n  org_name  = "acme-corp"\n  api_token = var.okta_api_token\n}\n', "near miss: variable reference; " + src)

# ---- Sourcegraph ----------------------------------------------------------------------
f = fam("sourcegraph", "Sourcegraph access tokens (sgp_)")
src = ("https://sourcegraph.com/docs/cli/how-tos/creating_an_access_token ; "
       + NP % "sourcegraph.yml" + " ; " + TH % "sourcegraph/sourcegraph.go")
P(f, "src.env", f"SRC_ENDPOINT=https://sourcegraph.acme.example\nSRC_ACCESS_TOKEN=sgp_{rs(HEX, 16)}_{rs(HEX, 40)}\n", src)
P(f, "settings.json", json.dumps({"sourcegraph.url": "https://sourcegraph.acme.example",
                                   "sourcegraph.accessToken": f"sgp_local_{rs(HEX, 40)}"}, indent=2) + "\n", src)
P(f, "search.sh", "#!/bin/bash\ncurl -s -H 'Authorization: token sgp_" + rs(HEX, 40) + "' \\\n"
  "  -d '{\"query\":\"query { currentUser { username } }\"}' https://sourcegraph.com/.api/graphql\n", src)
P(f, "batch-changes.yml", "env:\n  SRC_ENDPOINT: https://sourcegraph.acme.example\n"
  f"  SRC_ACCESS_TOKEN: sgp_{rs(HEX, 16)}_{rs(HEX, 40)}\n", src)
P(f, "cody.py", "import requests\n\nSG_TOKEN = \"sgp_" + rs(HEX, 16) + "_" + rs(HEX, 40) + "\"\n"
  "resp = requests.post('https://sourcegraph.acme.example/.api/graphql',\n"
  "                     headers={'Authorization': f'token {SG_TOKEN}'}, json={'query': '{ site { productVersion } }'})\n", src)
N(f, "src.env", "SRC_ENDPOINT=https://sourcegraph.com\nSRC_ACCESS_TOKEN=<your-access-token>\n", "near miss: placeholder; " + src)
N(f, "settings.json", json.dumps({"sourcegraph.url": "https://sourcegraph.com",
                                   "sourcegraph.accessToken": "sgp_" + "x" * 40}, indent=2) + "\n", "near miss: xxxx; " + src)
N(f, "go.sum.txt", f"github.com/sourcegraph/sourcegraph v0.0.0-20240101000000-{rs(HEX, 12)} h1:{b64(32)}\n"
  f"# sourcegraph commit {rs(HEX, 40)}\n", "near miss: a 40-hex commit id next to the word sourcegraph; " + src)
N(f, "short.env", f"SRC_ACCESS_TOKEN=sgp_{rs(HEX, 20)}\n", "near miss: wrong length; " + src)
N(f, "ci.yml", "steps:\n  - run: src search 'repo:acme/api lang:go'\n    env:\n"
  "      SRC_ACCESS_TOKEN: ${{ secrets.SRC_ACCESS_TOKEN }}\n", "near miss: CI secret reference; " + src)

# ---- Dependency-Track -----------------------------------------------------------------
f = fam("dependency-track", "Dependency-Track API keys (odt_)")
src = ("https://docs.dependencytrack.org/integrations/rest-api/ ; " + NP % "dependency_track.yml")
P(f, "upload-bom.sh", "#!/bin/sh\ncurl -X POST https://dtrack.acme.example/api/v1/bom \\\n"
  f"  -H 'X-Api-Key: odt_{rs_mixed(ALNUM, 32)}' \\\n  -F 'autoCreate=true' -F 'projectName=api' -F 'bom=@bom.json'\n", src)
P(f, "dtrack.env", f"DEPENDENCY_TRACK_URL=https://dtrack.acme.example\nDEPENDENCY_TRACK_API_KEY=odt_{rs_mixed(ALNUM, 32)}\n", src)
P(f, "sbom.yml", "- name: Upload SBOM\n  uses: DependencyTrack/gh-upload-sbom@v3\n  with:\n"
  "    serverHostname: dtrack.acme.example\n"
  f"    apiKey: odt_{rs_mixed(ALNUM, 32)}\n    projectName: api\n    bomFilename: bom.xml\n", src)
P(f, "dt_client.py", f"DTRACK_URL = 'https://dtrack.acme.example'\nDTRACK_API_KEY = 'odt_{rs_mixed(ALNUM, 32)}'\n"
  "HEADERS = {'X-Api-Key': DTRACK_API_KEY}\n", src)
P(f, "configuration.properties", "baseUrl=https://dependencytrackapi.acme.example\n"
  f"apiKey=odt_{rs_mixed(ALNUM, 40)}\n", src)
N(f, "configuration.properties", "baseUrl=https://dependencytrackapi.local\napiKey=<API-KEY>\n",
  "near miss: placeholder as in elomagic/dt-tool README.md; " + src)
N(f, "upload-bom.sh", "#!/bin/sh\ncurl -X POST \"$DT_URL/api/v1/bom\" -H \"X-Api-Key: ${DT_API_KEY}\" -F 'bom=@bom.json'\n",
  "near miss: env reference; " + src)
N(f, "dtrack.env", f"DEPENDENCY_TRACK_API_KEY=odt_{rs(ALNUM, 10)}\n", "near miss: wrong length; " + src)
N(f, "sbom.yml", "with:\n  serverHostname: dtrack.acme.example\n  apiKey: odt_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n", "near miss: XXXX; " + src)
N(f, "docker-compose.yml", "services:\n  dtrack-apiserver:\n    image: dependencytrack/apiserver:4.11.4\n    environment:\n"
  "      - ALPINE_SECRET_KEY_PATH=/var/run/secrets/secret.key\n      - ALPINE_BCRYPT_ROUNDS=14\n"
  "      - ALPINE_API_KEY_PREFIX=odt_\n", "near miss: the prefix setting alone; https://docs.dependencytrack.org/getting-started/configuration/")

# ---- Tavily ---------------------------------------------------------------------------
f = fam("tavily", "Tavily API keys (tvly-)")
src = ("https://docs.tavily.com/documentation/quickstart ; " + NP % "tavily.yml" + " ; " + TH % "tavily/tavily_test.go")
P(f, "tavily.env", f"TAVILY_API_KEY=tvly-{rs_mixed(ALNUM, 32)}\n", src)
P(f, "search_agent.py", "from tavily import TavilyClient\n\n"
  f"client = TavilyClient(api_key=\"tvly-dev-{rs_mixed(ALNUM, 32)}\")\nprint(client.search('container image secrets'))\n", src)
P(f, "mcp.json", json.dumps({"mcpServers": {"tavily": {"command": "npx", "args": ["-y", "tavily-mcp"],
                                                        "env": {"TAVILY_API_KEY": f"tvly-prod-{rs_mixed(ALNUM, 32)}"}}}}, indent=2) + "\n", src)
P(f, "docker-compose.yml", "services:\n  researcher:\n    image: acme/researcher:1.4\n    environment:\n"
  f"      TAVILY_API_KEY: tvly-{rs_mixed(ALNUM, 32)}\n", src)
P(f, "config.ts", f"export const tavily = {{\n  apiKey: 'tvly-dev-{rs_mixed(ALNUM, 32)}',\n  maxResults: 5,\n}};\n", src)
N(f, "tavily.env", "TAVILY_API_KEY=tvly-YOUR_API_KEY\n", "near miss: placeholder; " + src)
N(f, "search_agent.py", "import os\nfrom tavily import TavilyClient\n\nclient = TavilyClient(api_key=os.environ['TAVILY_API_KEY'])\n",
  "near miss: env reference; " + src)
N(f, "short.py", 'tavily_key = "tvly-abc123"\n', "near miss: too short (TruffleHog's negative case); " + src)
N(f, "mcp.json", json.dumps({"mcpServers": {"tavily": {"env": {"TAVILY_API_KEY": "tvly-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}}, indent=2) + "\n",
  "near miss: xxxx; " + src)
N(f, "README.md", "Set `TAVILY_API_KEY` (it starts with `tvly-`) in your environment before running.\n",
  "near miss: prefix only; " + src)

# ---- Jina -----------------------------------------------------------------------------
f = fam("jina", "Jina AI API keys (jina_)")
src = ("https://jina.ai/reader/ (API key usage) ; " + NP % "jina.yml")
def jina_key():
    return "jina_" + rs(HEX, 32) + rs_mixed(ALNUM, 28)
P(f, "jina.env", f"JINA_API_KEY={jina_key()}\n", src)
P(f, "reader.sh", f"#!/bin/sh\ncurl -s https://r.jina.ai/https://example.com \\\n  -H 'Authorization: Bearer {jina_key()}'\n", src)
P(f, "embed.py", "import requests\n\nHEADERS = {\n    'Content-Type': 'application/json',\n"
  f"    'Authorization': 'Bearer {jina_key()}',\n}}\n"
  "requests.post('https://api.jina.ai/v1/embeddings', headers=HEADERS, json={'model': 'jina-embeddings-v3', 'input': ['hi']})\n", src)
P(f, "settings.yaml", f"embeddings:\n  provider: jina\n  model: jina-embeddings-v3\n  api_key: {jina_key()}\n", src)
P(f, "rerank.js", f"const JINA_KEY = process.env.JINA_KEY || '{jina_key()}';\n"
  "fetch('https://api.jina.ai/v1/rerank', { headers: { Authorization: `Bearer ${JINA_KEY}` } });\n", src)
N(f, "reader.sh", "#!/bin/sh\ncurl -s https://r.jina.ai/https://example.com -H \"Authorization: Bearer $JINA_API_KEY\"\n", "near miss: env reference; " + src)
N(f, "jina.env", f"JINA_API_KEY=jina_{rs(HEX, 20)}\n", "near miss: wrong length; " + src)
N(f, "settings.yaml", "embeddings:\n  provider: jina\n  api_key: jina_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "near miss: xxxx; " + src)
N(f, "flow.py", "from jina import Flow, Executor\n\nf = Flow().add(uses='jinaai://jina-ai/jina_embeddings_v3_executor_for_text_search')\n",
  "near miss: jina_ identifiers that are not keys; " + src)
N(f, "README.md", "Get your Jina AI API key for free: https://jina.ai/?sui=apikey and export JINA_API_KEY=<your-jina-key>\n",
  "near miss: placeholder; " + src)

# ---- Twitch stream keys ---------------------------------------------------------------
f = fam("twitch-stream-key", "Twitch stream keys (live_<id>_<key>)")
src = ("https://help.twitch.tv/s/article/twitch-stream-key-faq ; " + NP % "twitch.yml")
def twitch_key():
    return f"live_{R.randint(10**8, 10**9 - 1)}_{rs_mixed(ALNUM, 30)}"
P(f, "stream.env", f"STREAM_KEY={twitch_key()}\n", src)
P(f, "restream.sh", "#!/bin/sh\nffmpeg -re -i /media/loop.mp4 -c:v libx264 -preset veryfast -b:v 3000k -c:a aac \\\n"
  f"  -f flv rtmp://live.twitch.tv/app/{twitch_key()}\n", src)
P(f, "service.json", json.dumps({"settings": {"bwtest": False, "key": twitch_key(), "server": "auto",
                                              "service": "Twitch"}, "type": "rtmp_common"}, indent=4) + "\n",
  "OBS Studio profile service.json layout; " + src)
P(f, "nginx-rtmp.conf", "rtmp {\n  server {\n    listen 1935;\n    application live {\n      live on;\n"
  f"      push rtmp://live-fra.twitch.tv/app/{twitch_key()};\n    }}\n  }}\n}}\n", src)
P(f, "bot_config.py", f"TWITCH_CHANNEL = 'acme_live'\nTWITCH_STREAM_KEY = \"{twitch_key()}\"\n", src)
N(f, "stream.env", f"TWITCH_STREAM_KEY = \"{R.randint(10**8, 10**9 - 1)}_{rs(ALNUM, 30)}\"\n", "near miss: no live_ prefix (NP negative case); " + src)
N(f, "short.env", f"STREAM_KEY=live_{R.randint(10**8, 10**9 - 1)}_{rs(ALNUM, 20)}\n", "near miss: body too short; " + src)
N(f, "restream.sh", "#!/bin/sh\nffmpeg -re -i in.mp4 -f flv \"rtmp://live.twitch.tv/app/${STREAM_KEY}\"\n", "near miss: env reference; " + src)
N(f, "obs-docs.md", 'stream_url: "rtmp://live.twitch.tv/app/STREAM_KEY"\n', "near miss: NP negative case; " + src)
N(f, "service.json", json.dumps({"settings": {"key": "live_xxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "service": "Twitch"}}, indent=4) + "\n",
  "near miss: xxxx; " + src)

# ---- TrueNAS --------------------------------------------------------------------------
f = fam("truenas", "TrueNAS API keys (<id>-<64 alnum>)")
src = ("https://www.truenas.com/docs/scale/scaletutorials/toptoolbar/managingapikeys/ ; " + NP % "truenas.yml")
def truenas_key():
    return f"{R.randint(1, 40)}-{rs_mixed(ALNUM, 64)}"
P(f, "login.json", json.dumps({"id": ruuid(), "msg": "method", "method": "auth.login_with_api_key",
                               "params": [truenas_key()]}) + "\n", src)
P(f, "get-info.sh", "#!/bin/sh\ncurl -X POST 'http://192.168.0.30/api/v2.0/device/get_info' -H 'Content-Type: application/json' \\\n"
  f"  -H 'Authorization: Bearer {truenas_key()}' -d '\"SERIAL\"'\n", src)
P(f, "truenas.env", f"TRUENAS_HOST=nas01.lan\nTRUENAS_API_KEY={truenas_key()}\n", src)
P(f, "snapshot.py", "from truenas_api_client import Client\n\nwith Client('wss://nas01.lan/api/current') as c:\n"
  f"    c.call('auth.login_with_api_key', '{truenas_key()}')\n    c.call('zfs.snapshot.create', {{'dataset': 'tank/apps', 'naming_schema': 'auto-%Y%m%d'}})\n",
  "https://github.com/truenas/api_client ; " + src)
P(f, "provider.tf", 'provider "truenas" {\n  base_url = "https://nas01.lan/api/v2.0"\n'
  f'  api_key  = "{truenas_key()}"\n}}\n', src)
N(f, "get-info.sh", "#!/bin/sh\ncurl -H \"Authorization: Bearer ${TRUENAS_API_KEY}\" http://nas01.lan/api/v2.0/system/info\n", "near miss: env reference; " + src)
N(f, "login.json", json.dumps({"msg": "method", "method": "auth.login_with_api_key", "params": ["<api key>"]}) + "\n", "near miss: placeholder; " + src)
N(f, "truenas.env", f"TRUENAS_API_KEY=1-{rs(ALNUM, 32)}\n", "near miss: wrong length (32, keys have 64); " + src)
N(f, "cache-index.txt", "".join(f"{i}-{hashlib.sha256(rbytes(8)).hexdigest()} /var/cache/build/layer{i}.tar\n" for i in range(3, 6)),
  "near miss: <n>-<sha256 hex> cache keys with no TrueNAS context; " + src)
N(f, "provider.tf", 'provider "truenas" {\n  base_url = "https://nas01.lan/api/v2.0"\n  api_key  = var.truenas_api_key\n}\n',
  "near miss: variable reference; " + src)

# ---- Adafruit IO ----------------------------------------------------------------------
f = fam("adafruit-io", "Adafruit IO keys (aio_)")
src = ("https://io.adafruit.com/api/docs/#authentication ; " + NP % "adafruitio.yml")
def aio():
    return "aio_" + rs_mixed(ALNUM, 28)
P(f, "config.h", f'#define IO_USERNAME  "greenhouse_lab"\n#define IO_KEY       "{aio()}"\n#include "AdafruitIO_WiFi.h"\n', src)
P(f, "feeds.py", f"from Adafruit_IO import Client\naio = Client('greenhouse_lab', '{aio()}')\naio.send_data('temperature', 21.5)\n", src)
P(f, "settings.toml", f'CIRCUITPY_WIFI_SSID = "lab"\nADAFRUIT_AIO_USERNAME = "greenhouse_lab"\nADAFRUIT_AIO_KEY = "{aio()}"\n', src)
P(f, "publish.sh", f"#!/bin/sh\nmosquitto_pub -h io.adafruit.com -p 8883 -u greenhouse_lab -P {aio()} \\\n  -t greenhouse_lab/feeds/humidity -m 48\n", src)
P(f, "secrets.py", "secrets = {\n    'ssid': 'lab',\n    'aio_username': 'greenhouse_lab',\n"
  f"    'aio_key': '{aio()}',\n}}\n", src)
N(f, "config.h", '#define IO_USERNAME  "your_username"\n#define IO_KEY       "your_key"\n', "near miss: placeholder (Adafruit example sketch); " + src)
N(f, "feeds.py", "import os\nfrom Adafruit_IO import Client\naio = Client(os.environ['ADAFRUIT_IO_USERNAME'], os.environ['ADAFRUIT_IO_KEY'])\n",
  "near miss: env reference; " + src)
N(f, "short.toml", f'ADAFRUIT_AIO_KEY = "aio_{rs(ALNUM, 16)}"\n', "near miss: wrong length; " + src)
N(f, "server.py", "import aiohttp\nfrom aio_pika import connect_robust\n\nasync def aio_handler(request):\n    return aiohttp.web.Response(text='ok')\n",
  "near miss: aio_ identifiers; " + src)
N(f, "settings.toml", 'ADAFRUIT_AIO_KEY = "aio_xxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n', "near miss: xxxx; " + src)

# ---- Blynk ----------------------------------------------------------------------------
f = fam("blynk", "Blynk device / organization tokens")
src = ("https://docs.blynk.io/en/blynk.cloud/platform-https-api/authentication ; " + NP % "blynk.yml" + " ; " + KF % "blynk.yml")
def blynk32():
    return rs_mixed(ALNUM + "_-", 32)
P(f, "sketch.ino", f'#define BLYNK_TEMPLATE_ID "TMPL{rs(ALNUM, 8)}"\n#define BLYNK_TEMPLATE_NAME "Greenhouse"\n'
  f'#define BLYNK_AUTH_TOKEN "{blynk32()}"\n#include <BlynkSimpleEsp32.h>\n\nvoid setup() {{ Blynk.begin(BLYNK_AUTH_TOKEN, "lab", "wifi-pass"); }}\n', src)
P(f, "set-pin.sh", f"#!/bin/sh\ncurl \"https://fra1.blynk.cloud/external/api/update?token={blynk32()}&V1=1\"\n", src)
P(f, "org-profile.sh", "#!/bin/sh\ncurl https://fra1.blynk.cloud/api/organization/profile \\\n"
  f"  -H \"Authorization: Bearer {rs_mixed(ALNUM + '_-', 40)}\"\n", src)
P(f, "oauth.sh", "#!/bin/sh\ncurl -X POST https://fra1.blynk.cloud/oauth2/token?grant_type=client_credentials \\\n"
  f"  -u oa2-client-id_{rs_mixed(ALNUM + '_-', 32)}:{rs_mixed(ALNUM + '_-', 40)}\n", src)
P(f, "blynk_client.py", "import requests\n\n"
  f"requests.get('https://blynk.cloud/external/api/get?token={blynk32()}&V5')\n", src)
N(f, "sketch.ino", '#define BLYNK_TEMPLATE_ID "TMPLxxxxxx"\n#define BLYNK_AUTH_TOKEN "YourAuthToken"\n', "near miss: placeholder (Blynk example sketch); " + src)
N(f, "set-pin.sh", "#!/bin/sh\ncurl \"https://blynk.cloud/external/api/update?token=${BLYNK_TOKEN}&V1=1\"\n", "near miss: env reference; " + src)
N(f, "template.h", f'#define BLYNK_TEMPLATE_ID "TMPL{rs(ALNUM, 8)}"\n#define BLYNK_TEMPLATE_NAME "Greenhouse"\n#define BLYNK_FIRMWARE_VERSION "0.1.0"\n',
  "near miss: template ID, public; " + src)
N(f, "client-id.txt", f"client_id=oa2-client-id_{rs_mixed(ALNUM + '_-', 32)}\n", "near miss: OAuth client ID alone (public half); " + src)
N(f, "short.sh", f"curl \"https://blynk.cloud/external/api/get?token={rs(ALNUM, 12)}&V1\"\n", "near miss: wrong length; " + src)

# ---- ThingsBoard ----------------------------------------------------------------------
f = fam("thingsboard", "ThingsBoard device access tokens / provisioning secrets")
src = ("https://thingsboard.io/docs/reference/http-api/ ; https://thingsboard.io/docs/reference/mqtt-api/ ; " + NP % "thingsboard.yml")
def tb():
    return rs_mixed(LALNUM, 20, need=(LOWER, DIGITS))
P(f, "telemetry.sh", f"#!/bin/sh\ncurl -v -X POST https://thingsboard.cloud/api/v1/{tb()}/telemetry \\\n"
  "  --header Content-Type:application/json --data '{\"temperature\":25}'\n", src)
P(f, "mqtt-pub.sh", "#!/bin/sh\nmosquitto_pub -d -q 1 -h thingsboard.cloud -p 1883 -t v1/devices/me/telemetry \\\n"
  f"  -u \"{tb()}\" -m '{{\"temperature\":25}}'\n", src)
P(f, "provision.json", json.dumps({"deviceName": "sensor-7", "provisionDeviceKey": tb(), "provisionDeviceSecret": tb()}) + "\n", src)
P(f, "device.py", "from tb_device_mqtt import TBDeviceMqttClient\n\n"
  f"client = TBDeviceMqttClient('thingsboard.cloud', username='{tb()}')\nclient.connect()\n",
  "https://github.com/thingsboard/thingsboard-python-client-sdk ; " + src)
P(f, "coap.sh", f"#!/bin/sh\ncoap-client -m post coap://coap.thingsboard.cloud/api/v1/{tb()}/telemetry -t json -e '{{\"hum\":40}}'\n", src)
N(f, "telemetry.sh", "#!/bin/sh\ncurl -X POST http://localhost:8080/api/v1/$ACCESS_TOKEN/telemetry -d '{\"t\":1}'\n", "near miss: env reference; " + src)
N(f, "docs.sh", "curl -v -X POST http://thingsboard.cloud/api/v1/YOUR_ACCESS_TOKEN/telemetry --data '{\"temperature\":25}'\n",
  "near miss: placeholder; " + src)
N(f, "provision.json", json.dumps({"deviceName": "DEVICE_NAME", "provisionDeviceKey": "PUT_PROVISION_KEY_HERE",
                                   "provisionDeviceSecret": "PUT_PROVISION_SECRET_HERE"}) + "\n", "near miss: placeholder; " + src)
N(f, "docker-compose.yml", "services:\n  tb:\n    image: thingsboard/tb-postgres:3.6.4\n    environment:\n"
  "      TB_QUEUE_TYPE: in-memory\n    ports: ['8080:9090', '1883:1883']\n", "near miss: ThingsBoard config without secrets; " + src)
N(f, "short.sh", f"curl -X POST https://thingsboard.cloud/api/v1/{rs(LALNUM, 8)}/telemetry\n", "near miss: wrong length; " + src)

# ---- credential command lines ---------------------------------------------------------
f = fam("credential-commandlines", "PsExec / Connect-VIServer / sshpass / NetworkCredential / DirectoryEntry")
P(f, "deploy.bat", "@echo off\n"
  f"PsExec.exe \\\\10.0.94.120 -u CORP\\svc_deploy -p {pw(14)} -h cmd /c C:\\deploy\\install.cmd\n",
  "https://learn.microsoft.com/en-us/sysinternals/downloads/psexec ; " + NP % "psexec.yml")
P(f, "snapshot.ps1", f"Connect-VIServer -Server vcsa01.corp.local -User administrator@vsphere.local -Password '{pw(14)}'\n"
  "Get-VM | New-Snapshot -Name nightly\n",
  "https://developer.broadcom.com/powercli/latest/vmware.vimautomation.core/commands/connect-viserver ; " + NP % "vmware.yml")
P(f, "backup.sh", f"#!/bin/sh\nsshpass -p '{pw(14)}' rsync -az -e ssh /srv/data backup@10.0.0.5:/backups/\n",
  "https://manpages.debian.org/bookworm/sshpass/sshpass.1.en.html ; " + KF % "credentials.yml")
P(f, "Mailer.cs", "using System.Net;\n\nvar smtp = new SmtpClient(\"smtp.corp.local\", 587);\n"
  f"smtp.Credentials = new NetworkCredential(\"svc_mailer\", \"{pw(14)}\", \"CORP\");\n",
  "https://learn.microsoft.com/en-us/dotnet/api/system.net.networkcredential.-ctor")
P(f, "LdapSync.cs", "using System.DirectoryServices;\n\n"
  f"var root = new DirectoryEntry(\"LDAP://dc01.corp.local/DC=corp,DC=local\", \"CORP\\\\svc_ldap\", \"{pw(14)}\");\n",
  "https://learn.microsoft.com/en-us/dotnet/api/system.directoryservices.directoryentry.-ctor")
P(f, "copy-logs.sh", f"#!/bin/bash\nsshpass -p {pw(12)} scp -o StrictHostKeyChecking=no root@192.168.10.21:/var/log/app.log /tmp/\n",
  "https://manpages.debian.org/bookworm/sshpass/sshpass.1.en.html")
N(f, "deploy.bat", "@echo off\nPsExec.exe \\\\%TARGET% -u %DEPLOY_USER% -p %DEPLOY_PASS% cmd /c install.cmd\n",
  "near miss: variables; " + NP % "psexec.yml")
N(f, "snapshot.ps1", "$cred = Get-Credential\nConnect-VIServer -Server $vc -Credential $cred\n",
  "near miss: PSCredential, no literal; " + NP % "vmware.yml")
N(f, "backup.sh", "#!/bin/sh\nsshpass -f /run/secrets/backup_pw rsync -az /srv/data backup@10.0.0.5:/backups/\nSSHPASS=\"$(cat /run/secrets/pw)\" sshpass -e ssh backup@10.0.0.5 true\n",
  "near miss: sshpass -f / -e; https://manpages.debian.org/bookworm/sshpass/sshpass.1.en.html")
N(f, "Mailer.cs", "var smtp = new SmtpClient(host, 587);\nsmtp.Credentials = new NetworkCredential(config[\"Smtp:User\"], config[\"Smtp:Password\"]);\n",
  "near miss: values from configuration; https://learn.microsoft.com/en-us/dotnet/api/system.net.networkcredential.-ctor")
N(f, "LdapSync.cs", "var root = new DirectoryEntry(\"LDAP://dc01.corp.local/DC=corp,DC=local\");\nroot.AuthenticationType = AuthenticationTypes.Secure;\n",
  "near miss: integrated auth, no password; https://learn.microsoft.com/en-us/dotnet/api/system.directoryservices.directoryentry.-ctor")
N(f, "psexec-help.txt", "usage: psexec [\\\\computer[,computer2[,...] | @file]][-u user [-p psswd]][-n s][-r servicename][-h][-l][-s|-e][-x][-i [session]][-c executable [-f|-v]][-w directory][-d][-<priority>][-a n,n,...] cmd [arguments]\n",
  "near miss: PsExec usage text; https://learn.microsoft.com/en-us/sysinternals/downloads/psexec")

# ---- JWT signing secrets --------------------------------------------------------------
f = fam("jwt-signing-secret", "JWT HMAC signing secrets in code and config")
src = ("RFC 7518 section 3.2 (HS256 key) ; " + NP % "jwt.yml" + " ; " + GL % "jwt.go")
P(f, "auth.env", f"JWT_SECRET={rs_mixed(ALNUM, 64)}\nJWT_EXPIRES_IN=3600\n", src)
P(f, "application.yml", f"jwt:\n  secret: {b64(48)}\n  expiration: 86400000\n", src)
P(f, "auth.js", "const jwt = require('jsonwebtoken');\n\n"
  f"function issue(user) {{\n  return jwt.sign({{ sub: user.id }}, '{rs_mixed(ALNUM + '-_', 40)}', {{ expiresIn: '1h' }});\n}}\n", src)
P(f, "tokens.py", "import jwt\n\n"
  f"def issue(uid):\n    return jwt.encode({{'sub': uid}}, '{rs_mixed(ALNUM, 48)}', algorithm='HS256')\n", src)
P(f, "settings.py", f"JWT_AUTH = {{\n    'JWT_SECRET_KEY': '{rs_mixed(ALNUM + '!@#%^&*', 50)}',\n    'JWT_ALGORITHM': 'HS256',\n}}\n", src)
P(f, "middleware.go", "package auth\n\n"
  f"var jwtKey = []byte(\"{rs_mixed(ALNUM, 44)}\")\n", src)
N(f, "auth.env", "JWT_SECRET=${JWT_SECRET}\nJWT_EXPIRES_IN=3600\n", "near miss: env reference; " + src)
N(f, "auth.js", "const jwt = require('jsonwebtoken');\nmodule.exports = (u) => jwt.sign({ sub: u.id }, process.env.JWT_SECRET, { expiresIn: '1h' });\n",
  "near miss: env reference; " + src)
N(f, "application.yml", "jwt:\n  secret: <your-secret-here>\n  expiration: 86400000\n", "near miss: placeholder; " + src)
N(f, "jwt.env", "JWT_ALGORITHM=RS256\nJWT_PUBLIC_KEY_PATH=/etc/keys/jwt.pub\nJWT_ISSUER=https://auth.acme.example\n", "near miss: settings without a secret; " + src)
N(f, "tokens.py", "import jwt\nfrom django.conf import settings\n\ndef issue(uid):\n    return jwt.encode({'sub': uid}, settings.SECRET_KEY, algorithm='HS256')\n",
  "near miss: secret read from settings; " + src)

# ---- password hashes ------------------------------------------------------------------
f = fam("password-hashes", "Crackable password hashes (bcrypt, md5crypt, sha256crypt, sha512crypt, Kerberos AS-REP, Cisco 8/9)")
src = ("https://hashcat.net/wiki/doku.php?id=example_hashes ; " + NP % "hashes.yml")
P(f, "seed-users.sql", "INSERT INTO users (email, password_hash, role) VALUES\n"
  f"  ('admin@acme.example', '{bcrypt_like('2b', 12)}', 'admin');\n", "bcrypt: https://en.wikipedia.org/wiki/Bcrypt ; " + src)
P(f, "ks.cfg", f"lang en_US.UTF-8\nkeyboard us\nrootpw --iscrypted {crypt_like('1')}\nreboot\n",
  "md5crypt; https://pykickstart.readthedocs.io/en/latest/kickstart-docs.html#rootpw ; " + src)
P(f, "user-data", "#cloud-config\nusers:\n  - name: ops\n    sudo: ALL=(ALL) NOPASSWD:ALL\n"
  f"    passwd: {crypt_like('6')}\n    lock_passwd: false\n",
  "sha512crypt; https://cloudinit.readthedocs.io/en/latest/reference/examples.html ; " + src)
P(f, "set-passwords.sh", f"#!/bin/sh\necho 'deploy:{crypt_like('5')}' | chpasswd -e\n", "sha256crypt; chpasswd(8) -e ; " + src)
P(f, "asrep-hashes.txt", asrep("svc_sql", "CORP.LOCAL") + "\n",
  "Kerberos AS-REP etype 23, hashcat mode 18200; https://hashcat.net/wiki/doku.php?id=example_hashes")
P(f, "router-running-config.txt", "hostname edge-rtr1\n!\n"
  f"enable algorithm-type sha256 secret 8 {cisco_like(8)}\n"
  f"username netadmin privilege 15 algorithm-type scrypt secret 9 {cisco_like(9)}\n!\n",
  "Cisco type 8 (PBKDF2-SHA256) / type 9 (scrypt), hashcat modes 9200/9300; https://www.cisco.com/c/en/us/support/docs/security-vpn/remote-authentication-dial-user-service-radius/200208-Cisco-IOS-Password-Encryption-Facts.html ; " + src)
N(f, "seed-users.sql", "INSERT INTO users (email, password_hash) VALUES ('admin@acme.example', '$2b$12$');\n",
  "near miss: bcrypt prefix only; " + src)
N(f, "README.md", "Password hashes look like `$6$<salt>$<hash>` or `$2b$<cost>$<22-char salt><31-char hash>`.\n",
  "near miss: format description with placeholders; " + src)
N(f, "crack.sh", "#!/bin/sh\nhashcat -m 18200 asrep.txt /usr/share/wordlists/rockyou.txt\nhashcat -m 9300 cisco9.txt wordlist.txt\n",
  "near miss: hash modes named, no hash; https://hashcat.net/wiki/doku.php?id=example_hashes")
N(f, "SHA256SUMS", f"{hashlib.sha256(rbytes(9)).hexdigest()}  app-1.4.2.tar.gz\n{hashlib.md5(rbytes(9)).hexdigest()}  app-1.4.2.zip\n",
  "near miss: file checksums, not password hashes")
N(f, "router-running-config.txt", "hostname edge-rtr1\n!\nusername netadmin privilege 15 secret 9 <removed>\nenable secret 9 <removed>\n!\n",
  "near miss: hashes removed from a shared config; " + src)
N(f, "user-data", "#cloud-config\nusers:\n  - name: ops\n    lock_passwd: true\n    ssh_authorized_keys:\n      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rs(B64, 43) + " ops@laptop\n",
  "near miss: locked user, key only; https://cloudinit.readthedocs.io/en/latest/reference/examples.html")

# ---- Azure DevOps PATs ----------------------------------------------------------------
f = fam("azure-devops-pat", "Azure DevOps personal access tokens (84-character format)")
src = ("https://learn.microsoft.com/en-us/azure/devops/release-notes/2024/general/sprint-241-update ; " + KF % "azuredevops.yml")
P(f, "ado.env", f"AZURE_DEVOPS_ORG=https://dev.azure.com/contoso\nAZURE_DEVOPS_EXT_PAT={ado_pat()}\n", src)
P(f, "clone.sh", f"#!/bin/sh\ngit clone https://build:{ado_pat()}@dev.azure.com/contoso/Platform/_git/api /src/api\n", src)
P(f, "list-projects.sh", f"#!/bin/sh\ncurl -s -u :{ado_pat()} 'https://dev.azure.com/contoso/_apis/projects?api-version=7.1'\n", src)
P(f, "NuGet.Config", '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <packageSources>\n'
  '    <add key="contoso" value="https://pkgs.dev.azure.com/contoso/_packaging/contoso/nuget/v3/index.json" />\n'
  '  </packageSources>\n  <packageSourceCredentials>\n    <contoso>\n      <add key="Username" value="build" />\n'
  f'      <add key="ClearTextPassword" value="{ado_pat()}" />\n    </contoso>\n  </packageSourceCredentials>\n</configuration>\n',
  "https://learn.microsoft.com/en-us/nuget/reference/nuget-config-file#packagesourcecredentials ; " + src)
P(f, "login.sh", f"#!/bin/sh\necho '{ado_pat()}' | az devops login --organization https://dev.azure.com/contoso\n",
  "https://learn.microsoft.com/en-us/azure/devops/cli/log-in-via-pat ; " + src)
N(f, "ado.env", "AZURE_DEVOPS_EXT_PAT=$(System.AccessToken)\n", "near miss: pipeline variable; " + src)
N(f, "NuGet.Config", '<configuration>\n  <packageSourceCredentials>\n    <contoso>\n      <add key="Username" value="build" />\n'
  '      <add key="ClearTextPassword" value="%NUGET_PAT%" />\n    </contoso>\n  </packageSourceCredentials>\n</configuration>\n',
  "near miss: env reference; https://learn.microsoft.com/en-us/nuget/reference/nuget-config-file")
N(f, "clone.sh", "#!/bin/sh\ngit clone https://build:<your-pat>@dev.azure.com/contoso/Platform/_git/api\n", "near miss: placeholder; " + src)
N(f, "pipeline.log", "2024-05-01T10:00:00Z AZURE_DEVOPS_EXT_PAT=***\n2024-05-01T10:00:01Z az devops configure --defaults organization=https://dev.azure.com/contoso\n",
  "near miss: masked value in a log")
N(f, "fake-pat.env", "AZURE_DEVOPS_EXT_PAT=" + "x" * 84 + "\n", "near miss: xxxx; " + src)

# ---- Azure storage / Cosmos / Service Bus / Event Hubs --------------------------------
f = fam("azure-keys", "Azure storage, Cosmos DB, Service Bus and Event Hubs keys / connection strings")
src_st = "https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string ; " + KF % "azurestorage.yml"
src_cos = "https://learn.microsoft.com/en-us/azure/cosmos-db/nosql/how-to-dotnet-get-started ; " + KF % "azurecosmosdb.yml"
src_sb = "https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-dotnet-get-started-with-queues ; " + NP % "azure.yml"
src_eh = "https://learn.microsoft.com/en-us/azure/event-hubs/event-hubs-get-connection-string ; " + NP % "azure.yml"
ident = "https://learn.microsoft.com/en-us/purview/sit-defn-azure-storage-account-key-generic (identifiable key formats)"
P(f, "appsettings.json", json.dumps({"ConnectionStrings": {"Blob": "DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey="
                                                           + azure_b64_key(88, "+ASt", 76) + ";EndpointSuffix=core.windows.net"}}, indent=2) + "\n",
  src_st + " ; " + ident)
P(f, "storage.env", f"AZURE_STORAGE_ACCOUNT=contosologs\nAZURE_STORAGE_KEY={b64(64)}\n", src_st)
P(f, "local.settings.json", json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "dotnet",
                                                                          "CosmosDb": "AccountEndpoint=https://contoso-orders.documents.azure.com:443/;AccountKey="
                                                                          + azure_b64_key(88, "ACDb", 76) + ";"}}, indent=2) + "\n", src_cos)
P(f, "servicebus.env", "SERVICEBUS_CONNECTION=Endpoint=sb://contoso-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey="
  + azure_b64_key(44, "+ASb", 33) + "\n", src_sb)
P(f, "application.properties", "spring.cloud.azure.eventhubs.connection-string=Endpoint=sb://contoso-eh.servicebus.windows.net/;"
  "SharedAccessKeyName=send;SharedAccessKey=" + azure_b64_key(44, "+AEh", 33) + ";EntityPath=telemetry\n", src_eh)
P(f, "upload.sh", f"#!/bin/sh\naz storage blob upload --account-name contosobackup --account-key '{b64(64)}' \\\n  --container-name db --file /backup/db.dump --name db.dump\n",
  "https://learn.microsoft.com/en-us/cli/azure/storage/blob#az-storage-blob-upload ; " + src_st)
N(f, "appsettings.Development.json", json.dumps({"ConnectionStrings": {"Blob": "UseDevelopmentStorage=true"}}, indent=2) + "\n",
  "near miss: Azurite shortcut; https://learn.microsoft.com/en-us/azure/storage/common/storage-use-azurite")
N(f, "appsettings.json", json.dumps({"ConnectionStrings": {"Blob": "DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey=your_storage_account_key;EndpointSuffix=core.windows.net"}}, indent=2) + "\n",
  "near miss: placeholder; " + src_st)
N(f, "storage.env", "AZURE_STORAGE_ACCOUNT=contosologs\nAZURE_STORAGE_KEY=${STORAGE_KEY}\n", "near miss: env reference; " + src_st)
N(f, "servicebus.env", "SERVICEBUS_CONNECTION=Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<key>\n",
  "near miss: placeholder; " + src_sb)
N(f, "cosmos.json", json.dumps({"CosmosDb": {"AccountEndpoint": "https://contoso-orders.documents.azure.com:443/", "UseManagedIdentity": True}}, indent=2) + "\n",
  "near miss: endpoint only (managed identity); " + src_cos)
N(f, "truncated.env", f"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey={b64(30)}\n",
  "near miss: wrong length (40 chars; keys are 88); " + src_st)

# ---- Azure AD client secrets ----------------------------------------------------------
f = fam("azure-ad-client-secret", "Microsoft Entra ID (Azure AD) application client secrets (…Q~…)")
src = ("https://learn.microsoft.com/en-us/entra/identity-platform/how-to-add-credentials ; " + GL % "azure.go" + " ; " + KF % "azure.yml")
P(f, "azure.env", f"AZURE_TENANT_ID={ruuid()}\nAZURE_CLIENT_ID={ruuid()}\nAZURE_CLIENT_SECRET={aad_secret()}\n", src)
P(f, "appsettings.json", json.dumps({"AzureAd": {"Instance": "https://login.microsoftonline.com/", "TenantId": ruuid(),
                                                 "ClientId": ruuid(), "ClientSecret": aad_secret()}}, indent=2) + "\n", src)
P(f, "provider.tf", f'provider "azurerm" {{\n  features {{}}\n  tenant_id     = "{ruuid()}"\n  client_id     = "{ruuid()}"\n'
  f'  client_secret = "{aad_secret()}"\n  subscription_id = "{ruuid()}"\n}}\n', src)
P(f, "login.sh", f"#!/bin/sh\naz login --service-principal -u {ruuid()} -p '{aad_secret()}' --tenant {ruuid()}\n", src)
P(f, "graph.py", "from azure.identity import ClientSecretCredential\n\n"
  f"cred = ClientSecretCredential('{ruuid()}', '{ruuid()}', '{aad_secret()}')\n", src)
N(f, "azure.env", f"AZURE_TENANT_ID={ruuid()}\nAZURE_CLIENT_ID={ruuid()}\nAZURE_CLIENT_SECRET=$(az keyvault secret show --vault-name kv --name sp --query value -o tsv)\n",
  "near miss: command substitution; " + src)
N(f, "appsettings.json", json.dumps({"AzureAd": {"TenantId": "<tenant-id>", "ClientId": "<client-id>", "ClientSecret": "<client-secret>"}}, indent=2) + "\n",
  "near miss: placeholders; " + src)
N(f, "app-registration.json", json.dumps({"appId": ruuid(), "passwordCredentials": [{"keyId": ruuid(), "displayName": "ci",
                                                                                      "hint": rs(ALNUM, 3), "endDateTime": "2026-01-01T00:00:00Z"}]}, indent=2) + "\n",
  "near miss: secret ID and hint, not the secret; https://learn.microsoft.com/en-us/graph/api/resources/passwordcredential")
N(f, "short.env", f"AZURE_CLIENT_SECRET={rs(ALNUM, 3)}8Q~{rs(ALNUM, 10)}\n", "near miss: wrong length; " + src)
N(f, "provider.tf", 'provider "azurerm" {\n  features {}\n  use_oidc = true\n  client_id = var.client_id\n}\n', "near miss: OIDC, no secret; " + src)

# ---- Doppler --------------------------------------------------------------------------
f = fam("doppler", "Doppler tokens (dp.pt. dp.ct. dp.st. dp.sa. dp.scim. dp.audit.)")
src = ("https://docs.doppler.com/reference/auth-token-formats ; " + NP % "doppler.yml" + " ; " + GL % "doppler.go")
P(f, "doppler.env", f"DOPPLER_TOKEN=dp.st.prd.{rs_mixed(ALNUM, 43)}\n", src)
P(f, "ci.sh", f"#!/bin/sh\nexport DOPPLER_TOKEN=dp.pt.{rs_mixed(ALNUM, 43)}\ndoppler secrets download --no-file --format env > .env\n", src)
P(f, ".doppler.yaml", f"scoped:\n    /:\n        token: dp.ct.{rs_mixed(ALNUM, 43)}\n        api-host: https://api.doppler.com\n",
  "Doppler CLI config ~/.doppler/.doppler.yaml ; " + src)
P(f, "k8s-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: doppler-token-secret\n  namespace: doppler-operator-system\n"
  f"stringData:\n  serviceToken: dp.sa.{rs_mixed(ALNUM, 43)}\n", "https://docs.doppler.com/docs/kubernetes-operator ; " + src)
P(f, "scim.json", json.dumps({"scim_base_url": "https://api.doppler.com/scim/v2", "bearer_token": f"dp.scim.{rs_mixed(ALNUM, 43)}"}, indent=2) + "\n", src)
P(f, "audit-export.py", f"import requests\nTOKEN = 'dp.audit.{rs_mixed(ALNUM, 43)}'\n"
  "requests.get('https://api.doppler.com/v3/workplace/logs', headers={'Authorization': f'Bearer {TOKEN}'})\n", src)
N(f, "doppler.env", "DOPPLER_TOKEN=dp.st.xxxx\n", "near miss: truncated placeholder; " + src)
N(f, "ci.sh", "#!/bin/sh\ndoppler run --token \"$DOPPLER_TOKEN\" -- ./start.sh\n", "near miss: env reference; " + src)
N(f, "k8s-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: doppler-token-secret\nstringData:\n  serviceToken: <doppler-service-token>\n",
  "near miss: placeholder; " + src)
N(f, "short.env", f"DOPPLER_TOKEN=dp.pt.{rs(ALNUM, 20)}\n", "near miss: wrong length; " + src)
N(f, "wrong-prefix.env", f"DOPPLER_TOKEN=dp.xx.{rs_mixed(ALNUM, 43)}\n", "near miss: wrong prefix; " + src)

# ---- SonarQube ------------------------------------------------------------------------
f = fam("sonarqube", "SonarQube tokens (squ_/sqp_/sqa_, legacy 40-hex sonar.login)")
src = ("https://docs.sonarsource.com/sonarqube-server/latest/user-guide/managing-tokens/ ; " + NP % "sonarqube.yml")
P(f, "sonar-project.properties", f"sonar.projectKey=acme_api\nsonar.host.url=https://sonar.acme.example\nsonar.token=squ_{rs(HEX, 40)}\n", src)
P(f, "scan.sh", f"#!/bin/sh\nmvn -B verify sonar:sonar -Dsonar.host.url=https://sonar.acme.example -Dsonar.login={rs(HEX, 40)}\n", src)
P(f, "sonar.env", f"SONAR_HOST_URL=https://sonar.acme.example\nSONAR_TOKEN=sqp_{rs(HEX, 40)}\n", src)
P(f, "gradle.properties", f"systemProp.sonar.host.url=https://sonar.acme.example\nsystemProp.sonar.token=sqa_{rs(HEX, 40)}\n", src)
P(f, ".gitlab-ci.yml", "sonarqube-check:\n  image: sonarsource/sonar-scanner-cli:latest\n  variables:\n"
  f"    SONAR_TOKEN: \"squ_{rs(HEX, 40)}\"\n  script:\n    - sonar-scanner\n", src)
N(f, "yarn.lock", "sonarqube-scanner@^3.3.0:\n  version \"3.3.0\"\n"
  f"  resolved \"https://registry.yarnpkg.com/sonarqube-scanner/-/sonarqube-scanner-3.3.0.tgz#{rs(HEX, 40)}\"\n",
  "near miss: NP negative case (tarball sha1 next to sonarqube); " + src)
N(f, "azure-pipelines.yml", "- script: dotnet sonarscanner begin /k:acme /d:sonar.host.url=$(SONAR_HOST) /d:sonar.login=$(SONAR_LOGIN)\n",
  "near miss: NP negative case (pipeline variable); " + src)
N(f, "sonar.yml", "- uses: SonarSource/sonarqube-scan-action@v2\n  env:\n    SONAR_TOKEN: ${{ secrets.SONAR_TOKEN }}\n", "near miss: CI secret reference; " + src)
N(f, "sonar-project.properties", "sonar.projectKey=acme_api\nsonar.sources=src\nsonar.exclusions=**/test/**\n", "near miss: settings without a token; " + src)
N(f, "short.env", f"SONAR_TOKEN=squ_{rs(HEX, 20)}\n", "near miss: wrong length; " + src)

# ---- Teams webhooks -------------------------------------------------------------------
f = fam("teams-webhook", "Microsoft Teams incoming webhooks / Workflows URLs")
src = ("https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook ; " + NP % "microsoft_teams.yml")
def teams_legacy():
    return f"https://outlook.office.com/webhook/{ruuid()}@{ruuid()}/IncomingWebhook/{rs(HEX, 32)}/{ruuid()}"
def teams_new():
    return f"https://acme.webhook.office.com/webhookb2/{ruuid()}@{ruuid()}/IncomingWebhook/{rs(HEX, 32)}/{ruuid()}/V2{rs_mixed(ALNUM + '-_', 43)}"
def teams_workflow():
    return (f"https://prod-{R.randint(10, 99)}.westeurope.logic.azure.com:443/workflows/{rs(HEX, 32)}/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={rs_mixed(ALNUM + '-_', 43)}")
P(f, "Jenkinsfile", f"post {{\n  failure {{\n    office365ConnectorSend webhookUrl: '{teams_legacy()}', message: 'build failed'\n  }}\n}}\n", src)
P(f, "notify.env", f"TEAMS_WEBHOOK_URL={teams_new()}\n", src)
P(f, "notify.py", f"import requests\nWEBHOOK = '{teams_new()}'\nrequests.post(WEBHOOK, json={{'text': 'deploy done'}})\n", src)
P(f, "alertmanager.yml", f"receivers:\n  - name: teams\n    msteams_configs:\n      - webhook_url: '{teams_new()}'\n",
  "https://prometheus.io/docs/alerting/latest/configuration/#msteams_config ; " + src)
P(f, "workflow-notify.sh", f"#!/bin/sh\ncurl -H 'Content-Type: application/json' -d '{{\"text\":\"ok\"}}' '{teams_workflow()}'\n",
  "https://support.microsoft.com/en-us/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498")
N(f, "notify.env", "TEAMS_WEBHOOK_URL=${TEAMS_WEBHOOK}\n", "near miss: env reference; " + src)
N(f, "README.md", "Paste the URL Teams gives you, e.g. https://<tenant>.webhook.office.com/webhookb2/<group-id>@<tenant-id>/IncomingWebhook/<id>/<owner-id>\n",
  "near miss: placeholders; " + src)
N(f, "meeting.txt", f"Join: https://teams.microsoft.com/l/meetup-join/19%3ameeting_{rs(ALNUM, 48)}%40thread.v2/0?context=%7b%22Tid%22%3a%22{ruuid()}%22%7d\n",
  "near miss: meeting join link, not a webhook; https://learn.microsoft.com/en-us/microsoftteams/platform/concepts/build-and-test/deep-link-teams")
N(f, "alertmanager.yml", "receivers:\n  - name: teams\n    msteams_configs:\n      - webhook_url_file: /etc/alertmanager/teams_url\n",
  "near miss: URL read from a file; https://prometheus.io/docs/alerting/latest/configuration/#msteams_config")
N(f, "notify.py", "WEBHOOK = 'https://xxxxx.webhook.office.com/webhookb2/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx@xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/IncomingWebhook/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'\n",
  "near miss: xxxx; " + src)

# ---- kubeadm bootstrap tokens ---------------------------------------------------------
f = fam("kubeadm-bootstrap-token", "kubeadm bootstrap tokens ([a-z0-9]{6}.[a-z0-9]{16})")
src = ("https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/ ; " + NP % "kubernetes.yml")
def kb():
    return rs_mixed(LALNUM, 6, need=(LOWER, DIGITS)) + "." + rs_mixed(LALNUM, 16, need=(LOWER, DIGITS))
P(f, "join.sh", f"#!/bin/sh\nkubeadm join 10.0.0.10:6443 --token {kb()} \\\n  --discovery-token-ca-cert-hash sha256:{rs(HEX, 64)}\n", src)
P(f, "kubeadm-config.yaml", f"apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nbootstrapTokens:\n  - token: \"{kb()}\"\n"
  "    ttl: \"24h\"\n    usages: [signing, authentication]\n", "https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/ ; " + src)
tid, tsec = rs_mixed(LALNUM, 6, need=(LOWER, DIGITS)), rs_mixed(LALNUM, 16, need=(LOWER, DIGITS))
P(f, "bootstrap-secret.yaml", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bootstrap-token-{tid}\n  namespace: kube-system\n"
  f"type: bootstrap.kubernetes.io/token\nstringData:\n  token-id: {tid}\n  token-secret: {tsec}\n  usage-bootstrap-authentication: \"true\"\n", src)
P(f, "bootstrap-kubelet.conf", "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.10:6443\n  name: default\n"
  f"users:\n- name: kubelet-bootstrap\n  user:\n    token: {kb()}\n", src)
P(f, "user-data", f"#cloud-config\nruncmd:\n  - kubeadm join k8s-api.internal:6443 --token {kb()} --discovery-token-unsafe-skip-ca-verification\n", src)
N(f, "join.sh", "#!/bin/sh\nkubeadm join 10.0.0.10:6443 --token <token> --discovery-token-ca-cert-hash sha256:<hash>\n", "near miss: placeholders (kubeadm docs); " + src)
N(f, "join-dynamic.sh", "#!/bin/sh\nTOKEN=$(kubeadm token create --ttl 10m)\nkubeadm join 10.0.0.10:6443 --token \"$TOKEN\" --discovery-token-unsafe-skip-ca-verification\n",
  "near miss: generated at run time; " + src)
N(f, "hosts", "10.0.0.10  master.k8sclusterprod01a\n10.0.0.11  worker.k8sclusterprod01b\n", "near miss: host names of the 6.16 shape")
N(f, "kubeadm-config.yaml", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  tlsBootstrapToken: \"${BOOTSTRAP_TOKEN}\"\n",
  "near miss: env reference; " + src)
N(f, "short.sh", f"kubeadm join 10.0.0.10:6443 --token {rs(LALNUM, 5)}.{rs(LALNUM, 12)}\n", "near miss: wrong length; " + src)

# ---- Django secret keys ---------------------------------------------------------------
f = fam("django-secret-key", "Django SECRET_KEY values")
src = ("https://docs.djangoproject.com/en/stable/ref/settings/#secret-key ; " + NP % "django.yml" + " ; " + GL % "django.go")
P(f, "settings.py", f"DEBUG = False\nSECRET_KEY = 'django-insecure-{django_key()}'\nALLOWED_HOSTS = ['*']\n", src)
P(f, "production.py", f"from .base import *\n\nSECRET_KEY = \"{django_key()}\"\n", src)
P(f, "django.env", f"DJANGO_SECRET_KEY={django_key().replace('$', '%')}\nDJANGO_DEBUG=0\n", src)
P(f, "docker-compose.yml", "services:\n  web:\n    image: acme/shop:2.3\n    environment:\n"
  f"      DJANGO_SECRET_KEY: \"{rs_mixed(ALNUM + '-_', 50)}\"\n", src)
P(f, "local_settings.py", "import os\n\n"
  f"SECRET_KEY = os.environ.get('SECRET_KEY', '{django_key()}')\n", src)
N(f, "settings.py", "import os\n\nSECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n", "near miss: env reference; " + src)
N(f, "gen_key.py", "from django.core.management.utils import get_random_secret_key\n\nSECRET_KEY = get_random_secret_key()\n", "near miss: generated at run time; " + src)
N(f, "template_settings.py", "SECRET_KEY = '<your-secret-key>'\n", "near miss: placeholder; " + src)
N(f, "empty.py", "SECRET_KEY = ''\nSECRET_KEY_FALLBACKS = []\n", "near miss: empty; " + src)
N(f, "django.env", "DJANGO_SECRET_KEY=\nDJANGO_ALLOWED_HOSTS=localhost\n", "near miss: empty; " + src)

# ---- Postmark -------------------------------------------------------------------------
f = fam("postmark", "Postmark server / account tokens (UUID)")
src = ("https://postmarkapp.com/developer/api/overview#authentication ; " + NP % "postmark.yml")
P(f, "send.sh", "#!/bin/sh\ncurl https://api.postmarkapp.com/email -X POST -H 'Accept: application/json' \\\n"
  f"  -H 'Content-Type: application/json' -H 'X-Postmark-Server-Token: {ruuid()}' \\\n  -d '{{\"From\":\"ops@acme.example\",\"To\":\"a@b.example\",\"Subject\":\"hi\",\"TextBody\":\"hi\"}}'\n", src)
P(f, "postmark.env", f"POSTMARK_API_TOKEN={ruuid()}\nPOSTMARK_FROM=ops@acme.example\n", src)
P(f, "production.rb", "Rails.application.configure do\n  config.action_mailer.delivery_method = :postmark\n"
  f"  config.action_mailer.postmark_settings = {{ api_token: \"{ruuid()}\" }}\nend\n",
  "https://github.com/ActiveCampaign/postmark-rails ; " + src)
P(f, "mailer.js", f"const postmark = require('postmark');\nconst client = new postmark.ServerClient('{ruuid()}');\n", src)
P(f, "servers.sh", f"#!/bin/sh\ncurl 'https://api.postmarkapp.com/servers?count=50&offset=0' -H 'X-Postmark-Account-Token: {ruuid()}'\n", src)
N(f, "test.env", "POSTMARK_API_TOKEN=POSTMARK_API_TEST\n", "near miss: Postmark's documented test token; https://postmarkapp.com/developer/api/overview#authentication")
N(f, "send.sh", "#!/bin/sh\ncurl https://api.postmarkapp.com/email -H \"X-Postmark-Server-Token: $POSTMARK_TOKEN\" -d @mail.json\n", "near miss: env reference; " + src)
N(f, "bounce-webhook.json", json.dumps({"RecordType": "Bounce", "MessageID": ruuid(), "ServerID": 23, "Email": "john@example.com",
                                         "Tag": "postmark-bounce", "BouncedAt": "2024-05-01T10:00:00Z"}, indent=2) + "\n",
  "near miss: a message ID (UUID) in a Postmark webhook payload; https://postmarkapp.com/developer/webhooks/bounce-webhook")
N(f, "production.rb", "config.action_mailer.postmark_settings = { api_token: ENV.fetch('POSTMARK_API_TOKEN') }\n", "near miss: env reference; " + src)
N(f, "postmark.env", "POSTMARK_API_TOKEN=00000000-0000-0000-0000-000000000000\n", "near miss: nil UUID; " + src)

# ---- Gradle credentials ---------------------------------------------------------------
f = fam("gradle-credentials", "Gradle repository / publishing / signing credentials")
src = ("https://docs.gradle.org/current/userguide/declaring_repositories.html#sec:handling_credentials ; " + NP % "gradle.yml")
P(f, "gradle.properties", f"org.gradle.jvmargs=-Xmx2g\nmavenUser=deploy\nmavenPassword={pw(18)}\n", src)
P(f, "build.gradle", "repositories {\n    maven {\n        url 'https://nexus.acme.example/repository/releases/'\n"
  f"        credentials {{\n            username 'deploy'\n            password '{pw(16)}'\n        }}\n    }}\n}}\n", src)
P(f, "build.gradle.kts", "publishing {\n    repositories {\n        maven {\n            url = uri(\"https://artifactory.acme.example/libs-release\")\n"
  f"            credentials {{\n                username = \"ci-publisher\"\n                password = \"{pw(16)}\"\n            }}\n        }}\n    }}\n}}\n", src)
P(f, "home-gradle.properties", f"signing.keyId=24875D73\nsigning.password={pw(16)}\nsigning.secretKeyRingFile=/root/.gnupg/secring.gpg\n"
  f"ossrhUsername=acme\nossrhPassword={pw(18)}\n", "https://docs.gradle.org/current/userguide/signing_plugin.html ; " + src)
P(f, "plugin-portal.properties", f"gradle.publish.key={rs_mixed(ALNUM, 32)}\ngradle.publish.secret={rs_mixed(ALNUM, 32)}\n",
  "https://docs.gradle.org/current/userguide/publishing_gradle_plugins.html")
N(f, "build.gradle.kts", "repositories {\n    maven {\n        url = uri(\"https://nexus.acme.example/repository/releases/\")\n"
  "        credentials {\n            username = System.getenv(\"MAVEN_USER\")\n            password = System.getenv(\"MAVEN_PASSWORD\")\n        }\n    }\n}\n",
  "near miss: env reference; " + src)
N(f, "build.gradle", "repositories {\n    maven {\n        name = 'acmeRepo'\n        url 'https://nexus.acme.example/repository/releases/'\n"
  "        credentials(PasswordCredentials)\n    }\n}\n", "near miss: credentials from properties; " + src)
N(f, "gradle.properties", "org.gradle.jvmargs=-Xmx2g\norg.gradle.parallel=true\nkotlin.code.style=official\n", "near miss: no credentials; " + src)
N(f, "publish.gradle", "credentials {\n    username project.findProperty('artifactoryUser')\n    password project.findProperty('artifactoryPassword')\n}\n",
  "near miss: property lookup; " + src)
N(f, "template.properties", "mavenUser=<your-username>\nmavenPassword=<your-password>\nsigning.password=\n", "near miss: placeholders; " + src)

# ---- Vault ----------------------------------------------------------------------------
f = fam("vault", "HashiCorp Vault tokens (hvs./hvb./legacy s.) and unseal keys")
src = ("https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes ; " + NP % "hashicorpvault.yml" + " ; " + GL % "hashicorp_vault.go")
src_u = "https://developer.hashicorp.com/vault/docs/commands/operator/init ; https://developer.hashicorp.com/vault/docs/concepts/seal"
P(f, "vault.env", f"VAULT_ADDR=https://vault.acme.example:8200\nVAULT_TOKEN=hvs.{rs_mixed(ALNUM, 24)}\n", src)
P(f, "vault-token/root/.vault-token", f"hvs.CAESI{rs_mixed(ALNUM + '-_', 86)}", "~/.vault-token written by `vault login`; " + src)
P(f, "legacy.sh", f"#!/bin/sh\nexport VAULT_TOKEN=s.{rs_mixed(ALNUM, 24)}\nvault kv get secret/app\n", src)
P(f, "init-output.txt", "".join(f"Unseal Key {i}: {b64(33)}\n" for i in range(1, 6)) + f"\nInitial Root Token: hvs.{rs_mixed(ALNUM, 24)}\n\n"
  "Vault initialized with 5 key shares and a key threshold of 3.\n", src_u)
P(f, "unseal.sh", "#!/bin/sh\n" + "".join(f"vault operator unseal {b64(33)}\n" for _ in range(3)), src_u)
P(f, "batch.json", json.dumps({"auth": {"client_token": f"hvb.AAAAAQ{rs_mixed(ALNUM + '-_', 130)}", "policies": ["default", "ci"], "renewable": False}}, indent=2) + "\n", src)
N(f, "vault.env", "VAULT_ADDR=https://vault.acme.example:8200\nVAULT_TOKEN=$(cat /run/secrets/vault_token)\n", "near miss: command substitution; " + src)
N(f, "legacy.sh", "export VAULT_TOKEN=s.xxxxxxxxxxxxxxxxxxxxxxxx\n", "near miss: xxxx; " + src)
N(f, "init-docs.md", "Unseal Key 1: <unseal-key-1>\nUnseal Key 2: <unseal-key-2>\nInitial Root Token: <root-token>\n", "near miss: placeholders; " + src_u)
N(f, "deployment.yaml", "metadata:\n  annotations:\n    vault.hashicorp.com/agent-inject: \"true\"\n    vault.hashicorp.com/agent-inject-token: \"true\"\n    vault.hashicorp.com/role: \"app\"\n",
  "near miss: Vault agent annotations; https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations")
N(f, "short.env", "VAULT_TOKEN=hvs.abc\n", "near miss: wrong length; " + src)
N(f, "analytics.js", "window.s.pageName = 'home'; s.t(); var s_code = s.tl(this, 'o', 'download');\n", "near miss: `s.` identifiers")

# ---- Google OAuth client secrets ------------------------------------------------------
f = fam("google-oauth-client-secret", "Google OAuth client secrets (GOCSPX-)")
src = ("https://developers.google.com/identity/protocols/oauth2 ; https://support.google.com/cloud/answer/15549257 (client secret format) ; " + NP % "google.yml")
def gocspx():
    return "GOCSPX-" + rs_mixed(ALNUM + "-_", 28)
P(f, "client_secret.json", json.dumps({"installed": {"client_id": f"{R.randint(10**11, 10**12)}-{rs(LALNUM, 32)}.apps.googleusercontent.com",
                                                     "project_id": "acme-tools", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                                                     "token_uri": "https://oauth2.googleapis.com/token", "client_secret": gocspx(),
                                                     "redirect_uris": ["http://localhost"]}}) + "\n", src)
P(f, "auth.env", f"GOOGLE_CLIENT_ID={R.randint(10**11, 10**12)}-{rs(LALNUM, 32)}.apps.googleusercontent.com\nGOOGLE_CLIENT_SECRET={gocspx()}\n", src)
P(f, "oauth2-proxy.cfg", f'provider = "google"\nclient_id = "{R.randint(10**11, 10**12)}-{rs(LALNUM, 32)}.apps.googleusercontent.com"\n'
  f'client_secret = "{gocspx()}"\ncookie_secret = "{b64url_nopad(32)}"\n', "https://oauth2-proxy.github.io/oauth2-proxy/configuration/providers/google ; " + src)
P(f, "rclone-drive.conf", f"[gdrive]\ntype = drive\nclient_id = {R.randint(10**11, 10**12)}-{rs(LALNUM, 32)}.apps.googleusercontent.com\nclient_secret = {gocspx()}\nscope = drive\n",
  "https://rclone.org/drive/ ; " + src)
P(f, "auth.ts", f"GoogleProvider({{\n  clientId: process.env.GOOGLE_ID!,\n  clientSecret: '{gocspx()}',\n}});\n", src)
N(f, "auth.env", "GOOGLE_CLIENT_SECRET=GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "near miss: xxxx; " + src)
N(f, "client_secret.json", json.dumps({"web": {"client_id": "<client-id>.apps.googleusercontent.com", "client_secret": "<your-client-secret>"}}) + "\n",
  "near miss: placeholders; " + src)
N(f, "short.env", f"GOOGLE_CLIENT_SECRET=GOCSPX-{rs(ALNUM, 12)}\n", "near miss: wrong length; " + src)
N(f, "client-id-only.env", f"GOOGLE_CLIENT_ID={R.randint(10**11, 10**12)}-{rs(LALNUM, 32)}.apps.googleusercontent.com\n", "near miss: client ID alone (public); " + src)
N(f, "auth.ts", "GoogleProvider({ clientId: process.env.GOOGLE_ID!, clientSecret: process.env.GOOGLE_SECRET! });\n", "near miss: env reference; " + src)

# ---- GitHub tokens in git URLs --------------------------------------------------------
f = fam("github-token-git-url", "GitHub tokens embedded in git remote URLs (with valid CRC32 checksums)")
src = ("https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/ ; " + GL % "github.go" + " ; " + NP % "github.yml")
P(f, "fetch.sh", f"#!/bin/sh\ngit clone https://x-access-token:{gh_token('ghs')}@github.com/acme/infra.git /src/infra\n", src)
P(f, "repo/.git/config", "[core]\n\trepositoryformatversion = 0\n\tbare = false\n[remote \"origin\"]\n"
  f"\turl = https://ci-bot:{gh_token('ghp')}@github.com/acme/api.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", src)
P(f, "requirements.txt", f"requests==2.32.3\nacme-common @ git+https://{gh_token('ghp')}@github.com/acme/common.git@v1.4.0\n", src)
P(f, "gitconfig", f"[url \"https://oauth2:{gh_fine_grained()}@github.com/\"]\n\tinsteadOf = https://github.com/\n", src)
P(f, "package.json", json.dumps({"name": "web", "dependencies": {"acme-ui": f"git+https://{gh_token('gho')}:x-oauth-basic@github.com/acme/ui.git#v2.1.0"}}, indent=2) + "\n", src)
P(f, "Gemfile", f"source 'https://rubygems.org'\ngem 'acme-auth', git: 'https://{gh_token('ghu')}@github.com/acme/auth.git', tag: 'v3.0.1'\n", src)
N(f, "fetch.sh", "#!/bin/sh\ngit clone \"https://x-access-token:${GITHUB_TOKEN}@github.com/acme/infra.git\"\n", "near miss: env reference; " + src)
N(f, "repo/.git/config", "[remote \"origin\"]\n\turl = https://github.com/acme/api.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", "near miss: no credentials; " + src)
N(f, "requirements.txt", "acme-common @ git+https://ci-bot@github.com/acme/common.git@v1.4.0\n", "near miss: user name only; " + src)
N(f, "bad-checksum.sh", f"git clone https://x:{gh_token_bad_checksum('ghp')}@github.com/acme/api.git\n",
  "near miss: ghp_ token whose CRC32 checksum does not match; " + src)
N(f, "docs.md", "git clone https://x-access-token:<token>@github.com/owner/repo.git\n", "near miss: placeholder; " + src)
N(f, "xxxx.sh", "git clone https://ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@github.com/acme/api.git\n", "near miss: xxxx; " + src)

# ---- /etc/shadow ----------------------------------------------------------------------
f = fam("etc-shadow", "/etc/shadow: usable password hashes vs locked / disabled accounts")
src = ("shadow(5): https://manpages.debian.org/bookworm/passwd/shadow.5.en.html ; crypt(5): https://manpages.debian.org/bookworm/libcrypt-dev/crypt.5.en.html")
DEB_BASE = ["root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
            "backup", "list", "irc", "_apt", "nobody"]
def shadow(entries):
    return "".join(f"{u}:{h}:19700:0:99999:7:::\n" for u, h in entries)
stock = [(u, "*") for u in DEB_BASE]
P(f, "01-root-sha512/etc/shadow", shadow([("root", crypt_like("6"))] + stock[1:]), src)
P(f, "02-user-yescrypt/etc/shadow", shadow(stock + [("app", yescrypt_like())]), "yescrypt ($y$), Debian 11+ default; " + src)
P(f, "03-root-sha256/etc/shadow", shadow([("root", crypt_like("5"))] + stock[1:6]), src)
P(f, "04-legacy-md5/etc/shadow", shadow([("root", crypt_like("1")), ("bin", "*"), ("operator", "*"), ("admin", crypt_like("1"))]), src)
P(f, "05-backup-file/etc/shadow-", shadow(stock + [("deploy", crypt_like("6"))]), "shadow- backup kept by shadow-utils; " + src)
P(f, "06-alpine/etc/shadow", "root:" + crypt_like("6") + ":19700:0:::::\nbin:!::0:::::\ndaemon:!::0:::::\nnobody:!::0:::::\n", src)
N(f, "01-debian-stock/etc/shadow", shadow(stock), "near miss: stock Debian 12 /etc/shadow (every account `*`); " + src)
N(f, "02-locked-bang/etc/shadow", shadow(stock + [("app", "!")]), "near miss: locked account `!`; " + src)
N(f, "03-locked-hash/etc/shadow", shadow(stock + [("app", "!" + crypt_like("6"))]), "near miss: `!`-locked account (passwd -l); " + src)
N(f, "04-rhel-style/etc/shadow", "root:!!:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\nsshd:!!:19700::::::\n",
  "near miss: RHEL `!!` never-set passwords; " + src)
N(f, "05-alpine-stock/etc/shadow", "root:*::0:::::\nbin:!::0:::::\ndaemon:!::0:::::\nnobody:!::0:::::\n", "near miss: stock Alpine /etc/shadow; " + src)
N(f, "06-empty-star/etc/shadow", shadow(stock + [("svc", "!*"), ("ci", "*LK*")]), "near miss: `!*` and `*LK*` disabled entries; " + src)

# ---- .pgpass --------------------------------------------------------------------------
f = fam("pgpass", "PostgreSQL password files (.pgpass)")
src = "https://www.postgresql.org/docs/current/libpq-pgpass.html"
P(f, "01/root/.pgpass", f"db.internal:5432:app:app_user:{pw(18)}\n", src)
P(f, "02/home/app/.pgpass", f"*:*:*:replicator:{pw(20)}\n", src)
P(f, "03/var/lib/postgresql/.pgpass", f"# primary\n10.0.0.21:5432:*:postgres:{pw(16)}\nlocalhost:5432:reporting:report_ro:{pw(16)}\n", src)
P(f, "04/root/.pgpass", f"pg-prod.cluster-{rs(LALNUM, 12)}.eu-west-1.rds.amazonaws.com:5432:orders:orders_rw:{pw(12)}\\:{pw(6)}\n",
  "escaped colon in the password field; " + src)
P(f, "05/home/backup/.pgpass", f"backup-db:6432:*:pgbackrest:{pw(24)}\n", src)
N(f, "01/root/.pgpass", "# hostname:port:database:username:password\n", "near miss: the documented field template; " + src)
N(f, "02/home/app/.pgpass", "db.internal:5432:app:app_user:\n", "near miss: empty password field; " + src)
N(f, "03/root/.pgpass", "db.internal:5432:app:app_user:<password>\n", "near miss: placeholder; " + src)
N(f, "04/home/app/.pgpass", "# db.internal:5432:app:app_user:" + "*" * 12 + "\n# (filled in at deploy time)\n", "near miss: commented-out, masked; " + src)
N(f, "05/etc/postgresql/pg_service.conf", "[app]\nhost=db.internal\nport=5432\ndbname=app\nuser=app_user\n", "near miss: service file without password; https://www.postgresql.org/docs/current/libpq-pgservice.html")

# ---- .git-credentials -----------------------------------------------------------------
f = fam("git-credentials", "git credential-store files (.git-credentials)")
src = "https://git-scm.com/docs/git-credential-store#_storage_format"
P(f, "01/root/.git-credentials", f"https://ci-bot:{gh_token('ghp')}@github.com\n", src)
P(f, "02/home/app/.git-credentials", f"https://oauth2:glpat-{rs_mixed(ALNUM + '-_', 20)}@gitlab.com\n", src + " ; https://docs.gitlab.com/ee/security/tokens/#token-prefixes")
P(f, "03/home/build/.git-credentials", f"https://jenkins:{pw(16)}@git.corp.example\n", src)
P(f, "04/root/.git-credentials", f"https://x-token-auth:{rs_mixed(ALNUM + '-_', 40)}@bitbucket.org\n", src)
P(f, "05/home/dev/.git-credentials", f"https://build:{ado_pat()}@dev.azure.com\n", src)
N(f, "01/root/.git-credentials", "https://ci-bot@github.com\n", "near miss: no password; " + src)
N(f, "02/home/app/.git-credentials", "https://<user>:<token>@github.com\n", "near miss: placeholders; " + src)
N(f, "03/home/build/.git-credentials", "", "near miss: empty file; " + src)
N(f, "04/home/dev/.gitconfig", "[credential]\n\thelper = store --file ~/.git-credentials\n[user]\n\tname = Dev\n", "near miss: helper config only; " + src)
N(f, "05/root/.git-credentials", "https://USERNAME:PASSWORD@github.com\n", "near miss: placeholder words; " + src)

# ---- .my.cnf --------------------------------------------------------------------------
f = fam("my-cnf", "MySQL option files with passwords (.my.cnf, debian.cnf)")
src = "https://dev.mysql.com/doc/refman/8.0/en/option-files.html ; https://dev.mysql.com/doc/refman/8.0/en/password-security-user.html"
P(f, "01/root/.my.cnf", f"[client]\nuser=root\npassword={pw(16)}\n", src)
P(f, "02/home/app/.my.cnf", f"[mysql]\nhost=db.internal\nuser=app\npassword=\"{pw(16)}\"\n", src)
P(f, "03/etc/mysql/debian.cnf", "# Automatically generated for Debian scripts. DO NOT TOUCH!\n[client]\nhost     = localhost\nuser     = debian-sys-maint\n"
  f"password = {rs_mixed(ALNUM, 16)}\nsocket   = /var/run/mysqld/mysqld.sock\n", src)
P(f, "04/root/.my.cnf", f"[mysqldump]\nuser=backup\npassword='{pw(20)}'\nsingle-transaction\n", src)
P(f, "05/etc/mysql/conf.d/client.cnf", f"[client]\nhost = mysql-primary\nport = 3306\nuser = monitor\npassword = {pw(14)}\n", src)
N(f, "01/root/.my.cnf", "[client]\nuser=root\n#password=\n", "near miss: commented out; " + src)
N(f, "02/home/app/.my.cnf", "[client]\nuser=app\npassword=\n", "near miss: empty; " + src)
N(f, "03/etc/mysql/my.cnf", "[mysqld]\ndatadir=/var/lib/mysql\nsocket=/var/run/mysqld/mysqld.sock\n!includedir /etc/mysql/conf.d/\n", "near miss: server config, no password; " + src)
N(f, "04/root/.my.cnf", "[client]\nuser=root\npassword=<password>\n", "near miss: placeholder; " + src)
N(f, "05/etc/mysql/conf.d/mysql.cnf", "[mysql]\nsocket=/var/run/mysqld/mysqld.sock\nprompt=\\u@\\h [\\d]>\\_\n", "near miss: client config, no password; " + src)

# ---- .s3cfg ---------------------------------------------------------------------------
f = fam("s3cfg", "s3cmd configuration (.s3cfg)")
src = "https://s3tools.org/kb/item14.htm ; https://s3tools.org/usage"
P(f, "01/root/.s3cfg", f"[default]\naccess_key = {aws_akid()}\nsecret_key = {aws_secret()}\nhost_base = s3.amazonaws.com\nhost_bucket = %(bucket)s.s3.amazonaws.com\nuse_https = True\n", src)
P(f, "02/home/app/.s3cfg", f"[default]\naccess_key = DO00{rs(UPPER + DIGITS, 16)}\nsecret_key = {rs_mixed(ALNUM + '/+', 43)}\n"
  "host_base = fra1.digitaloceanspaces.com\nhost_bucket = %(bucket)s.fra1.digitaloceanspaces.com\n",
  "https://docs.digitalocean.com/products/spaces/reference/s3cmd/ ; " + src)
P(f, "03/root/.s3cfg", f"[default]\naccess_key = {rs_mixed(UPPER + DIGITS, 20)}\nsecret_key = {rs_mixed(ALNUM, 40)}\nhost_base = minio.internal:9000\nhost_bucket = minio.internal:9000\nuse_https = False\n",
  "https://min.io/docs/minio/linux/integrations/s3cmd.html ; " + src)
P(f, "04/home/backup/.s3cfg", f"[default]\naccess_key={aws_akid()}\nsecret_key={aws_secret()}\ngpg_passphrase={pw(16)}\n", src)
P(f, "05/etc/s3cmd/backup.s3cfg", f"[default]\naccess_key = {aws_akid()}\nsecret_key = {aws_secret()}\nbucket_location = eu-west-1\n", src)
N(f, "01/root/.s3cfg", "[default]\naccess_key = \nsecret_key = \nhost_base = s3.amazonaws.com\nuse_https = True\n", "near miss: empty (s3cmd's default template); " + src)
N(f, "02/home/app/.s3cfg", "[default]\naccess_key = YOUR_ACCESS_KEY\nsecret_key = YOUR_SECRET_KEY\n", "near miss: placeholder; " + src)
N(f, "03/root/.s3cfg", "[default]\naccess_key = $AWS_ACCESS_KEY_ID\nsecret_key = $AWS_SECRET_ACCESS_KEY\n", "near miss: env reference; " + src)
N(f, "04/root/.s3cfg", "[default]\nhost_base = s3.amazonaws.com\nhost_bucket = %(bucket)s.s3.amazonaws.com\nuse_https = True\nsignature_v2 = False\n",
  "near miss: role credentials, no keys; " + src)
N(f, "05/root/.s3cfg", "[default]\naccess_key = xxxxxxxxxxxxxxxxxxxx\nsecret_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "near miss: xxxx; " + src)

# ---- rclone.conf ----------------------------------------------------------------------
f = fam("rclone", "rclone configuration (rclone.conf)")
src = "https://rclone.org/docs/#config-config-file ; https://rclone.org/commands/rclone_obscure/"
def obscured():
    return b64url_nopad(16 + R.randint(10, 20))
P(f, "01/root/.config/rclone/rclone.conf", f"[s3backup]\ntype = s3\nprovider = AWS\naccess_key_id = {aws_akid()}\nsecret_access_key = {aws_secret()}\nregion = eu-west-1\n",
  "https://rclone.org/s3/ ; " + src)
P(f, "02/home/app/.config/rclone/rclone.conf", f"[nas]\ntype = sftp\nhost = 10.0.0.5\nuser = backup\npass = {obscured()}\n", "https://rclone.org/sftp/ ; " + src)
P(f, "03/root/.config/rclone/rclone.conf", f"[gdrive]\ntype = drive\nscope = drive\ntoken = " + json.dumps(
    {"access_token": "ya29." + rs_mixed(ALNUM + "-_", 150), "token_type": "Bearer", "refresh_token": "1//0" + rs_mixed(ALNUM + "-_", 99),
     "expiry": "2024-05-01T10:00:00.000000+00:00"}, separators=(",", ":")) + "\n", "https://rclone.org/drive/ ; " + src)
P(f, "04/etc/rclone/rclone.conf", f"[b2]\ntype = b2\naccount = {rs(HEX, 12)}0000000003\nkey = K003{rs_mixed(ALNUM, 27)}\n",
  "https://rclone.org/b2/ ; https://www.backblaze.com/docs/cloud-storage-application-keys")
P(f, "05/root/.config/rclone/rclone.conf", f"[dav]\ntype = webdav\nurl = https://cloud.acme.example/remote.php/dav/files/backup/\nvendor = nextcloud\nuser = backup\npass = {obscured()}\n",
  "https://rclone.org/webdav/ ; " + src)
P(f, "06/root/.config/rclone/rclone.conf", f"[azblob]\ntype = azureblob\naccount = contosoarchive\nkey = {b64(64)}\n", "https://rclone.org/azureblob/ ; " + src)
N(f, "01/root/.config/rclone/rclone.conf", "[local]\ntype = local\n\n[s3]\ntype = s3\nprovider = AWS\nenv_auth = true\nregion = eu-west-1\n", "near miss: env_auth, no keys; " + src)
N(f, "02/home/app/.config/rclone/rclone.conf", "[nas]\ntype = sftp\nhost = 10.0.0.5\nuser = backup\nkey_file = ~/.ssh/id_ed25519\npass =\n",
  "near miss: key file reference, empty pass; https://rclone.org/sftp/")
N(f, "03/root/.config/rclone/rclone.conf", "[gdrive]\ntype = drive\nclient_id =\nclient_secret =\nscope = drive\ntoken =\n", "near miss: empty fields; https://rclone.org/drive/")
N(f, "04/etc/rclone/rclone.conf", "[s3]\ntype = s3\naccess_key_id = XXX\nsecret_access_key = YYY\n", "near miss: placeholders (rclone docs style); https://rclone.org/s3/")
N(f, "05/root/.config/rclone/rclone.conf", "[remote]\ntype = s3\naccess_key_id = <access-key-id>\nsecret_access_key = <secret-access-key>\n", "near miss: placeholders; " + src)

# ---- WireGuard ------------------------------------------------------------------------
f = fam("wireguard", "WireGuard private keys")
src = "https://www.wireguard.com/quickstart/ ; wg(8): https://manpages.debian.org/bookworm/wireguard-tools/wg.8.en.html ; " + NP % "wireguard.yml"
P(f, "01/etc/wireguard/wg0.conf", f"[Interface]\nAddress = 10.8.0.1/24\nListenPort = 51820\nPrivateKey = {wg_key()}\n\n[Peer]\nPublicKey = {wg_key()}\nAllowedIPs = 10.8.0.2/32\n", src)
P(f, "02/etc/wireguard/client.conf", f"[Interface]\nPrivateKey = {wg_key()}\nAddress = 10.8.0.2/32\nDNS = 1.1.1.1\n\n[Peer]\nPublicKey = {wg_key()}\n"
  f"PresharedKey = {wg_key()}\nEndpoint = vpn.acme.example:51820\nAllowedIPs = 0.0.0.0/0\n", src)
P(f, "03/etc/systemd/network/99-wg0.netdev", f"[NetDev]\nName = wg0\nKind = wireguard\n\n[WireGuard]\nPrivateKey = {wg_key()}\nListenPort = 51820\n",
  "systemd.netdev(5) [WireGuard] PrivateKey=; " + src)
P(f, "04/etc/NetworkManager/system-connections/wg0.nmconnection", f"[connection]\nid=wg0\ntype=wireguard\ninterface-name=wg0\n\n[wireguard]\nprivate-key={wg_key()}\n\n[ipv4]\naddress1=10.8.0.3/24\nmethod=manual\n",
  "nm-settings-keyfile(5); " + src)
P(f, "05/srv/vpn/docker-compose.yml", f"services:\n  gluetun:\n    image: qmcgaw/gluetun\n    environment:\n      - VPN_SERVICE_PROVIDER=custom\n      - VPN_TYPE=wireguard\n"
  f"      - WIREGUARD_PRIVATE_KEY={wg_key()}\n      - WIREGUARD_ADDRESSES=10.64.0.2/32\n", "https://github.com/qdm12/gluetun-wiki ; " + src)
N(f, "01/etc/wireguard/wg0.conf", "[Interface]\nAddress = 10.8.0.1/24\nPrivateKey = <server-private-key>\n\n[Peer]\nPublicKey = <client-public-key>\n", "near miss: placeholders; " + src)
N(f, "02/etc/systemd/network/99-wg0.netdev", "[NetDev]\nName = wg0\nKind = wireguard\n\n[WireGuard]\nPrivateKeyFile = /etc/systemd/network/wg0.key\n", "near miss: key file reference; " + src)
N(f, "03/etc/wireguard/wg0.conf", f"[Interface]\nAddress = 10.8.0.1/24\nPostUp = wg set %i private-key /etc/wireguard/privatekey\n\n[Peer]\nPublicKey = {wg_key()}\nAllowedIPs = 10.8.0.2/32\n",
  "near miss: public key only, private key loaded from a file; " + src)
N(f, "04/srv/vpn/.env", "WIREGUARD_PRIVATE_KEY=${WG_PRIVATE_KEY}\n", "near miss: env reference")
N(f, "05/etc/wireguard/publickey", wg_key() + "\n", "near miss: a public key file (`wg pubkey` output); " + src)

# ---- Terraform state ------------------------------------------------------------------
f = fam("terraform-state", "Terraform state files with secrets")
src = "https://developer.hashicorp.com/terraform/language/state/sensitive-data ; https://developer.hashicorp.com/terraform/language/state"
def tfstate(resources, serial=7):
    return json.dumps({"version": 4, "terraform_version": "1.7.5", "serial": serial, "lineage": ruuid(), "outputs": {}, "resources": resources,
                       "check_results": None}, indent=2) + "\n"
def res(mode, typ, name, provider, attrs, sens=None):
    return {"mode": mode, "type": typ, "name": name, "provider": f"provider[\"registry.terraform.io/hashicorp/{provider}\"]",
            "instances": [{"schema_version": 0, "attributes": attrs, "sensitive_attributes": sens or []}]}
P(f, "01/infra/terraform.tfstate", tfstate([res("managed", "aws_db_instance", "main", "aws", {"identifier": "orders", "engine": "postgres",
                                                                                            "username": "orders_admin", "password": pw(20), "port": 5432},
                                                   [[{"type": "get_attr", "value": "password"}]])]),
  "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/db_instance ; " + src)
P(f, "02/infra/terraform.tfstate", tfstate([res("managed", "random_password", "db", "random", {"id": "none", "length": 24, "special": True, "result": pw(24),
                                                                                               "bcrypt_hash": bcrypt_like("2a", 10)})]),
  "https://registry.terraform.io/providers/hashicorp/random/latest/docs/resources/password ; " + src)
P(f, "03/infra/terraform.tfstate", tfstate([res("managed", "aws_iam_access_key", "ci", "aws", {"id": aws_akid(), "user": "ci-deployer",
                                                                                               "secret": aws_secret(), "status": "Active"})]),
  "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_access_key ; " + src)
P(f, "04/infra/terraform.tfstate", tfstate([res("managed", "azurerm_storage_account", "logs", "azurerm", {"name": "contosologs", "account_tier": "Standard",
                                                                                                         "primary_access_key": b64(64), "primary_blob_endpoint": "https://contosologs.blob.core.windows.net/"})]),
  "https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/storage_account ; " + src)
P(f, "05/infra/.terraform/terraform.tfstate.backup", tfstate([res("managed", "github_actions_secret", "deploy", "github", {"repository": "api", "secret_name": "DEPLOY_TOKEN",
                                                                                                                         "plaintext_value": gh_token("ghp")})]),
  "https://registry.terraform.io/providers/integrations/github/latest/docs/resources/actions_secret ; " + src)
N(f, "01/infra/terraform.tfstate", tfstate([res("managed", "aws_vpc", "main", "aws", {"id": "vpc-" + rs(HEX, 17), "cidr_block": "10.0.0.0/16",
                                                                                    "enable_dns_hostnames": True})]), "near miss: state without secrets; " + src)
N(f, "02/infra/terraform.tfstate", json.dumps({"version": 4, "terraform_version": "1.7.5", "serial": 1, "lineage": ruuid(), "outputs": {}, "resources": []}, indent=2) + "\n",
  "near miss: empty state; " + src)
N(f, "03/infra/.terraform/terraform.tfstate", json.dumps({"version": 3, "backend": {"type": "s3", "config": {"bucket": "acme-tf-state", "key": "prod/terraform.tfstate",
                                                                                                         "region": "eu-west-1", "encrypt": True, "access_key": None, "secret_key": None}}}, indent=2) + "\n",
  "near miss: backend pointer without credentials; " + src)
N(f, "04/infra/terraform.tfstate", tfstate([res("managed", "aws_db_instance", "main", "aws", {"identifier": "orders", "username": "orders_admin", "password": None,
                                                                                             "manage_master_user_password": True})]), "near miss: managed master password, null; " + src)
N(f, "05/infra/terraform.tfstate", tfstate([res("managed", "random_password", "db", "random", {"id": "none", "length": 24, "result": ""})]), "near miss: empty result; " + src)

# ---- Ansible vault password files -----------------------------------------------------
f = fam("ansible-vault-password", "Ansible vault password files")
src = "https://docs.ansible.com/ansible/latest/vault_guide/vault_managing_passwords.html#storing-passwords-in-files"
P(f, "01/etc/ansible/.vault_pass", pw(24) + "\n", src)
P(f, "02/home/deploy/.vault_pass.txt", pw(32) + "\n", src)
P(f, "03/srv/ansible/vault-password.txt", rs_mixed(ALNUM, 40) + "\n", src)
P(f, "04/root/.ansible/vault_pass", pw(20) + "\n", src)
P(f, "05/srv/ansible/bootstrap.sh", f"#!/bin/sh\necho '{pw(22)}' > /srv/ansible/.vault_pass\nansible-playbook -i inventory site.yml --vault-password-file /srv/ansible/.vault_pass\n", src)
N(f, "01/etc/ansible/ansible.cfg", "[defaults]\ninventory = inventory\nvault_password_file = ~/.vault_pass\n", "near miss: reference to the file; https://docs.ansible.com/ansible/latest/reference_appendices/config.html#default-vault-password-file")
N(f, "02/srv/ansible/group_vars/all/vault.yml", "$ANSIBLE_VAULT;1.1;AES256\n" + "".join(rs(HEX, 80) + "\n" for _ in range(5)),
  "near miss: an encrypted vault (no usable secret without the password); https://docs.ansible.com/ansible/latest/vault_guide/vault_encrypting_content.html")
N(f, "03/home/deploy/.vault_pass", "#!/bin/sh\nexec pass show ansible/vault\n", "near miss: a password *script* that fetches from a store; " + src)
N(f, "04/srv/ansible/.vault_pass.example", "CHANGE_ME\n", "near miss: example placeholder; " + src)
N(f, "05/srv/ansible/vault-client.py", "#!/usr/bin/env python3\nimport keyring\nprint(keyring.get_password('ansible-vault', 'prod'))\n",
  "near miss: vault client script; https://docs.ansible.com/ansible/latest/vault_guide/vault_managing_passwords.html#storing-passwords-in-third-party-tools-with-vault-password-client-scripts")

# ---- container registry credentials ---------------------------------------------------
f = fam("registry-credentials", "Container registry credentials (docker config.json, Harbor robot, Quay robot, GitLab deploy tokens)")
src_d = "https://docs.docker.com/reference/cli/docker/login/#credential-stores ; https://github.com/moby/moby/blob/master/cliconfig (config.json auths)"
def auth(u, p):
    return base64.b64encode(f"{u}:{p}".encode()).decode()
P(f, "01/root/.docker/config.json", json.dumps({"auths": {"registry.acme.example": {"auth": auth("ci", pw(18))}}}, indent="\t") + "\n", src_d)
P(f, "02/home/app/.docker/config.json", json.dumps({"auths": {"ghcr.io": {"auth": auth("acme-bot", gh_token("ghp"))},
                                                              "https://index.docker.io/v1/": {"auth": auth("acmeci", "dckr_pat_" + rs_mixed(ALNUM + "-_", 27))}}}, indent="\t") + "\n", src_d)
P(f, "03/ci/harbor-login.sh", f"#!/bin/sh\ndocker login harbor.acme.example -u 'robot$ci-push' -p '{rs_mixed(ALNUM, 32)}'\n",
  "https://goharbor.io/docs/2.10.0/working-with-projects/project-configuration/create-robot-accounts/")
P(f, "04/ci/robot$acme+ci.json", json.dumps({"creation_time": "2024-05-01T10:00:00.000Z", "expires_at": -1, "id": 17, "name": "robot$acme+ci",
                                             "secret": rs_mixed(ALNUM, 32)}, indent=2) + "\n",
  "Harbor robot account export; https://goharbor.io/docs/2.10.0/working-with-projects/project-configuration/create-robot-accounts/")
P(f, "05/ci/quay-login.sh", f"#!/bin/sh\ndocker login -u=\"acme+deployer\" -p=\"{rs_mixed(UPPER + DIGITS, 64, need=(UPPER, DIGITS))}\" quay.io\n",
  "https://docs.quay.io/glossary/robot-accounts.html")
P(f, "06/ci/gitlab-login.sh", f"#!/bin/sh\necho 'gldt-{rs_mixed(ALNUM + '-_', 20)}' | docker login registry.gitlab.com -u gitlab+deploy-token-4821 --password-stdin\n",
  "https://docs.gitlab.com/ee/user/project/deploy_tokens/ ; https://docs.gitlab.com/ee/security/tokens/#token-prefixes")
P(f, "07/k8s/pull-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\nstringData:\n"
  "  .dockerconfigjson: '" + json.dumps({"auths": {"registry.acme.example": {"username": "puller", "password": pw(18)}}}) + "'\n",
  "https://kubernetes.io/docs/tasks/configure-pod-container/pull-image-private-registry/")
N(f, "01/root/.docker/config.json", json.dumps({"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}, indent="\t") + "\n",
  "near miss: credentials in a store, not the file; " + src_d)
N(f, "02/root/.docker/config.json", json.dumps({"credHelpers": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}}, indent="\t") + "\n",
  "near miss: credential helper only; " + src_d)
N(f, "03/ci/harbor-login.sh", "#!/bin/sh\necho \"$HARBOR_ROBOT_SECRET\" | docker login harbor.acme.example -u 'robot$ci-push' --password-stdin\n",
  "near miss: env reference; https://goharbor.io/docs/2.10.0/working-with-projects/project-configuration/create-robot-accounts/")
N(f, "04/ci/gitlab-login.sh", "#!/bin/sh\ndocker login registry.gitlab.com -u gitlab+deploy-token-1 -p gldt-xxxxxxxxxxxxxxxxxxxx\n", "near miss: xxxx; https://docs.gitlab.com/ee/user/project/deploy_tokens/")
N(f, "05/ci/quay-login.sh", "#!/bin/sh\ndocker login -u=\"$QUAY_ROBOT\" -p=\"$QUAY_TOKEN\" quay.io\n", "near miss: env references; https://docs.quay.io/glossary/robot-accounts.html")
N(f, "06/root/.docker/config.json", json.dumps({"auths": {"registry.acme.example": {"auth": ""}}, "HttpHeaders": {"User-Agent": "Docker-Client/24.0.7 (linux)"}}, indent="\t") + "\n",
  "near miss: empty auth; " + src_d)

# ---- the issue's named false hits (negatives only) ------------------------------------
f = fam("named-false-hits", "False hits named in issue 19 (negatives only)")
N(f, "settings.js", "export default class UserSettings {\n  constructor() {\n    this.addPassword = \"#add-password\";\n"
  "    this.removePassword = \"#remove-password\";\n  }\n}\n", "issue 19: `this.addPassword = \"#add-password\"` (a DOM selector)")
N(f, "routes.rb", "Rails.application.routes.draw do\n  devise_for :users\n  get \"/password/reset\", to: \"passwords#edit\", as: :edit_user_password\n"
  "  post \"/password/reset\", to: \"passwords#update\"\nend\n", "issue 19: Rails route strings; https://guides.rubyonrails.org/routing.html")
N(f, "edit.html.erb", "<%= form_for(resource, as: resource_name, url: password_path(resource_name), html: { method: :put }) do |f| %>\n"
  "  <%= f.password_field :password, autocomplete: \"new-password\" %>\n  <%= link_to \"Back\", edit_user_password_path %>\n<% end %>\n",
  "issue 19: `edit_user_password_path` (Devise view); https://github.com/heartcombo/devise")
N(f, "rotation.yml", f"# last rotation of the aws_secret for the reporting user\naws_secret_rotation_id: {rs(HEX, 42)}\nrotated_at: 2024-05-01\n",
  "issue 19: a 42-hex-digit value next to `aws_secret` wording (AWS secret keys are 40 base64 chars)")
N(f, "example-config.yml", "api:\n  key: a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6\n  url: https://api.example.com\n",
  "issue 19: placeholder `a1b2c3d4-e5f6-g7h8-…` (not even hex)")
N(f, "boto_example.py", "    secret_access_key = 'abcdefg12346+FJQCK'\n", "issue 19: `abcdefg12346`; " + NP % "generic.yml" + " (negative example)")
N(f, "login.html", '<form method="post" action="/session">\n  <input type="password" name="password" placeholder="Password" required>\n'
  '  <a href="/password/forgot">Forgot your password?</a>\n</form>\n', "password form markup")
N(f, "en.yml", "en:\n  devise:\n    passwords:\n      send_instructions: \"You will receive an email with instructions on how to reset your password.\"\n"
  "      updated: \"Your password has been changed successfully.\"\n", "i18n strings; https://github.com/heartcombo/devise/blob/main/config/locales/en.yml")


# --------------------------------------------------------------------------------------
def write():
    for name, f in FAMILIES.items():
        d = os.path.join(HERE, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        rows = []
        for label, items in (("positives", f["pos"]), ("negatives", f["neg"])):
            seen = set()
            for path, text, src in items:
                assert path not in seen, (name, path)
                seen.add(path)
                full = os.path.join(d, label, path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
                rows.append((label, path, src))
        with open(os.path.join(d, "SOURCES.md"), "w", encoding="utf-8") as fh:
            fh.write(f"# {f['title']}\n\n")
            fh.write(f"{len(f['pos'])} positives, {len(f['neg'])} negatives. Every value is fake: generated by "
                     "`bench/credentials/gen.py` (seeded) in the documented shape of its format; none is a live credential.\n\n")
            fh.write("| label | sample file | format documented by / what the sample is |\n| --- | --- | --- |\n")
            for label, path, s in rows:
                fh.write(f"| {label[:3]} | `{label}/{path}` | {s.replace('|', '/')} |\n")
    total_p = sum(len(f["pos"]) for f in FAMILIES.values())
    total_n = sum(len(f["neg"]) for f in FAMILIES.values())
    print(f"{len(FAMILIES)} families, {total_p} positives, {total_n} negatives", file=sys.stderr)


if __name__ == "__main__":
    write()
