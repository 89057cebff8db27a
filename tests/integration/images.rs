//! The images the tests and the demo share: planted secrets in known places.

use crate::fixture::{Entry, Image, Layer};

pub const AWS_KEY_ID: &str = "AKIAZ3MSJV4WWNXUFTBQ";
pub const GITHUB_PAT: &str = "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";
pub const GITHUB_APP: &str = "ghs_oOOL8dKLzdocJ2isAjIhKtJ0RlgLKO24tJGF";
pub const NPM_TOKEN: &str = "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";

pub fn pem_key() -> String {
    let body = "ckmb+hIeg2sqwVcm7n1rCvarE8OOksrg0VBXsVmYf5TMdBHXF/FFebKqEA+7s0+lk/6u0nJIt2Ljq1gF8HZaK5wdfg83xEkhvT9lZOrffxQqcmaMR+Ij0W7djEe0avxbruJh9TsmFS0mO6g7A3zUli5DSAEla4henJBR8yCw24PznqetvQ105t7H89+uzI9kZWZkGnuiZg8wEfw1cCkcV5kNGgCRJokZ8l2dBhLfNZ1gJqJA9FiaXXkfHdl8/vp3entPFSQav1e9Q3rUsSmEBTTz84dcJbCL6gbCh0z6pN0XsthChF3oKlvFOYiKx4BUojmcz8n8wtoxzj3RZr3NOjOEflu7B/0Hykd4QjGxmvRYcs7vufxZ9PldFDgaOngyVjR7n/zmnNcAeuin";
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The reference image: secrets that are present, deleted, overwritten, hidden by an
/// opaque directory, hard-linked, and in metadata; layers in every compression.
pub fn reference_image() -> Image {
    Image::new("corp/app:1.2")
        .env("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env(&format!("GITHUB_TOKEN={GITHUB_APP}"))
        .label("maintainer", "team@corp.example")
        .cmd(&["/app/run"])
        .step(
            "ADD rootfs.tar.gz / # buildkit",
            Layer::new(vec![
                Entry::dir("etc/"),
                Entry::file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
                Entry::dir("app/"),
                Entry::file("app/.env", format!("DEBUG=false\nAWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
                Entry::symlink("app/shadow", "/etc/shadow"),
            ])
            .gzip(),
        )
        .empty_step("ENV GITHUB_TOKEN=redacted-in-history")
        .step(
            "COPY .npmrc /root/.npmrc # buildkit",
            Layer::new(vec![
                Entry::dir("root/"),
                Entry::file("root/.npmrc", format!("registry=https://npm.example.test/\n//npm.example.test/:_authToken={NPM_TOKEN}\n")),
            ])
            .zstd(),
        )
        .step(
            "RUN rm /app/.env && install -D key.pem /opt/cfg/key.pem",
            Layer::new(vec![
                Entry::whiteout("app/.env"),
                Entry::dir("opt/cfg/"),
                Entry::file("opt/cfg/key.pem", pem_key()),
            ]),
        )
        .step(
            "RUN echo registry=https://npm.example.test/ > /root/.npmrc && rm -rf /opt/cfg && mkdir /opt/cfg",
            Layer::new(vec![
                Entry::file("root/.npmrc", "registry=https://npm.example.test/\n"),
                Entry::dir("opt/cfg/"),
                Entry::opaque("opt/cfg"),
                Entry::dir("srv/"),
                Entry::file("srv/token.txt", format!("# deploy\ntoken: {GITHUB_PAT}\n")),
                Entry::hardlink("srv/token.link", "srv/token.txt"),
            ])
            .gzip(),
        )
}
