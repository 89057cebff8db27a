//! Checks applied to every candidate secret after its rule's regex confirmed it:
//! Shannon entropy and placeholder / template / documented-example detection.

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
        }
    }
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

/// Documented example values published by providers.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
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
    if contains(s, b"${") || contains(s, b"{{") || contains(s, b"%(") || contains(s, b"#{") {
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
        ] {
            assert_eq!(
                placeholder_reason(s),
                None,
                "{}",
                String::from_utf8_lossy(s)
            );
        }
    }
}
