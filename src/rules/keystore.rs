//! Java keystores (JKS, JCEKS, PKCS#12) that open with a default password and hold a
//! private or secret key: whoever pulls the image has the key, since the password is
//! the one every tutorial and tool default uses (`changeit`, `changeme`, `password`…).
//!
//! Opening means checking the store's integrity with the password, never decrypting:
//! JKS and JCEKS end in SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ the store);
//! a PKCS#12 file ends in an HMAC of its contents under a key derived from the
//! password (RFC 7292, appendix B). Key entries are counted from the structure: JKS
//! and JCEKS entry tags, PKCS#12 key bags in the unencrypted contents. A trust store
//! (certificates only, such as the JDK's `cacerts`, which opens with `changeit`) is
//! not a finding.

use super::filters::{HashFn, digest, hmac};
use sha1::Sha1;
use sha2::Digest as _;
use std::ops::Range;

/// The passwords tried, most common first: the JDK's and keytool's documented
/// defaults, and what tutorials and framework samples use.
pub const DEFAULT_PASSWORDS: &[&str] = &[
    "changeit",
    "changeme",
    "password",
    "secret",
    "",
    "123456",
    "keystore",
    "storepass",
    "tomcat",
    "jetty",
];

/// Most PKCS#12 MAC iterations tried: a file asking more is not opened (a crafted
/// count must not stall a scan; tools default to 2048 and OpenSSL 3 to 2048 too).
const MAX_ITERATIONS: u64 = 100_000;

/// What opened, and where its first key entry is.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub format: &'static str,
    pub password: &'static str,
    /// Private and secret key entries.
    pub keys: usize,
    /// The bytes of the first key entry (its protected key), the finding's place.
    pub first_key: Range<usize>,
}

/// Whether `data` is worth trying: the JKS or JCEKS magic, or the start of a PKCS#12
/// PFX (a SEQUENCE whose version is 3, then a ContentInfo of type data).
pub fn looks_like_keystore(data: &[u8]) -> bool {
    data.starts_with(&[0xFE, 0xED, 0xFE, 0xED])
        || data.starts_with(&[0xCE, 0xCE, 0xCE, 0xCE])
        || pfx_parts(data).is_some()
}

/// The keystore `data` is, opened with the first default password that checks out,
/// if it holds at least one key entry.
pub fn open_with_default_password(data: &[u8]) -> Option<Opened> {
    if data.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) || data.starts_with(&[0xCE, 0xCE, 0xCE, 0xCE]) {
        return open_jks(data);
    }
    open_pkcs12(data)
}

