//! Checks applied to every candidate secret after its rule's regex confirmed it:
//! Shannon entropy and placeholder / template / documented-example detection, and the
//! evidence a value of no format of its own must show (context and generic rules).

use super::Kind;

/// Shannon entropy of `data` in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A checksum a token format carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub enum Checksum {
    /// `prefix_` + body + 6 base62 digits (0-9A-Za-z) of the CRC32 of the body: GitHub's
    /// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens and npm's `npm_` tokens.
    #[serde(rename = "crc32-base62")]
    Crc32Base62,
    /// A Microsoft "identifiable key" (HIS v1): base64 (or URL-safe base64) of random
    /// bytes, a 4-character signature (`+ASt`, `ACDb`, `+ACR`, …) encoded just before the
    /// last 6 characters, and a Marvin32 checksum of all bytes but the last 4 stored
    /// little-endian in those 4 bytes, seeded per key family (see `identifiable_seeds`).
    #[serde(rename = "azure-identifiable")]
    AzureIdentifiable,
    /// A Microsoft "common annotated security key" (CASK, HIS v2): 84 alphanumerics (88
    /// in the long form) with `JQQJ9` at offset 52 and a provider signature at 76; the
    /// last 4 characters are the Marvin32 checksum (seed `Default0`) of the 60 bytes the
    /// first 80 characters decode to: its first 3 bytes in base64, or (newer keys) the
    /// first 4 base62 digits of its 4 bytes read big-endian.
    #[serde(rename = "azure-cask")]
    AzureCask,
}

/// A structure the secret must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub enum Structure {
    /// A signed JWT: header and payload decode to JSON objects, `alg` is not `none`.
    #[serde(rename = "jwt")]
    Jwt,
    /// A signed JWT whose claims make it dangerous to leak: no `exp` (never expires),
    /// credential-like claims, an admin role or scope, or a Kubernetes service account.
    #[serde(rename = "jwt-sensitive")]
    JwtSensitive,
}

impl Structure {
    pub fn verify(self, secret: &[u8]) -> bool {
        let Some((header, claims)) = decode_jwt(secret) else {
            return false;
        };
        if header
            .get("alg")
            .and_then(|a| a.as_str())
            .is_none_or(|a| a.eq_ignore_ascii_case("none"))
        {
            return false;
        }
        if jwt_is_documentation(secret, &header, &claims) {
            return false;
        }
        match self {
            Structure::Jwt => true,
            Structure::JwtSensitive => jwt_is_sensitive(&claims),
        }
    }
}

fn decode_jwt(
    token: &[u8],
) -> Option<(
    serde_json::Map<String, serde_json::Value>,
    serde_json::Map<String, serde_json::Value>,
)> {
    use base64::Engine as _;
    let mut parts = token.split(|&b| b == b'.');
    let (h, p) = (parts.next()?, parts.next()?);
    let dec = |seg: &[u8]| -> Option<serde_json::Map<String, serde_json::Value>> {
        let trimmed: Vec<u8> = seg.iter().copied().filter(|&b| b != b'=').collect();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(trimmed)
            .ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    Some((dec(h)?, dec(p)?))
}

fn jwt_is_sensitive(claims: &serde_json::Map<String, serde_json::Value>) -> bool {
    if claims.is_empty() {
        return false;
    }
    if !claims.contains_key("exp") {
        return true;
    }
    const CREDENTIAL_KEYS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "client_secret",
        "api_key",
        "apikey",
        "private_key",
        "access_key",
    ];
    if claims
        .keys()
        .any(|k| CREDENTIAL_KEYS.contains(&k.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    if claims.keys().any(|k| k.starts_with("kubernetes.io")) {
        return true;
    }
    let text = |k: &str| {
        claims
            .get(k)
            .map(|v| v.to_string().to_ascii_lowercase())
            .unwrap_or_default()
    };
    ["role", "roles", "scope", "scp", "groups", "permissions"]
        .iter()
        .any(|k| {
            let t = text(k);
            t.contains("admin")
                || t.contains("root")
                || t.contains("superuser")
                || t.contains("cluster-admin")
        })
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl Checksum {
    /// Whether `secret` carries a valid checksum of this kind.
    pub fn verify(self, secret: &[u8]) -> bool {
        match self {
            Checksum::Crc32Base62 => {
                let Some(us) = secret.iter().position(|&b| b == b'_') else {
                    return false;
                };
                let rest = &secret[us + 1..];
                if rest.len() <= 6 {
                    return false;
                }
                let (body, check) = rest.split_at(rest.len() - 6);
                let mut crc = flate2::Crc::new();
                crc.update(body);
                let mut value: u64 = 0;
                for &c in check {
                    let Some(d) = BASE62.iter().position(|&x| x == c) else {
                        return false;
                    };
                    value = value * 62 + d as u64;
                }
                value == u64::from(crc.sum())
            }
            Checksum::AzureIdentifiable => verify_identifiable_key(secret),
            Checksum::AzureCask => verify_cask_key(secret),
        }
    }
}

/// A Marvin32 checksum seed from its 8-character name, as Microsoft's key generators
/// derive it: the name's bytes reversed, read as a little-endian u64.
const fn marvin_seed(name: &[u8; 8]) -> u64 {
    u64::from_be_bytes(*name)
}

/// The Marvin32 checksum seeds of each identifiable-key signature (the services' key
/// kinds: read/write, primary/secondary, send/listen/manage …).
fn identifiable_seeds(signature: &[u8]) -> &'static [u64] {
    const STORAGE: &[u64] = &[marvin_seed(b"Default0")];
    const COSMOS_DB: &[u64] = &[
        marvin_seed(b"MastRW00"),
        marvin_seed(b"MastRO00"),
        marvin_seed(b"SystRW00"),
        marvin_seed(b"SystRO00"),
        marvin_seed(b"SysAll00"),
        marvin_seed(b"Resour00"),
        marvin_seed(b"Encryp00"),
    ];
    const MESSAGING: &[u64] = &[
        marvin_seed(b"Send0000"),
        marvin_seed(b"Listen00"),
        marvin_seed(b"Manage00"),
        marvin_seed(b"System00"),
        marvin_seed(b"Unknown0"),
    ];
    // The subscription-key seed is the IoT Hub one, as Microsoft's own table has it.
    const API_MANAGEMENT: &[u64] = &[
        marvin_seed(b"Tenant00"),
        marvin_seed(b"IoTHub00"),
        marvin_seed(b"Gatewy00"),
        marvin_seed(b"GitKey00"),
    ];
    const FUNCTIONS: &[u64] = &[
        marvin_seed(b"Functi00"),
        marvin_seed(b"Master00"),
        marvin_seed(b"System00"),
    ];
    const SEARCH: &[u64] = &[marvin_seed(b"Query000"), marvin_seed(b"PAdmin00")];
    const CONTAINER_REGISTRY: &[u64] = &[marvin_seed(b"ACRDflt0")];
    const CACHE_FOR_REDIS: &[u64] = &[marvin_seed(b"Access00")];
    const IOT: &[u64] = &[
        marvin_seed(b"IoTHub00"),
        marvin_seed(b"DpsKey00"),
        marvin_seed(b"Device00"),
    ];
    const BATCH: &[u64] = &[marvin_seed(b"AbAcct00")];
    match signature {
        b"+ASt" => STORAGE,
        b"ACDb" => COSMOS_DB,
        b"+ASb" | b"+AEh" | b"+ARm" => MESSAGING,
        b"APIM" => API_MANAGEMENT,
        b"AzFu" => FUNCTIONS,
        b"AzSe" => SEARCH,
        b"+ACR" => CONTAINER_REGISTRY,
        b"AzCa" => CACHE_FOR_REDIS,
        b"AIoT" => IOT,
        b"+ABa" => BATCH,
        _ => &[],
    }
}

/// Marvin32 (SymCrypt's `marvin32.c`), folded to 32 bits as .NET's `ComputeHash32`.
fn marvin32(data: &[u8], seed: u64) -> u32 {
    fn block(p0: &mut u32, p1: &mut u32) {
        *p1 ^= *p0;
        *p0 = p0.rotate_left(20);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(9);
        *p1 ^= *p0;
        *p0 = p0.rotate_left(27);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(19);
    }
    let (mut p0, mut p1) = (seed as u32, (seed >> 32) as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        p0 = p0.wrapping_add(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        block(&mut p0, &mut p1);
    }
    let final_word = match *chunks.remainder() {
        [] => 0x80,
        [a] => 0x8000 | u32::from(a),
        [a, b] => 0x0080_0000 | u32::from(b) << 8 | u32::from(a),
        [a, b, c, ..] => 0x8000_0000 | u32::from(c) << 16 | u32::from(b) << 8 | u32::from(a),
    };
    p0 = p0.wrapping_add(final_word);
    block(&mut p0, &mut p1);
    block(&mut p0, &mut p1);
    p0 ^ p1
}

/// Standard or URL-safe base64, padded or not.
fn decode_base64_any(s: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let std: Vec<u8> = s
        .iter()
        .filter(|&&b| b != b'=')
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        })
        .collect();
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(std)
        .ok()
}

fn verify_identifiable_key(secret: &[u8]) -> bool {
    let trimmed = trim_end_by(secret, |b| b == b'=');
    if trimmed.len() < 24 {
        return false;
    }
    let signature = &trimmed[trimmed.len() - 10..trimmed.len() - 6];
    let seeds = identifiable_seeds(signature);
    let Some(bytes) = decode_base64_any(secret) else {
        return false;
    };
    if seeds.is_empty() || bytes.len() < 8 {
        return false;
    }
    let (body, check) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([check[0], check[1], check[2], check[3]]);
    seeds.iter().any(|&seed| marvin32(body, seed) == stored)
}

fn verify_cask_key(secret: &[u8]) -> bool {
    use base64::Engine as _;
    if !(secret.len() == 84 || secret.len() == 88) || secret.get(52..57) != Some(b"JQQJ9") {
        return false;
    }
    let Some(body) = decode_base64_any(&secret[..80]) else {
        return false;
    };
    let sum = marvin32(&body, marvin_seed(b"Default0")).to_le_bytes();
    let tail = &secret[80..];
    let engine = base64::engine::general_purpose::STANDARD;
    if secret.len() == 88 {
        return tail == engine.encode(sum).as_bytes();
    }
    if tail == engine.encode(&sum[..3]).as_bytes() {
        return true;
    }
    let mut n = u32::from_be_bytes(sum);
    let mut digits = Vec::with_capacity(6);
    while n > 0 {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    digits.reverse();
    digits.len() >= 4 && tail == &digits[..4]
}

/// Whole values that are never real secrets (compared case-insensitively).
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "change_me",
    "change-me",
    "password",
    "passwd",
    "secret",
    "placeholder",
    "redacted",
    "dummy",
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "example",
    "sample",
    "default",
    "test",
    "testing",
    "foobar",
    "admin",
    "root",
    "token",
    "apikey",
    "api_key",
    "mypassword",
    "yourpassword",
    "notasecret",
    "todo",
    "fixme",
    "replaceme",
];

/// Documented example values published by providers and specifications.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    // RFC 5849 (OAuth 1.0) examples.
    "dpf43f3p2l4k3l03",
    "kd94hf93k423kf44",
    "hh5s93j4hdidpola",
    "hdk48Djdsa",
    "nnch734d00sl2jdk",
    "pfkkdhi9sl3r4s00",
    "0685bd9184jfhq22",
    "ad180jjd733klru7",
    // RFC 6749 (OAuth 2.0) examples.
    "2YotnFZFEjr1zCsicMWpAA",
    "tGzv3JOkF0XG5Qx2TlKWIA",
    "SplxlOBeZQQYbYS6WxSbIA",
    // Django REST framework's documented token.
    "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
    "401f7ac837da42b97f613d789819ff93537bee6a",
];