fn utf16be(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// A bounds-checked reader over big-endian fields.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn u32(&mut self) -> Option<usize> {
        self.take(4)
            .and_then(|b| usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok())
    }
    fn utf(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

fn open_jks(data: &[u8]) -> Option<Opened> {
    let format = if data[0] == 0xFE { "JKS" } else { "JCEKS" };
    let body = data.len().checked_sub(20)?;
    let (signed, digest) = data.split_at(body);
    let password = DEFAULT_PASSWORDS.iter().copied().find(|p| {
        let mut h = Sha1::new();
        h.update(utf16be(p));
        h.update(b"Mighty Aphrodite");
        h.update(signed);
        h.finalize().as_slice() == digest
    })?;
    let (keys, first_key) = jks_keys(signed)?;
    (keys > 0).then_some(Opened {
        format,
        password,
        keys,
        first_key,
    })
}

/// Counts the key entries of a JKS/JCEKS store (tag 1, a private key; tag 3, a JCEKS
/// secret key, a serialized object that ends the walk since its length is not
/// stored) and the range of the first.
fn jks_keys(signed: &[u8]) -> Option<(usize, Range<usize>)> {
    let mut r = Reader {
        data: signed,
        pos: 4,
    };
    let version = r.u32()?;
    let count = r.u32()?;
    let mut keys = 0;
    let mut first: Option<Range<usize>> = None;
    for _ in 0..count {
        let tag = r.u32()?;
        r.utf()?; // alias
        r.take(8)?; // creation time
        match tag {
            1 => {
                let n = r.u32()?;
                let start = r.pos;
                r.take(n)?;
                keys += 1;
                first.get_or_insert(start..start + n);
                let chain = r.u32()?;
                for _ in 0..chain {
                    skip_certificate(&mut r, version)?;
                }
            }
            2 => skip_certificate(&mut r, version)?,
            3 => {
                keys += 1;
                first.get_or_insert(r.pos..signed.len());
                break;
            }
            _ => return None,
        }
    }
    Some((keys, first.unwrap_or(0..0)))
}

fn skip_certificate(r: &mut Reader<'_>, version: usize) -> Option<()> {
    if version == 2 {
        r.utf()?; // certificate type, "X.509"
    }
    let n = r.u32()?;
    r.take(n).map(|_| ())
}

/// A DER element: its tag, and the ranges of its contents and of the whole element.
struct Der {
    tag: u8,
    contents: Range<usize>,
    end: usize,
}

/// The DER (or BER definite-length) element at `pos` of `data`.
fn der_at(data: &[u8], pos: usize) -> Option<Der> {
    let tag = *data.get(pos)?;
    let first = *data.get(pos + 1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None; // indefinite or absurd lengths are not read
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*data.get(pos + 2 + i)?);
        }
        (len, 2 + n)
    };
    let start = pos.checked_add(header)?;
    let end = start.checked_add(len)?;
    (end <= data.len()).then_some(Der {
        tag,
        contents: start..end,
        end,
    })
}

/// The elements directly inside a constructed element's contents.
fn children(data: &[u8], contents: &Range<usize>) -> Vec<Der> {
    let mut out = Vec::new();
    let mut pos = contents.start;
    while pos < contents.end {
        let Some(d) = der_at(&data[..contents.end], pos) else {
            break;
        };
        pos = d.end;
        out.push(d);
    }
    out
}

const OID_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
const OID_SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
/// keyBag and pkcs8ShroudedKeyBag (1.2.840.113549.1.12.10.1.1 and .2), as DER.
const OID_KEY_BAGS: [&[u8]; 2] = [
    &[
        0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x01,
    ],
    &[
        0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02,
    ],
];

/// The parts of a PFX a MAC check needs.
struct Pfx<'a> {
    /// The authSafe's content octets: what the MAC covers.
    auth_safe: Range<usize>,
    hash: &'static str,
    digest: &'a [u8],
    salt: &'a [u8],
    iterations: u64,
}

fn pfx_parts(data: &[u8]) -> Option<Pfx<'_>> {
    let top = der_at(data, 0)?;
    if top.tag != 0x30 {
        return None;
    }
    let parts = children(data, &top.contents);
    let [version, auth, mac, ..] = parts.as_slice() else {
        return None;
    };
    if version.tag != 0x02 || data[version.contents.clone()] != [3] || auth.tag != 0x30 {
        return None;
    }
    // authSafe: ContentInfo { data OID, [0] { OCTET STRING } }
    let ci = children(data, &auth.contents);
    let [oid, explicit, ..] = ci.as_slice() else {
        return None;
    };
    if oid.tag != 0x06 || data[oid.contents.clone()] != *OID_DATA || explicit.tag != 0xA0 {
        return None;
    }
    let octets = der_at(data, explicit.contents.start)?;
    if octets.tag != 0x04 {
        return None;
    }
    // macData: { DigestInfo { AlgorithmIdentifier { OID, … }, OCTET STRING }, salt, iterations }
    let md = children(data, &mac.contents);
    let [digest_info, salt, rest @ ..] = md.as_slice() else {
        return None;
    };
    let di = children(data, &digest_info.contents);
    let [alg, digest, ..] = di.as_slice() else {
        return None;
    };
    let alg_oid = children(data, &alg.contents).into_iter().next()?;
    let hash = match &data[alg_oid.contents.clone()] {
        o if o == OID_SHA1 => "sha1",
        o if o == OID_SHA256 => "sha256",
        o if o == OID_SHA512 => "sha512",
        _ => return None,
    };
    let iterations = match rest.first() {
        Some(i) if i.tag == 0x02 && i.contents.len() <= 8 => data[i.contents.clone()]
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)),
        Some(_) => return None,
        None => 1,
    };
    (digest.tag == 0x04 && salt.tag == 0x04).then(|| Pfx {
        auth_safe: octets.contents,
        hash,
        digest: &data[digest.contents.clone()],
        salt: &data[salt.contents.clone()],
        iterations,
    })
}