/// Why a candidate was rejected as a placeholder, if it was.
pub fn placeholder_reason(secret: &[u8]) -> Option<&'static str> {
    let s = secret;
    if s.is_empty() {
        return Some("empty");
    }
    let lower = s.to_ascii_lowercase();
    if DOCUMENTED_EXAMPLES.iter().any(|e| e.as_bytes() == s) {
        return Some("documented example value");
    }
    if contains(&lower, b"example") {
        return Some("contains EXAMPLE");
    }
    if PLACEHOLDER_WORDS
        .iter()
        .any(|w| w.as_bytes() == lower.as_slice())
    {
        return Some("placeholder word");
    }
    // Template syntaxes: ${X}, $X, <x>, %(x)s, {{ x }}, #{x}, %X%.
    if has_template_expression(s) {
        return Some("template expression");
    }
    if s[0] == b'$' && s.len() > 1 && (s[1].is_ascii_alphabetic() || s[1] == b'_') {
        return Some("variable reference");
    }
    if s.first() == Some(&b'<') && s.last() == Some(&b'>') {
        return Some("angle-bracket placeholder");
    }
    if s.len() > 2 && s[0] == b'%' && s[s.len() - 1] == b'%' {
        return Some("variable reference");
    }
    if (lower.starts_with(b"your_") || lower.starts_with(b"your-") || lower.starts_with(b"my_"))
        || contains(&lower, b"_here")
        || contains(&lower, b"-here")
        || contains(&lower, b"placeholder")
        || contains(&lower, b"redacted")
        || contains(&lower, b"changeme")
    {
        return Some("placeholder text");
    }
    if has_run(&lower, b'x', 4) || has_run(s, b'*', 4) || has_run(s, b'.', 4) {
        return Some("masked value");
    }
    if is_repeated(s) {
        return Some("repeated characters");
    }
    if has_sequential_run(&lower, 8) {
        return Some("sequential characters");
    }
    None
}