fn open_pkcs12(data: &[u8]) -> Option<Opened> {
    let pfx = pfx_parts(data)?;
    if pfx.iterations == 0 || pfx.iterations > MAX_ITERATIONS {
        return None;
    }
    let content = &data[pfx.auth_safe.clone()];
    // Key bags in the unencrypted SafeContents (where PKCS#12 writers put the shrouded
    // private key; certificates usually go in the encrypted part).
    let mut keys = 0;
    let mut first: Option<Range<usize>> = None;
    for oid in OID_KEY_BAGS {
        for (i, _) in content
            .windows(oid.len())
            .enumerate()
            .filter(|(_, w)| *w == oid)
        {
            keys += 1;
            // The bag's value, `[0] EXPLICIT`, follows its type: the protected key.
            let at = pfx.auth_safe.start + i + oid.len();
            let value = der_at(data, at)
                .filter(|d| d.tag == 0xA0)
                .map_or(at - oid.len()..at, |d| d.contents);
            if first.as_ref().is_none_or(|f| value.start < f.start) {
                first = Some(value);
            }
        }
    }
    let first_key = first?;
    let password = DEFAULT_PASSWORDS.iter().copied().find(|p| {
        // A password is a BMPString with a two-byte terminator; the empty password
        // is either that terminator alone (Java, OpenSSL's "") or no bytes at all.
        let mut candidates = vec![[utf16be(p), vec![0, 0]].concat()];
        if p.is_empty() {
            candidates.push(Vec::new());
        }
        candidates
            .iter()
            .any(|pw| pkcs12_mac(pfx.hash, pw, pfx.salt, pfx.iterations, content) == pfx.digest)
    })?;
    Some(Opened {
        format: "PKCS#12",
        password,
        keys,
        first_key,
    })
}

/// The MAC of a PKCS#12 file: HMAC over `content` with the key RFC 7292 B.2 derives
/// (ID 3) from the password, salt and iteration count.
fn pkcs12_mac(h: &str, password: &[u8], salt: &[u8], iterations: u64, content: &[u8]) -> Vec<u8> {
    let (hash, v): (HashFn, usize) = match h {
        "sha1" => (digest::<Sha1>, 64),
        "sha256" => (digest::<sha2::Sha256>, 64),
        _ => (digest::<sha2::Sha512>, 128),
    };
    let key = pkcs12_kdf(hash, v, password, salt, iterations);
    hmac(v, hash, &key, content)
}

/// RFC 7292 appendix B.2 with ID 3 (MAC key): one block of the hash, whose input
/// block is `v` bytes.
fn pkcs12_kdf(hash: HashFn, v: usize, password: &[u8], salt: &[u8], iterations: u64) -> Vec<u8> {
    let fill = |s: &[u8]| -> Vec<u8> {
        if s.is_empty() {
            return Vec::new();
        }
        let n = v * s.len().div_ceil(v);
        s.iter().copied().cycle().take(n).collect()
    };
    let d = vec![3u8; v];
    let i = [fill(salt), fill(password)].concat();
    let mut a = hash(&[&d, &i]);
    for _ in 1..iterations {
        a = hash(&[&a]);
    }
    a
}

/// A JKS store as keytool writes it (version 2), sealed with `password`: a trusted
/// certificate entry, after a private key entry with a chain of one certificate when
/// `with_key`. The key and certificates are stand-ins (a keystore is not parsed
/// deeper than its entries).
pub fn sample_jks(password: &str, with_key: bool) -> Vec<u8> {
    let mut b = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2];
    b.extend_from_slice(&(1 + u32::from(with_key)).to_be_bytes());
    let utf = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(s.len() as u16).to_be_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    let cert = |b: &mut Vec<u8>| {
        utf(b, "X.509");
        b.extend_from_slice(&5u32.to_be_bytes());
        b.extend_from_slice(&[0x30, 0x03, 0x02, 0x01, 0x01]);
    };
    if with_key {
        b.extend_from_slice(&1u32.to_be_bytes());
        utf(&mut b, "server");
        b.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
        let key = [0x30, 0x06, 0x04, 0x04, 0x8e, 0x21, 0x5f, 0xa3];
        b.extend_from_slice(&(key.len() as u32).to_be_bytes());
        b.extend_from_slice(&key);
        b.extend_from_slice(&1u32.to_be_bytes());
        cert(&mut b);
    }
    b.extend_from_slice(&2u32.to_be_bytes());
    utf(&mut b, "root-ca");
    b.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
    cert(&mut b);
    let mut h = Sha1::new();
    h.update(utf16be(password));
    h.update(b"Mighty Aphrodite");
    h.update(&b);
    let digest = h.finalize();
    b.extend_from_slice(&digest);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jks_store_opens_with_its_default_password_and_counts_its_keys() {
        let ks = sample_jks("changeit", true);
        assert!(looks_like_keystore(&ks));
        let o = open_with_default_password(&ks).unwrap();
        assert_eq!((o.format, o.password, o.keys), ("JKS", "changeit", 1));
        assert_eq!(
            &ks[o.first_key.clone()],
            &[0x30, 0x06, 0x04, 0x04, 0x8e, 0x21, 0x5f, 0xa3]
        );
        // A trust store (certificates only) is not a finding, whatever its password.
        assert_eq!(
            open_with_default_password(&sample_jks("changeit", false)),
            None
        );
        // A store sealed with a password of its own does not open.
        assert_eq!(
            open_with_default_password(&sample_jks("Vq7#pL2x!mR9", true)),
            None
        );
        // Cut or damaged stores are refused without a panic.
        for n in 0..ks.len() {
            let _ = open_with_default_password(&ks[..n]);
        }
        let mut bad = ks.clone();
        bad[12] ^= 0xFF;
        assert_eq!(open_with_default_password(&bad), None);
    }

    /// A PKCS#12 file made by `openssl pkcs12 -export -passout pass:changeit` (OpenSSL
    /// 3, SHA-256 MAC, 2048 iterations) of a throwaway EC key and its certificate: a
    /// known answer for the MAC key derivation.
    const OPENSSL_P12: &str = include_str!("keystore-test.p12.b64");

    #[test]
    fn a_pkcs12_file_from_openssl_opens_with_its_default_password() {
        use base64::Engine as _;
        let p12 = base64::engine::general_purpose::STANDARD
            .decode(OPENSSL_P12.split_whitespace().collect::<String>())
            .unwrap();
        assert!(looks_like_keystore(&p12));
        let o = open_with_default_password(&p12).unwrap();
        assert_eq!((o.format, o.password, o.keys), ("PKCS#12", "changeit", 1));
        // Any change to what the MAC covers and it no longer opens.
        let pfx = pfx_parts(&p12).unwrap();
        let mut bad = p12.clone();
        bad[pfx.auth_safe.end - 1] ^= 1;
        assert_eq!(open_with_default_password(&bad), None);
        for n in 0..p12.len() {
            let _ = open_with_default_password(&p12[..n]);
        }
    }
}