/// A template expression, whole: `${NAME}` (with an optional `:-default` and the
/// like), `{{ … }}`, `#{…}` or `%(name)s`. An opener alone is not one: random keys in
/// alphabets with punctuation (Django's has `$`, `%`, `(` and `#`) hold `%(` or `$`
/// by chance.
fn has_template_expression(s: &[u8]) -> bool {
    let is_name = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.';
    let closes = |rest: &[u8], close: &[u8], body_ok: &dyn Fn(&[u8]) -> bool| {
        find(rest, close).is_some_and(|end| body_ok(&rest[..end]))
    };
    (0..s.len()).any(|i| {
        let rest = &s[i..];
        if let Some(r) = rest.strip_prefix(b"${") {
            return closes(r, b"}", &|body: &[u8]| {
                let name = body.iter().take_while(|b| is_name(b)).count();
                name > 0
                    && (name == body.len()
                        || matches!(body[name], b':' | b'-' | b'?' | b'+' | b'='))
            });
        }
        if let Some(r) = rest.strip_prefix(b"{{") {
            return closes(r, b"}}", &|body: &[u8]| !body.is_empty());
        }
        if let Some(r) = rest.strip_prefix(b"#{") {
            return closes(r, b"}", &|body: &[u8]| {
                !body.is_empty()
                    && body.iter().all(|b| {
                        is_name(b)
                            || matches!(b, b' ' | b'[' | b']' | b'\'' | b'"' | b'(' | b')' | b':')
                    })
            });
        }
        if let Some(r) = rest.strip_prefix(b"%(") {
            let name = r.iter().take_while(|b| is_name(b)).count();
            return name > 0
                && r.get(name) == Some(&b')')
                && r.get(name + 1).is_some_and(u8::is_ascii_alphabetic);
        }
        false
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn has_run(s: &[u8], c: u8, n: usize) -> bool {
    let mut run = 0;
    for &b in s {
        if b == c {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// One character repeated, or a short unit repeated (e.g. `abab…`, `123123…`).
fn is_repeated(s: &[u8]) -> bool {
    if s.len() < 4 {
        return false;
    }
    (1..=3).any(|unit| s.len() >= unit * 3 && s.chunks(unit).all(|c| c == &s[..c.len()]))
}

/// A run of `n` or more consecutive ascending or descending characters (`abcdefgh`, `12345678`).
fn has_sequential_run(s: &[u8], n: usize) -> bool {
    let mut up = 1;
    let mut down = 1;
    for w in s.windows(2) {
        let (a, b) = (w[0], w[1]);
        let alnum = a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric();
        up = if alnum && b == a.wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if alnum && b.wrapping_add(1) == a {
            down + 1
        } else {
            1
        };
        if up >= n || down >= n {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// Evidence: what a finding of a context or generic rule must show besides its regex.
//
// A provider-format token proves itself by its prefix, structure or checksum. A value
// found only by a key name, a config file or a connection string proves nothing by its
// format, so it must look like a literal secret: not a name or a reference, not a
// placeholder, template or documented example, and random enough for its length.

/// HMAC keys that documentation signs its example JWTs with (jwt.io, library READMEs).
const DOCUMENTATION_JWT_KEYS: &[&str] = &[
    "secret",
    "your-256-bit-secret",
    "your-384-bit-secret",
    "your-512-bit-secret",
    "a-string-secret-at-least-256-bits-long",
    "qwertyuiopasdfghjklzxcvbnm123456",
    "shhhhh",
    "shhhhhared-secret",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "my_secret",
    "mysecretkey",
    "supersecret",
    "super-secret",
    "your_secret_key",
    "your-secret-key",
    "key",
    "password",
    "changeme",
    "test",
];

/// Whether a signed JWT is a documentation or test example: placeholder claims (an
/// `example` domain, `John Doe`, `1234567890`, runs of one digit) or an HMAC signature
/// made with a published example key.
fn jwt_is_documentation(
    token: &[u8],
    header: &serde_json::Map<String, serde_json::Value>,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    fn placeholder_claim(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => {
                let lower = s.to_ascii_lowercase();
                contains(lower.as_bytes(), b"example")
                    || lower == "john doe"
                    || lower == "jane doe"
                    || longest_identical_run(lower.as_bytes()) >= 8
                    || has_sequential_run(lower.as_bytes(), 8)
            }
            serde_json::Value::Number(n) => n.as_u64() == Some(1_516_239_022), // jwt.io's iat
            serde_json::Value::Array(a) => a.iter().any(placeholder_claim),
            _ => false,
        }
    }
    if claims.values().any(placeholder_claim) {
        return true;
    }
    let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or("");
    let (block, hash): (usize, HashFn) = match alg {
        "HS256" => (64, digest::<sha2::Sha256>),
        "HS384" => (128, digest::<sha2::Sha384>),
        "HS512" => (128, digest::<sha2::Sha512>),
        _ => return false,
    };
    let Some(dot) = token.iter().rposition(|&b| b == b'.') else {
        return false;
    };
    let (signed, signature) = (&token[..dot], &token[dot + 1..]);
    use base64::Engine as _;
    let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(
        signature
            .iter()
            .copied()
            .filter(|&b| b != b'=')
            .collect::<Vec<u8>>(),
    ) else {
        return false;
    };
    DOCUMENTATION_JWT_KEYS
        .iter()
        .any(|k| hmac(block, hash, k.as_bytes(), signed) == signature)
}

/// A hash over the concatenation of its parts.
pub(crate) type HashFn = fn(&[&[u8]]) -> Vec<u8>;

pub(crate) fn digest<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = D::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// HMAC (RFC 2104) over a hash with block size `block`.
pub(crate) fn hmac(block: usize, hash: HashFn, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > block {
        hash(&[key])
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = hash(&[&ipad, msg]);
    hash(&[&opad, &inner])
}

/// Substrings that make a value the name of a credential rather than one
/// (`RESET_PASSWORD`, `x-aws-ec2-metadata-token`, `AuthenticationMD5Password`).
const CREDENTIAL_WORDS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"passphrase",
    b"secret",
    b"token",
    b"credential",
    b"apikey",
    b"api_key",
    b"api-key",
    b"privatekey",
    b"private_key",
    b"private-key",
];

/// Words that mark a value as a placeholder wherever they stand in it (compared with
/// each word of the value: `MyTestDatabaseSecret`, `This-is-my-test-99!`).
const PLACEHOLDER_SEGMENTS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "example",
    "examples",
    "sample",
    "dummy",
    "fake",
    "mock",
    "demo",
    "placeholder",
    "changeme",
    "foobar",
    "lorem",
    "ipsum",
    "todo",
    "fixme",
    "redacted",
    "your",
    "insert",
];

/// Stock user names and passwords of tutorials, default installs and test suites; a
/// password made only of these words (and a few or sequential digits) is stock.
const STOCK_WORDS: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "toor",
    "user",
    "username",
    "guest",
    "test",
    "tester",
    "demo",
    "pass",
    "passwd",
    "password",
    "pwd",
    "psw",
    "pw",
    "secret",
    "changeme",
    "changeit",
    "letmein",
    "welcome",
    "qwerty",
    "asdf",
    "default",
    "foo",
    "bar",
    "baz",
    "foobar",
    "foobared",
    "tiger",
    "scott",
    "masterkey",
    "sa",
    "db",
    "my",
    "your",
    "some",
    "the",
    "abc",
    "xyz",
    "super",
    "superuser",
    "postgres",
    "mysql",
    "mongo",
    "redis",
    "rabbit",
    "hello",
    "world",
    "login",
    "auth",
    "access",
    "master",
    "example",
    "sample",
    "dummy",
    "insecure",
    "s3cret",
    "s3cr3t",
    "p@ssw0rd",
    "p@ssword",
    "passw0rd",
    "p4ssw0rd",
    "pa55word",
    "pa55w0rd",
];

/// User names of tutorials and test suites.
const STOCK_USERS: &[&str] = &[
    "user",
    "username",
    "usr",
    "admin",
    "administrator",
    "root",
    "guest",
    "test",
    "tester",
    "demo",
    "scott",
    "alice",
    "bob",
    "carol",
    "john",
    "jane",
    "johndoe",
    "janedoe",
    "foo",
    "bar",
    "someuser",
    "myuser",
    "dbuser",
    "db_user",
    "postgres",
    "mysql",
    "sa",
    "me",
    "name",
    "login",
];

/// Words before `token` in a key that name a non-credential token: pagination cursors,
/// idempotency and request ids (`NextToken`, `ClientRequestToken`, `ChangeToken`).
const NON_CREDENTIAL_TOKEN_KINDS: &[&str] = &[
    "next",
    "continuation",
    "page",
    "paging",
    "pagination",
    "cursor",
    "marker",
    "change",
    "request",
    "idempotency",
    "sync",
    "cancel",
    "cancellation",
    "resume",
    "batch",
    "action",
    "purchase",
    "term",
    "csrf",
    "xsrf",
];

/// Why a candidate of a context or generic rule shows no evidence of being a secret,
/// if it shows none. `secret` is the captured value, `whole` the rule's whole match and
/// `line` the line the value starts on (slices of one buffer, as the matcher gives them;
/// they are searched for each other otherwise).
pub fn lacks_evidence(
    kind: Kind,
    secret: &[u8],
    whole: &[u8],
    line: &[u8],
) -> Option<&'static str> {
    if secret.is_empty() {
        return Some("empty");
    }
    // A generic rule has no format to expect, so a value that carries some other
    // format must carry it whole; a context rule's regex already fixed its format.
    if kind == Kind::Generic {
        if fails_provider_checksum(secret) {
            return Some("a provider prefix with a failing checksum");
        }
        if let Some(reason) = jwt_reason(secret) {
            return Some(reason);
        }
    }
    let around = Surroundings::locate(secret, whole, line);
    value_reason(secret, around.bare_in_code())
        .or_else(|| documentation_jwt(secret))
        .or_else(|| around.key_reason(secret))
        .or_else(|| url_credentials_reason(secret, whole))
}

/// What a value says about itself.
fn value_reason(s: &[u8], bare_in_code: bool) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    if CREDENTIAL_WORDS.iter().any(|w| contains(&lower, w)) {
        return Some("names a credential, not a value");
    }
    let ws = words(s);
    if ws.iter().any(|w| {
        let w = w.to_ascii_lowercase();
        PLACEHOLDER_SEGMENTS
            .iter()
            .any(|p| p.as_bytes() == w.as_slice())
    }) {
        return Some("placeholder word");
    }
    if lower.starts_with(b"550e8400-e29b-41d4-a716-4466554400") {
        return Some("documented example value");
    }
    if is_stock_password(s) {
        return Some("stock password");
    }
    if filler_run(s) {
        return Some("filler characters");
    }
    if sequential_pattern(&lower) {
        return Some("sequential characters");
    }
    if s.ends_with(b"...") || contains(s, "\u{2026}".as_bytes()) {
        return Some("elided value");
    }
    if is_template_or_format(s) {
        return Some("template or format string");
    }
    if is_der_signature(s) {
        return Some("a signature, which is public");
    }
    if is_code_reference(s, bare_in_code) {
        return Some("a name or expression, not a literal");
    }
    if is_path(s) {
        return Some("a file path or route");
    }
    if entropy_shortfall(s) > 1.5 {
        return Some("less random than its length and alphabet give");
    }
    None
}

/// A JWT that decodes and is a documentation example.
fn documentation_jwt(s: &[u8]) -> Option<&'static str> {
    if !s.starts_with(b"eyJ") {
        return None;
    }
    let (header, claims) = decode_jwt(s)?;
    jwt_is_documentation(s, &header, &claims).then_some("a documentation JWT")
}

/// A JWT-shaped value must be a well-formed JWT that is not a documentation example.
fn jwt_reason(s: &[u8]) -> Option<&'static str> {
    if !(s.starts_with(b"eyJ") && s.contains(&b'.')) {
        return None;
    }
    if Structure::Jwt.verify(s) {
        None
    } else {
        Some("not a valid JWT, or a documentation one")
    }
}

/// Where a value stands in its match and its line.
struct Surroundings<'a> {
    /// The match before the value: the key, quotes and operator.
    before: &'a [u8],
    /// The line before the match, when the match starts on the value's line.
    line_before_match: Option<&'a [u8]>,
    /// Whether a quote opens the value.
    quoted: bool,
    /// The line after the value.
    after: &'a [u8],
}

impl<'a> Surroundings<'a> {
    fn locate(secret: &[u8], whole: &'a [u8], line: &'a [u8]) -> Surroundings<'a> {
        let in_whole = offset_in(whole, secret).or_else(|| rfind(whole, secret));
        let before = in_whole.map_or(&whole[..0], |o| &whole[..o]);
        let in_line = offset_in(line, secret).or_else(|| find(line, secret));
        let opener = match in_line {
            Some(o) => line[..o].last(),
            None => before.last(),
        };
        let quoted = opener.is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'));
        let after = match in_line {
            Some(o) => &line[o + secret.len()..],
            None => in_whole.map_or(&whole[..0], |o| &whole[o + secret.len()..]),
        };
        let line_before_match = offset_in(line, whole)
            .or_else(|| {
                (whole.len() <= line.len())
                    .then(|| find(line, whole))
                    .flatten()
            })
            .map(|o| &line[..o]);
        Surroundings {
            before,
            line_before_match,
            quoted,
            after,
        }
    }

    /// An unquoted value that code punctuation follows (`key: Name,`, `x = Name;`,
    /// `key: TypeA | TypeB`): a reference in source code, where literals are quoted.
    fn bare_in_code(&self) -> bool {
        !self.quoted
            && self
                .after
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t'))
                .is_some_and(|b| matches!(b, b',' | b';' | b')' | b'(' | b'|'))
    }

    /// The key the value is assigned to: the last name-like run before the operator.
    fn key(&self) -> &'a [u8] {
        let trimmed = trim_end_by(self.before, |b| {
            matches!(
                b,
                b'"' | b'\'' | b'`' | b'\\' | b' ' | b'\t' | b'=' | b':' | b'>' | b'<' | b'!'
            )
        });
        let start = trimmed
            .iter()
            .rposition(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))
            .map_or(0, |i| i + 1);
        &trimmed[start..]
    }

    fn key_reason(&self, secret: &[u8]) -> Option<&'static str> {
        let op = trim_end_by(self.before, |b| {
            matches!(b, b'"' | b'\'' | b'`' | b'\\' | b' ' | b'\t')
        });
        if op.ends_with(b"==") || op.ends_with(b"!=") {
            return Some("a comparison, not an assignment");
        }
        if let Some(lb) = self.line_before_match
            && lb.len() >= 2
            && lb[lb.len() - 1] == b':'
            && !matches!(
                lb[lb.len() - 2],
                b' ' | b'\t' | b'"' | b'\'' | b'`' | b'{' | b'[' | b'(' | b','
            )
        {
            return Some("part of an identifier (an ARN or URN), not a key");
        }
        let key = self.key();
        let kw: Vec<Vec<u8>> = words(key).iter().map(|w| w.to_ascii_lowercase()).collect();
        if let [.., qualifier, last] = kw.as_slice()
            && (last == b"token" || last == b"tokens")
            && NON_CREDENTIAL_TOKEN_KINDS
                .iter()
                .any(|k| k.as_bytes() == qualifier.as_slice())
        {
            return Some("a pagination or request token, not a credential");
        }
        let norm = |b: &[u8]| -> Vec<u8> {
            b.iter()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(u8::to_ascii_lowercase)
                .collect()
        };
        let (k, v) = (norm(key), norm(secret));
        if k.len() >= 4 && (k == v || (v.len() > k.len() && contains(&v, &k))) {
            return Some("repeats its key's name");
        }
        None
    }
}

/// Stock credentials in a `scheme://user:password@host` match: a stock password, or a
/// stock user on a local or placeholder host.
fn url_credentials_reason(secret: &[u8], whole: &[u8]) -> Option<&'static str> {
    let start = find(whole, b"://")? + 3;
    let rest = &whole[start..];
    let at = rest.iter().rposition(|&b| b == b'@')?;
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    let colon = userinfo.iter().position(|&b| b == b':')?;
    let (user, password) = (&userinfo[..colon], &userinfo[colon + 1..]);
    if password != secret && !password.ends_with(secret) {
        return None;
    }
    let user = percent_decode(user).to_ascii_lowercase();
    let password = percent_decode(password);
    let host_end = host
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#' | b',' | b';'))
        .unwrap_or(host.len());
    let host = host[..host_end].to_ascii_lowercase();
    let host = match host.iter().rposition(|&b| b == b':') {
        Some(i) if !host.starts_with(b"[") || host[..i].ends_with(b"]") => host[..i].to_vec(),
        _ => host,
    };
    if is_stock_password(&password) {
        return Some("stock password in a connection string");
    }
    let stock_user = STOCK_USERS.iter().any(|u| u.as_bytes() == user.as_slice());
    if stock_user && is_local_or_placeholder_host(&host) {
        return Some("stock user on a local or placeholder host");
    }
    None
}

fn is_local_or_placeholder_host(h: &[u8]) -> bool {
    const HOSTS: &[&str] = &[
        "localhost",
        "0.0.0.0",
        "[::1]",
        "::1",
        "host",
        "hostname",
        "somehost",
        "myhost",
        "your-host",
        "yourhost",
        "server",
        "myserver",
    ];
    HOSTS.iter().any(|x| x.as_bytes() == h)
        || h.starts_with(b"127.")
        || h.starts_with(b"localhost.")
        || h.ends_with(b".localhost")
        || h.starts_with(b"example.")
        || h.ends_with(b".example")
        || contains(h, b".example.")
        || h.ends_with(b".invalid")
        || h.ends_with(b".test")
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && let (Some(a), Some(b)) = (hex_val(s[i + 1]), hex_val(s[i + 2]))
        {
            out.push(a * 16 + b);
            i += 3;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A password made only of stock words (`admin`, `secret`, `tiger`, `foobared`, …),
/// with at most a few or sequential digits (`Admin12345`, `password1`).
pub fn is_stock_password(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    if STOCK_WORDS.iter().any(|w| w.as_bytes() == lower.as_slice()) {
        return true;
    }
    let ws = words(&lower);
    if ws.is_empty()
        || s.iter()
            .any(|b| !b.is_ascii_alphanumeric() && !b"_-.!@#".contains(b))
    {
        return false;
    }
    let mut letters = false;
    for w in &ws {
        if w[0].is_ascii_digit() {
            let few = w.len() <= 2;
            let sequential = w.len() >= 3
                && (has_sequential_run(w, w.len()) || longest_identical_run(w) == w.len());
            if !(few || sequential) {
                return false;
            }
        } else if composed_of_stock_words(w) {
            letters = true;
        } else {
            return false;
        }
    }
    letters
}

/// Whether `w` (lowercase letters) splits into stock words.
fn composed_of_stock_words(w: &[u8]) -> bool {
    let mut reach = vec![false; w.len() + 1];
    reach[0] = true;
    for i in 0..w.len() {
        if !reach[i] {
            continue;
        }
        for sw in STOCK_WORDS {
            let sw = sw.as_bytes();
            if w[i..].starts_with(sw) {
                reach[i + sw.len()] = true;
            }
        }
    }
    reach[w.len()]
}

/// A run of six or more of one character (`00000000`, `xxxxxx`); a run of `A` (zero
/// bytes in base64) must be longer.
fn filler_run(s: &[u8]) -> bool {
    let mut run = 0;
    let mut prev = None;
    for &b in s {
        run = if Some(b) == prev { run + 1 } else { 1 };
        prev = Some(b);
        if run >= 6 && (b != b'A' || run >= 12) {
            return true;
        }
    }
    false
}

fn longest_identical_run(s: &[u8]) -> usize {
    let (mut best, mut run) = (0, 0);
    for (i, &b) in s.iter().enumerate() {
        run = if i > 0 && s[i - 1] == b { run + 1 } else { 1 };
        best = best.max(run);
    }
    best
}

/// Sequential placeholders: a run of six (`abcdefg12346`), letters and digits counting
/// up side by side (`a1b2c3d4-e5f6-g7h8`), or runs of three covering most of the value
/// (`abc123def456`).
fn sequential_pattern(lower: &[u8]) -> bool {
    if has_sequential_run(lower, 6) {
        return true;
    }
    let letters: Vec<u8> = lower
        .iter()
        .copied()
        .filter(u8::is_ascii_alphabetic)
        .collect();
    let digits: Vec<u8> = lower.iter().copied().filter(u8::is_ascii_digit).collect();
    if has_sequential_run(&letters, 6) && has_sequential_run(&digits, 6) {
        return true;
    }
    let alnum: Vec<u8> = lower
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    if alnum.len() < 8 {
        return false;
    }
    let mut covered = 0;
    let mut run = 1;
    for i in 1..=alnum.len() {
        let step = i < alnum.len()
            && alnum[i].is_ascii_digit() == alnum[i - 1].is_ascii_digit()
            && (alnum[i] == alnum[i - 1].wrapping_add(1)
                || alnum[i].wrapping_add(1) == alnum[i - 1]);
        if step {
            run += 1;
        } else {
            if run >= 3 {
                covered += run;
            }
            run = 1;
        }
    }
    covered * 10 >= alnum.len() * 6
}

/// A printf-style format string: `%s`-style directives (each ending the value or followed
/// by a separator) in otherwise readable text (`user:%s`, `%s@%s`), not a random value
/// that happens to hold `%s`.
fn is_format_string(s: &[u8]) -> bool {
    let mut rest = Vec::with_capacity(s.len());
    let mut directives = 0;
    let mut i = 0;
    while i < s.len() {
        let ends = s.get(i + 2).is_none_or(|b| !b.is_ascii_alphanumeric());
        if s[i] == b'%' && s.get(i + 1).is_some_and(|b| b"svrqidfx".contains(b)) && ends {
            directives += 1;
            i += 2;
            continue;
        }
        rest.push(s[i]);
        i += 1;
    }
    let symbols = rest.iter().filter(|b| !b.is_ascii_alphanumeric()).count();
    directives > 0
        && symbols <= 4
        && rest
            .split(|b| !b.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .all(|p| {
                is_wordy(p)
                    || (p.len() <= 4 && p.iter().all(u8::is_ascii_lowercase))
                    || (p.len() <= 4 && p.iter().all(u8::is_ascii_digit))
            })
}

/// Template and format syntaxes the placeholder check leaves to context: `%s`, `{name}`,
/// `[name]`, `__NAME__`, `@NAME@`, `<%= … %>`.
fn is_template_or_format(s: &[u8]) -> bool {
    if is_format_string(s) {
        return true;
    }
    if contains(s, b"<%") {
        return true;
    }
    let bracketed = |open: u8, close: u8| {
        s.iter().enumerate().any(|(i, &b)| {
            b == open
                && s[i + 1..]
                    .iter()
                    .position(|&c| c == close)
                    .is_some_and(|j| {
                        let inner = &s[i + 1..i + 1 + j];
                        inner.iter().all(u8::is_ascii_digit)
                            || is_name_path(inner)
                            || inner.split(|&c| c == b' ').all(is_name_path)
                    })
        })
    };
    if bracketed(b'{', b'}') || bracketed(b'[', b']') {
        return true;
    }
    let upper_name = |t: &[u8]| {
        !t.is_empty()
            && t.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            && t.iter().any(u8::is_ascii_uppercase)
    };
    if s.len() > 4 && s.starts_with(b"__") && s.ends_with(b"__") {
        return true;
    }
    if let Some(t) = s.strip_prefix(b"@") {
        return upper_name(t.strip_suffix(b"@").unwrap_or(t));
    }
    false
}

/// A value with the prefix and length of a checksummed token (GitHub, npm) whose
/// checksum fails: an invented example such as `ghp_PersonalAccessToken0124…`.
fn fails_provider_checksum(s: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"npm_"];
    PREFIXES.iter().any(|p| s.starts_with(p))
        && s.len() == 40
        && s[4..].iter().all(u8::is_ascii_alphanumeric)
        && !Checksum::Crc32Base62.verify(s)
}

/// Provider shapes that no prefix announces, for [`crate::matcher::Matcher`]'s check
/// of generic values: a value that begins like one of these formats and fails the rest
/// of it is a truncated or invented token of that provider, not a secret of no format.
/// `whole` is the generic rule's match (with the key name).
///
/// - a Microsoft Entra ID client secret: three characters, a digit and `Q~`, 40 in all;
/// - an Okta API token under an Okta name: `00` and 40 more;
/// - a TrueNAS API key under a TrueNAS name: a numeric id, `-` and 64 alphanumerics;
/// - a Doppler token: `dp.`, a token type and `.` (the Doppler rule knows the types).
pub fn claimed_shape_fails(secret: &[u8], whole: &[u8]) -> bool {
    if let Some(rest) = secret.strip_prefix(b"dp.") {
        let ty = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
        if (2..=5).contains(&ty) && rest.get(ty) == Some(&b'.') {
            return true;
        }
    }
    let entra_class = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'.' | b'-');
    if secret.len() > 6
        && secret[..3].iter().all(entra_class)
        && secret[3].is_ascii_digit()
        && &secret[4..6] == b"Q~"
    {
        return !(secret.len() == 40 && secret.iter().all(entra_class));
    }
    let lower = whole.to_ascii_lowercase();
    let token_class = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
    if contains(&lower, b"okta") && secret.starts_with(b"00") {
        return !(secret.len() == 42 && secret.iter().all(token_class));
    }
    if contains(&lower, b"truenas") || contains(&lower, b"freenas") {
        let id = secret.iter().take_while(|b| b.is_ascii_digit()).count();
        if (1..=6).contains(&id) && secret.get(id) == Some(&b'-') {
            let key = &secret[id + 1..];
            return !(key.len() == 64 && key.iter().all(u8::is_ascii_alphanumeric));
        }
    }
    false
}

/// Base64 of a DER-encoded ECDSA signature (`MEUCIQ…`, `MEYCIQ…`).
fn is_der_signature(s: &[u8]) -> bool {
    [&b"MEQCI"[..], b"MEUCI", b"MEYCI"]
        .iter()
        .any(|p| s.starts_with(p))
        && s.len() >= 60
        && s.len() <= 100
}

/// A name or an expression rather than a literal: an identifier made of words standing
/// bare in code (`defaultToConfig2,`, `SensitiveString2048;`), a dotted path of names (`options.password`,
/// `auth.hints.minLength`, `~azure.core.TokenProvider`), or names chained by operators
/// (`r.compile=void`, `s.host=r.host,s.port=r.port`; only `=`, `,` and parentheses
/// chain, as `!` or `&` join words in human passwords).
fn is_code_reference(s: &[u8], bare_in_code: bool) -> bool {
    // A name in code is cased or joined (`defaultToConfig2`, `SIGN_UP`), not one run of
    // lower-case letters and digits as a random value is.
    let shaped = s.iter().any(u8::is_ascii_uppercase) || s.contains(&b'_');
    if bare_in_code && shaped && is_identifier(s) && is_wordy(s) {
        return true;
    }
    let t = s.strip_prefix(b"~").unwrap_or(s);
    let t = t.strip_prefix(b".").unwrap_or(t);
    if is_name_path(t) && t.contains(&b'.') {
        return true;
    }
    let seps = |b: &u8| matches!(b, b'=' | b'(' | b')' | b',');
    let body = trim_end_by(s, |b| b == b'=');
    if body.iter().any(seps) {
        let pieces: Vec<&[u8]> = body.split(seps).filter(|p| !p.is_empty()).collect();
        return pieces.len() >= 2
            && pieces.iter().all(|p| is_name_path(p) || is_short_name(p))
            && pieces.iter().any(|p| is_name_path(p));
    }
    false
}

/// Names joined by dots (`?.` counts as a dot), each short or made of words, at least one
/// of them a word of three letters or more.
fn is_name_path(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s
        .split(|&b| b == b'.')
        .map(|p| trim_end_by(p, |b| b == b'?'))
        .collect();
    parts
        .iter()
        .all(|p| is_short_name(p) || (is_identifier(p) && is_wordy(p)))
        && parts
            .iter()
            .any(|p| p.len() >= 3 && is_identifier(p) && is_wordy(p))
}

fn is_short_name(p: &[u8]) -> bool {
    !p.is_empty() && p.len() <= 3 && is_identifier(p)
}

fn is_identifier(s: &[u8]) -> bool {
    s.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'$'))
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$'))
}

/// A file path or URL route made of words: `/run/secrets/db`, `./config/app.key`.
fn is_path(s: &[u8]) -> bool {
    let Some(rest) = [&b"/"[..], b"./", b"../", b"~/"]
        .iter()
        .find_map(|p| s.strip_prefix(*p))
    else {
        return false;
    };
    let segs: Vec<&[u8]> = rest
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .collect();
    !segs.is_empty()
        && segs.iter().all(|seg| {
            seg.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                && (seg.len() <= 3 || is_wordy(seg))
        })
}

/// Whether `s` reads as words: few, mostly long, pronounceable words or common
/// abbreviations, as in names (`NonEmptyMaxLength64String`), not random strings.
pub fn is_wordy(s: &[u8]) -> bool {
    let ws = words(s);
    let alnum = s.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let letter_words: Vec<&[u8]> = ws
        .iter()
        .copied()
        .filter(|w| w[0].is_ascii_alphabetic())
        .collect();
    let letters: usize = letter_words.iter().map(|w| w.len()).sum();
    let numbers = ws.len() - letter_words.len();
    let short = letter_words.iter().filter(|w| w.len() <= 2).count();
    // Separators (`SIGN_UP_V2`) make short words likelier in a name.
    let separated = s.iter().any(|b| matches!(b, b'_' | b'.' | b'-'));
    let short_limit = if separated {
        letter_words.len() / 2
    } else {
        letter_words.len() / 3
    };
    // Hex digits (`deff85f9dfaed`) read as words too often.
    let hex = s
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .all(u8::is_ascii_hexdigit)
        && numbers > 0;
    !letter_words.is_empty()
        && !hex
        && numbers <= 2
        && letters * 5 >= alnum * 3
        && letters >= 3 * letter_words.len()
        && short <= short_limit.max(1)
        && letter_words.iter().any(|w| w.len() >= 3)
        && letter_words.iter().all(|w| is_word_like(w))
}

/// Abbreviations without vowels that names are made of.
const ABBREVIATIONS: &[&str] = &[
    "xml", "html", "http", "https", "url", "sql", "css", "svc", "cfg", "ctx", "msg", "src", "dst",
    "str", "pkg", "cmd", "std", "lib", "mgr", "req", "res", "fmt", "tmp", "pwd", "sha", "rsa",
    "dsa", "jwt", "ssh", "tls", "ssl", "tcp", "udp", "dns", "ftp", "smtp", "mfa", "kms", "rds",
    "sns", "sqs", "dms", "pkcs", "hmac", "gcm", "cbc", "ctr", "xhr", "grpc", "nls", "bcrypt",
    "crypt", "ldap", "ntlm", "krb", "cms", "crl", "csr", "crt", "pgp", "gpg", "cnt", "nxt", "prv",
    "pvt", "mnt", "ln", "nr", "id", "ids",
];

/// A word of a name: a short word, a known abbreviation, or a pronounceable word
/// (vowels, no long run of consonants).
fn is_word_like(w: &[u8]) -> bool {
    if w.len() <= 2 {
        return true;
    }
    let lower = w.to_ascii_lowercase();
    if ABBREVIATIONS
        .iter()
        .any(|a| a.as_bytes() == lower.as_slice())
    {
        return true;
    }
    let vowel = |b: &u8| matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    let vowels = lower.iter().filter(|b| vowel(b)).count();
    let mut run = 0;
    let mut longest = 0;
    for b in &lower {
        run = if vowel(b) { 0 } else { run + 1 };
        longest = longest.max(run);
    }
    let max_run = if lower.len() >= 6 { 4 } else { 3 };
    vowels > 0 && vowels * 8 >= lower.len() && vowels * 5 <= lower.len() * 4 && longest <= max_run
}

/// Splits `s` into words: runs of letters broken where the case turns (`camelCase`,
/// `HTTPServer` → `HTTP`, `Server`) and runs of digits; other characters separate.
pub fn words(s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for i in 0..s.len() {
        let b = s[i];
        if !b.is_ascii_alphanumeric() {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
            continue;
        }
        let Some(st) = start else {
            start = Some(i);
            continue;
        };
        let p = s[i - 1];
        let split = p.is_ascii_digit() != b.is_ascii_digit()
            || (p.is_ascii_lowercase() && b.is_ascii_uppercase());
        if split {
            out.push(&s[st..i]);
            start = Some(i);
        } else if p.is_ascii_uppercase() && b.is_ascii_lowercase() && i - st >= 2 {
            // `HTTPServer`: the last capital starts the next word.
            out.push(&s[st..i - 1]);
            start = Some(i - 1);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// How many bits per character `s` falls short of a string of its length drawn at
/// random from its own alphabet (hex, or the character classes it uses).
pub fn entropy_shortfall(s: &[u8]) -> f64 {
    if s.len() < 8 || s.len() > 512 {
        return 0.0;
    }
    expected_entropy(s.len(), alphabet_size(s)) - shannon_entropy(s)
}

fn alphabet_size(s: &[u8]) -> usize {
    let mut symbols = [false; 256];
    for &b in s.iter().filter(|b| !b.is_ascii_alphanumeric()) {
        symbols[b as usize] = true;
    }
    let others = symbols.iter().filter(|&&x| x).count();
    let alnum = || s.iter().filter(|b| b.is_ascii_alphanumeric());
    let hex = alnum().all(u8::is_ascii_hexdigit)
        && !(alnum().any(u8::is_ascii_lowercase) && alnum().any(u8::is_ascii_uppercase));
    if hex && alnum().any(u8::is_ascii_digit) {
        return 16 + others;
    }
    let mut a = others;
    if s.iter().any(u8::is_ascii_lowercase) {
        a += 26;
    }
    if s.iter().any(u8::is_ascii_uppercase) {
        a += 26;
    }
    if s.iter().any(u8::is_ascii_digit) {
        a += 10;
    }
    a
}

/// The mean Shannon entropy (bits per character) of `n` characters drawn uniformly from
/// `alphabet` symbols: each symbol's count is binomial.
fn expected_entropy(n: usize, alphabet: usize) -> f64 {
    if n == 0 || alphabet < 2 {
        return 0.0;
    }
    let nf = n as f64;
    let p = 1.0 / alphabet as f64;
    let mut pmf = (1.0 - p).powi(n as i32);
    let mut per_symbol = 0.0;
    for c in 0..n {
        pmf *= (n - c) as f64 / (c + 1) as f64 * p / (1.0 - p);
        let q = (c + 1) as f64 / nf;
        per_symbol -= pmf * q * q.log2();
    }
    per_symbol * alphabet as f64
}

/// Where `inner` (a sub-slice of `outer`, as the matcher hands them) starts in `outer`.
fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let off = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (off + inner.len() <= outer.len()).then_some(off)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn trim_end_by(s: &[u8], f: impl Fn(u8) -> bool) -> &[u8] {
    let end = s.iter().rposition(|&b| !f(b)).map_or(0, |i| i + 1);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str) -> String {
        use base64::Engine as _;
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.c2lnbmF0dXJlLWJ5dGVzLTEyMzQ1Njc4",
            e(header),
            e(claims)
        )
    }

    #[test]
    fn jwt_structure_and_sensitive_claims() {
        let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
        let ok = jwt(hs, r#"{"sub":"svc","exp":1924000000}"#);
        assert!(Structure::Jwt.verify(ok.as_bytes()));
        assert!(
            !Structure::JwtSensitive.verify(ok.as_bytes()),
            "expiring, no sensitive claims"
        );
        assert!(!Structure::Jwt.verify(jwt(r#"{"alg":"none"}"#, r#"{"sub":"x"}"#).as_bytes()));
        assert!(!Structure::Jwt.verify(b"eyJub3QiOiJqc29u.eyJzdWIiOiJ4In0.sig"));
        for sensitive in [
            r#"{"sub":"svc"}"#,
            r#"{"sub":"svc","exp":1924000000,"role":"admin"}"#,
            r#"{"sub":"svc","exp":1924000000,"kubernetes.io/serviceaccount/namespace":"prod"}"#,
            r#"{"sub":"svc","exp":1924000000,"client_secret":"abc"}"#,
        ] {
            assert!(
                Structure::JwtSensitive.verify(jwt(hs, sensitive).as_bytes()),
                "{sensitive}"
            );
        }
    }

    #[test]
    fn crc32_base62_checksums() {
        for ok in [
            "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",
            "ghs_oOOL8dKLzdocJ2isAjIhKtJ0RlgLKO24tJGF",
        ] {
            assert!(Checksum::Crc32Base62.verify(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXJ",
            "ghp_v8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXH",
            "ghp_short",
            "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024x-H",
        ] {
            assert!(!Checksum::Crc32Base62.verify(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn marvin32_matches_symcrypt_vectors() {
        let fold = |h: u64| (h >> 32) as u32 ^ h as u32;
        assert_eq!(
            marvin32(b"abc", 0xd53c_d9ce_cd08_93b7),
            fold(0x22c7_4339_4927_69bf)
        );
        assert_eq!(
            marvin32(b"abcdefghijklmnopqrstuvwxyz", 0x0ddd_deee_efff_f000),
            fold(0xa128_eb7e_7260_aca2)
        );
        assert_eq!(marvin_seed(b"Default0"), 0x4465_6661_756c_7430);
        assert_eq!(marvin_seed(b"ACRDflt0"), 0x4143_5244_666c_7430);
    }

    const BASE64_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// An identifiable key as Microsoft's generators make one: `n` random bytes whose
    /// encoding carries `sig` just before the last 6 characters, the last 4 bytes being
    /// the Marvin32 checksum of the others.
    fn identifiable_key(state: &mut u64, n: usize, sig: &str, seed: u64, url: bool) -> String {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes: Vec<u8> = (0..n).map(|_| xorshift(state) as u8).collect();
        let mut text = engine.encode(&bytes).into_bytes();
        let end = text.iter().rposition(|&b| b != b'=').unwrap() + 1;
        text[end - 10..end - 6].copy_from_slice(sig.as_bytes());
        // The bits between the signature and the checksum are zero ([A-D] after the
        // signature of a 39-byte key, [A-P] after that of a 32-byte key).
        let spill = (n - 4) * 8 - (end - 6) * 6;
        let digit = BASE64_ALPHABET
            .iter()
            .position(|&c| c == text[end - 6])
            .unwrap();
        text[end - 6] = BASE64_ALPHABET[digit & (0x3f >> spill)];
        let mut bytes = engine.decode(&text).unwrap();
        let k = bytes.len() - 4;
        let sum = marvin32(&bytes[..k], seed);
        bytes[k..].copy_from_slice(&sum.to_le_bytes());
        let key = engine.encode(&bytes);
        if url {
            key.replace('+', "-").replace('/', "_")
        } else {
            key
        }
    }

    #[test]
    fn azure_identifiable_key_checksums() {
        let mut state = 0x2545_f491_4f6c_dd1d;
        let families: [(usize, &str, &[u8; 8], bool); 12] = [
            (64, "+ASt", b"Default0", false),
            (64, "ACDb", b"MastRW00", false),
            (64, "ACDb", b"MastRO00", false),
            (32, "+ASb", b"Manage00", false),
            (32, "+AEh", b"Send0000", false),
            (32, "+ARm", b"Listen00", false),
            (64, "APIM", b"Gatewy00", false),
            (40, "AzFu", b"Functi00", true),
            (40, "AzFu", b"Master00", false),
            (39, "AzSe", b"PAdmin00", false),
            (39, "+ACR", b"ACRDflt0", false),
            (32, "AzCa", b"Access00", false),
        ];
        for (n, sig, seed, url) in families {
            for _ in 0..20 {
                let key = identifiable_key(&mut state, n, sig, marvin_seed(seed), url);
                assert!(Checksum::AzureIdentifiable.verify(key.as_bytes()), "{key}");
                // Padding may be dropped (URL-safe keys often are).
                let bare = key.trim_end_matches('=');
                assert!(
                    Checksum::AzureIdentifiable.verify(bare.as_bytes()),
                    "{bare}"
                );
                // One character changed in the random part, the signature or the checksum.
                for at in [3, bare.len() - 9, bare.len() - 3] {
                    let mut bad = key.clone().into_bytes();
                    bad[at] = if bad[at] == b'k' { b'm' } else { b'k' };
                    let bad = String::from_utf8(bad).unwrap();
                    assert!(!Checksum::AzureIdentifiable.verify(bad.as_bytes()), "{bad}");
                }
            }
            // The right signature with another family's seed.
            let other = identifiable_key(&mut state, n, sig, marvin_seed(b"Wrong000"), url);
            assert!(
                !Checksum::AzureIdentifiable.verify(other.as_bytes()),
                "{other}"
            );
        }
        // An unknown signature, a valid checksum: not an identifiable key.
        let unknown = identifiable_key(&mut state, 64, "ZZZZ", marvin_seed(b"Default0"), false);
        assert!(!Checksum::AzureIdentifiable.verify(unknown.as_bytes()));
        for junk in [
            "",
            "+ASt",
            "not base64 at all!!",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+AStAAAAAA==",
        ] {
            assert!(
                !Checksum::AzureIdentifiable.verify(junk.as_bytes()),
                "{junk}"
            );
        }
    }

    /// A common annotated security key for `provider`, its checksum in base64 (`b62`
    /// false) or base62 (true); `None` when that encoding is not alphanumeric.
    fn cask_key(state: &mut u64, provider: &str, b62: bool) -> Option<String> {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut alnum = |n: usize| -> String {
            (0..n)
                .map(|_| BASE62[(xorshift(state) % 62) as usize] as char)
                .collect()
        };
        let text = format!("{}JQQJ99BF{}{}{provider}", alnum(52), alnum(12), alnum(4));
        let bytes = engine.decode(&text).unwrap();
        let sum = marvin32(&bytes, marvin_seed(b"Default0")).to_le_bytes();
        let tail = if b62 {
            let mut n = u32::from_be_bytes(sum);
            let mut d = Vec::new();
            while n > 0 {
                d.push(BASE62[(n % 62) as usize]);
                n /= 62;
            }
            d.reverse();
            String::from_utf8(d.get(..4)?.to_vec()).unwrap()
        } else {
            engine.encode(&sum[..3])
        };
        tail.bytes()
            .all(|b| b.is_ascii_alphanumeric())
            .then(|| format!("{text}{tail}"))
    }

    #[test]
    fn azure_cask_checksums() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let mut checked = 0;
        for provider in ["AZDO", "ACOG", "AZEG", "AWPS"] {
            for b62 in [false, true] {
                for _ in 0..40 {
                    let Some(key) = cask_key(&mut state, provider, b62) else {
                        continue;
                    };
                    checked += 1;
                    assert_eq!(key.len(), 84);
                    assert!(Checksum::AzureCask.verify(key.as_bytes()), "{key}");
                    for at in [0, 55, 78, 82] {
                        let mut bad = key.clone().into_bytes();
                        bad[at] = if bad[at] == b'k' { b'm' } else { b'k' };
                        let bad = String::from_utf8(bad).unwrap();
                        assert!(!Checksum::AzureCask.verify(bad.as_bytes()), "{bad}");
                    }
                }
            }
        }
        assert!(checked > 200);
        for junk in ["", "JQQJ99", &"a".repeat(84)] {
            assert!(!Checksum::AzureCask.verify(junk.as_bytes()), "{junk}");
        }
    }

    #[test]
    fn entropy_floors() {
        assert!(shannon_entropy(b"aaaaaaaa") < 0.01);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"q8Z3kP0vXw2LmN7bR4tY") > 4.0);
    }

    #[test]
    fn placeholders_are_rejected() {
        for p in [
            &b"AKIAIOSFODNN7EXAMPLE"[..],
            b"changeme",
            b"<password>",
            b"YOUR_API_KEY_HERE",
            b"${VAR}",
            b"$DB_PASSWORD",
            b"%(password)s",
            b"{{ .Values.token }}",
            b"xxxxxxxxxxxxxxxx",
            b"****************",
            b"aaaaaaaaaaaaaaaa",
            b"abcabcabcabcabc",
            b"abcdefghijklmnop",
            b"1234567890",
            b"%API_KEY%",
            b"jdbc:${DB_URL:-postgres}",
            b"prefix-#{ENV['TOKEN']}",
            b"{{token}}",
        ] {
            assert!(
                placeholder_reason(p).is_some(),
                "{}",
                String::from_utf8_lossy(p)
            );
        }
    }

    #[test]
    fn real_looking_values_pass() {
        for s in [
            &b"AKIAZ3MSJV4WWNXUFTBQ"[..],
            b"Zr8vQ2mN7pL4xK9w",
            b"ghp_R4nD0mT0k3nV4lu3Zq8Wm2Lp5Xc7Vb9Nd1Fh",
            b"s3cr3t-Pa55w0rd!",
            b"hunter2hunter42",
            // Random keys with punctuation (Django's alphabet has `$`, `%`, `(`, `#`):
            // a template's opener there by chance is not a template.
            b"k)!w2!_%(eu2dt6dz*8r13${o2971*%vcs=5x^yxj^r^psvqne",
            b"1_0t1lya@txonfcvi$&%8axn5em=2giul^zn#{ne=$w%o_a)9=",
            b"4z(dj06bn+@&ym_9bn_#rxl2=duz-2^h*zrkr@1fh&scv56edo{{",
        ] {
            assert_eq!(
                placeholder_reason(s),
                None,
                "{}",
                String::from_utf8_lossy(s)
            );
        }
    }

    /// `lacks_evidence` on a line whose match is `whole` (a sub-slice of the line) and
    /// whose value is `secret` (a sub-slice of the match), as the matcher calls it.
    fn evidence(kind: Kind, line: &str, whole: &str, secret: &str) -> Option<&'static str> {
        let l = line.as_bytes();
        let w0 = line.find(whole).expect("whole in line");
        let w = &l[w0..w0 + whole.len()];
        let s0 = whole.rfind(secret).expect("secret in whole");
        lacks_evidence(kind, &w[s0..s0 + secret.len()], w, l)
    }

    #[test]
    fn names_references_and_examples_lack_evidence() {
        let g = Kind::Generic;
        for (line, whole, secret) in [
            // Enum constants, identifiers, type annotations.
            (
                "  submitPassword: SIGN_UP_V2_SUBMIT_PASSWORD,",
                "submitPassword: SIGN_UP_V2_SUBMIT_PASSWORD,",
                "SIGN_UP_V2_SUBMIT_PASSWORD",
            ),
            (
                "  withCredentials: defaultToConfig2,",
                "withCredentials: defaultToConfig2,",
                "defaultToConfig2",
            ),
            (
                "  apiKey: SensitiveString2048;",
                "apiKey: SensitiveString2048;",
                "SensitiveString2048",
            ),
            (
                "  KdcAdminPassword: XmlStringMaxLen256;",
                "KdcAdminPassword: XmlStringMaxLen256;",
                "XmlStringMaxLen256",
            ),
            (
                "exports.AuthenticationMD5Password = AuthenticationMD5Password;",
                "exports.AuthenticationMD5Password = AuthenticationMD5Password;",
                "AuthenticationMD5Password",
            ),
            (
                "jwt.AccessToken = AccessToken_1.default;",
                "jwt.AccessToken = AccessToken_1.default;",
                "AccessToken_1.default",
            ),
            (
                "let password = options.credentials?.password;",
                "password = options.credentials?.password;",
                "options.credentials?.password",
            ),
            (
                "r.token=r._compileUnsafe=r.compile=void 0",
                "r.token=r._compileUnsafe=r.compile=void",
                "r._compileUnsafe=r.compile=void",
            ),
            (
                "  hint_password: 'auth.hints.minLength',",
                "hint_password: 'auth.hints.minLength'",
                "auth.hints.minLength",
            ),
            // Header names, routes, CSS selectors, templates, format strings.
            (
                "const T = \"x-aws-ec2-metadata-token\";",
                "T = \"x-aws-ec2-metadata-token\"",
                "x-aws-ec2-metadata-token",
            ),
            (
                "this.addPassword = \"#add-password\"",
                "this.addPassword = \"#add-password\"",
                "#add-password",
            ),
            (
                "RESET_PASSWORD_ROUTE: /account/reset-password",
                "RESET_PASSWORD_ROUTE: /account/reset-password",
                "/account/reset-password",
            ),
            (
                "db_password: \"user:%s\"",
                "db_password: \"user:%s\"",
                "user:%s",
            ),
            (
                "auth_token = '{auth_token}'",
                "auth_token = '{auth_token}'",
                "{auth_token}",
            ),
            (
                "vcenter_password: @VMWARE_PASSWORD",
                "vcenter_password: @VMWARE_PASSWORD",
                "@VMWARE_PASSWORD",
            ),
            (
                "api_key = __API_KEY_VALUE__",
                "api_key = __API_KEY_VALUE__",
                "__API_KEY_VALUE__",
            ),
            // Placeholders, documented and sequential values.
            (
                "//   token: 'ghp_PersonalAccessToken01245678900000000',",
                "token: 'ghp_PersonalAccessToken01245678900000000'",
                "ghp_PersonalAccessToken01245678900000000",
            ),
            (
                "token = \"ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXJ\"",
                "token = \"ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXJ\"",
                "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXJ",
            ),
            (
                "\"TemporaryPassword\": \"This-is-my-test-99!\",",
                "\"TemporaryPassword\": \"This-is-my-test-99!\"",
                "This-is-my-test-99!",
            ),
            (
                "client_secret = 'a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6'",
                "client_secret = 'a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6'",
                "a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6",
            ),
            (
                "api_key = \"abcdefg12346\"",
                "api_key = \"abcdefg12346\"",
                "abcdefg12346",
            ),
            (
                "\"PurchaseToken\": \"eyJ2IjoiMSIsInMiOjEsImMiOi...\",",
                "\"PurchaseToken\": \"eyJ2IjoiMSIsInMiOjEsImMiOi...\"",
                "eyJ2IjoiMSIsInMiOjEsImMiOi...",
            ),
            (
                "password: \"Admin12345\"",
                "password: \"Admin12345\"",
                "Admin12345",
            ),
            // Key context: pagination tokens, ARNs, comparisons.
            (
                "\"ChangeToken\": \"abcd12f2-46da-4fdb-b8d5-fbd4c466928f\",",
                "\"ChangeToken\": \"abcd12f2-46da-4fdb-b8d5-fbd4c466928f\"",
                "abcd12f2-46da-4fdb-b8d5-fbd4c466928f",
            ),
            (
                "\"NextToken\": \"U2FsdGVkX18vvPlOqb7RDrWRWVFBJI46MOIAb+nZmRJmR15NoRi2gm13sdQEn3O\",",
                "\"NextToken\": \"U2FsdGVkX18vvPlOqb7RDrWRWVFBJI46MOIAb+nZmRJmR15NoRi2gm13sdQEn3O\"",
                "U2FsdGVkX18vvPlOqb7RDrWRWVFBJI46MOIAb+nZmRJmR15NoRi2gm13sdQEn3O",
            ),
            (
                "\"ARN\": \"arn:aws:secretsmanager:us-west-2:123456789012:secret:MyDbCreds-a1b2c3\",",
                "secret:MyDbCreds-a1b2c3\"",
                "MyDbCreds-a1b2c3",
            ),
            (
                "if api_key == \"Zr8vQ2mN7pL4xK9wT1bYc6Hd\":",
                "api_key == \"Zr8vQ2mN7pL4xK9wT1bYc6Hd\"",
                "Zr8vQ2mN7pL4xK9wT1bYc6Hd",
            ),
            // A truncated JWT, and documentation JWTs.
            (
                "access_token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdW",
                "access_token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdW",
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdW",
            ),
            (
                "token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg'",
                "token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg'",
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg",
            ),
            // Stock credentials in connection strings.
            (
                "sqla+postgresql://scott:tiger@localhost/mydatabase",
                "postgresql://scott:tiger@localhost",
                "tiger",
            ),
            (
                "url: \"redis://alice:foobared@awesome.redis.server:6380\",",
                "redis://alice:foobared@awesome.redis.server",
                "foobared",
            ),
            (
                "mongodb://val:psw@127.0.0.1:27017/mydb",
                "mongodb://val:psw@127.0.0.1",
                "psw",
            ),
            (
                "postgres://user:password@localhost/db",
                "postgres://user:password@localhost",
                "password",
            ),
            (
                "mysql://root:Xk82mPq1@localhost/app",
                "mysql://root:Xk82mPq1@localhost",
                "Xk82mPq1",
            ),
        ] {
            assert!(evidence(g, line, whole, secret).is_some(), "{line}");
        }
    }

    #[test]
    fn literal_secrets_show_evidence() {
        for (kind, line, whole, secret) in [
            (
                Kind::Generic,
                "DB_PASSWORD=ntFtz0KK_iUv%Ga5",
                "DB_PASSWORD=ntFtz0KK_iUv%Ga5",
                "ntFtz0KK_iUv%Ga5",
            ),
            (
                Kind::Generic,
                "spring.datasource.password: E7fBrYHgLqzPpBdvpepr",
                "spring.datasource.password: E7fBrYHgLqzPpBdvpepr",
                "E7fBrYHgLqzPpBdvpepr",
            ),
            (
                Kind::Generic,
                "{\"adminPassword\": \"B-c4JitgZ&Haa+\"}",
                "\"adminPassword\": \"B-c4JitgZ&Haa+\"",
                "B-c4JitgZ&Haa+",
            ),
            (
                Kind::Generic,
                "jwt_signing_key: \"mmavFoPjlL5COKJLPBV/H7SJ6j1PBJbyDRg3F/6bUQeq\"",
                "jwt_signing_key: \"mmavFoPjlL5COKJLPBV/H7SJ6j1PBJbyDRg3F/6bUQeq\"",
                "mmavFoPjlL5COKJLPBV/H7SJ6j1PBJbyDRg3F/6bUQeq",
            ),
            (
                Kind::Generic,
                "SECRET_KEY_BASE=b0c22009107b269756659b998deef6d7cd0ab758d1be9a6a50b9a8b993b86998",
                "SECRET_KEY_BASE=b0c22009107b269756659b998deef6d7cd0ab758d1be9a6a50b9a8b993b86998",
                "b0c22009107b269756659b998deef6d7cd0ab758d1be9a6a50b9a8b993b86998",
            ),
            (
                Kind::Generic,
                "HTTPS_PROXY=http://proxyuser:zAQPjecz2o26K6aE@proxy.corp:3128",
                "http://proxyuser:zAQPjecz2o26K6aE@proxy.corp",
                "zAQPjecz2o26K6aE",
            ),
            (
                Kind::Context,
                "DATABASE_URL=postgres://app_rw:vtNPSZy#yApk2.f=mI@db.prod.internal:5432/orders",
                "postgres://app_rw:vtNPSZy#yApk2.f=mI@db.prod.internal",
                "vtNPSZy#yApk2.f=mI",
            ),
            (
                Kind::Context,
                "CELERY_BROKER_URL=\"rediss://default:cyTPWXbb7NVefzzIkrSweJ8bdps3@dsv8h52m.cache.windows.net:6380/0\"",
                "rediss://default:cyTPWXbb7NVefzzIkrSweJ8bdps3@dsv8h52m.cache.windows.net",
                "cyTPWXbb7NVefzzIkrSweJ8bdps3",
            ),
            (
                Kind::Context,
                "ENV RABBITMQ_DEFAULT_PASS=Z+Di%iRWga4=owrn",
                "RABBITMQ_DEFAULT_PASS=Z+Di%iRWga4=owrn",
                "Z+Di%iRWga4=owrn",
            ),
            (
                Kind::Context,
                "aws_secret_access_key = 1emF4K8m28HbVzgyMREUaU8KO3ZuuiypepfnRBcS",
                "aws_secret_access_key = 1emF4K8m28HbVzgyMREUaU8KO3ZuuiypepfnRBcS",
                "1emF4K8m28HbVzgyMREUaU8KO3ZuuiypepfnRBcS",
            ),
            (
                Kind::Context,
                "<password>{6EoyKEGFmGMdoxiQ7YFFDbqDq2AI00ArUUdrrf4pwBxp}</password>",
                "<password>{6EoyKEGFmGMdoxiQ7YFFDbqDq2AI00ArUUdrrf4pwBxp}</password>",
                "{6EoyKEGFmGMdoxiQ7YFFDbqDq2AI00ArUUdrrf4pwBxp}",
            ),
            // A context rule's format was fixed by its regex: no checksum wanted.
            (
                Kind::Context,
                "gpr.key=ghp_mOVuBSRIMhCRurBRUJ8YHM7zrpfkvu4PQRnh",
                "gpr.key=ghp_mOVuBSRIMhCRurBRUJ8YHM7zrpfkvu4PQRnh",
                "ghp_mOVuBSRIMhCRurBRUJ8YHM7zrpfkvu4PQRnh",
            ),
            (
                Kind::Generic,
                "SMTP_PASSWORD=Winter51!Coffee",
                "SMTP_PASSWORD=Winter51!Coffee",
                "Winter51!Coffee",
            ),
            (
                Kind::Generic,
                "ADMIN_PASSWORD=Tr0ub4dor&3",
                "ADMIN_PASSWORD=Tr0ub4dor&3",
                "Tr0ub4dor&3",
            ),
        ] {
            assert_eq!(evidence(kind, line, whole, secret), None, "{line}");
        }
    }

    /// A tiny deterministic generator for random-value tests.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_values_show_evidence() {
        let alphabets: [&[u8]; 5] = [
            b"0123456789abcdef",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/",
            b"abcdefghijklmnopqrstuvwxyz234567",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!@#%^&*-_+=.",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for alphabet in alphabets {
            let mut rejected = Vec::new();
            for i in 0..2000usize {
                let len = 12 + i % 53;
                let v: Vec<u8> = (0..len)
                    .map(|_| alphabet[(xorshift(&mut state) % alphabet.len() as u64) as usize])
                    .collect();
                let v = String::from_utf8_lossy(&v);
                let env = format!("API_TOKEN={v}");
                let code = format!("  apiToken: {v},");
                for (line, whole) in [(&env, &env[..]), (&code, &code[2..code.len() - 1])] {
                    if let Some(r) = evidence(Kind::Generic, line, whole, &v) {
                        rejected.push((line.clone(), r));
                    }
                }
            }
            // At most one random value in a thousand is taken for a name or placeholder.
            assert!(rejected.len() <= 2, "{rejected:?}");
        }
    }

    #[test]
    fn words_and_wordiness() {
        let w = |s: &str| -> Vec<String> {
            words(s.as_bytes())
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect()
        };
        assert_eq!(w("HTTPServerError2"), ["HTTP", "Server", "Error", "2"]);
        assert_eq!(w("RESET_PASSWORD_V2"), ["RESET", "PASSWORD", "V", "2"]);
        assert_eq!(w("x-aws-ec2"), ["x", "aws", "ec", "2"]);
        for s in [
            "NonEmptyMaxLength64String",
            "defaultToConfig2",
            "SIGN_UP_V2_SUBMIT",
        ] {
            assert!(is_wordy(s.as_bytes()), "{s}");
        }
        for s in [
            "E7fBrYHgLqzPpBdvpepr",
            "ufwcig0zen9skyd545jc0fkq813ghar2",
            "kqzxvbnmwrtplk",
        ] {
            assert!(!is_wordy(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn stock_passwords() {
        for s in [
            "tiger",
            "foobared",
            "Admin12345",
            "password1",
            "supersecret",
            "p@ssw0rd",
            "changeit",
        ] {
            assert!(is_stock_password(s.as_bytes()), "{s}");
        }
        for s in ["Admin2024x", "zAQPjecz2o26K6aE", "rootbeer7", "12345678"] {
            assert!(!is_stock_password(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn entropy_shortfall_fits_length_and_alphabet() {
        assert!((expected_entropy(64, 16) - 3.8).abs() < 0.1);
        assert!((expected_entropy(40, 64) - 4.9).abs() < 0.15);
        assert!(
            entropy_shortfall(b"b0c22009107b269756659b998deef6d7cd0ab758d1be9a6a50b9a8b993b86998")
                < 0.5
        );
        assert!(entropy_shortfall(b"Aaaaaaaa1111111!") > 1.5);
        assert!(entropy_shortfall(b"abababababababababababab12") > 1.5);
    }

    #[test]
    fn hmac_and_documentation_jwts() {
        // RFC 4231 test case 2.
        let mac = hmac(
            64,
            digest::<sha2::Sha256>,
            b"Jefe",
            b"what do ya want for nothing?",
        );
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // jwt.io's example (placeholder claims, published key) and PyJWT's (key "secret").
        for doc in [
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg",
        ] {
            assert!(!Structure::Jwt.verify(doc.as_bytes()), "{doc}");
        }
        let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
        assert!(
            !Structure::Jwt.verify(jwt(hs, r#"{"sub":"u","email":"a@example.com"}"#).as_bytes())
        );
        assert!(!Structure::Jwt.verify(jwt(hs, r#"{"account":"111111111111"}"#).as_bytes()));
    }
}
