//! A small DevTools-protocol client for a real headless Chromium, spoken over
//! `--remote-debugging-pipe` (JSON messages ending in NUL on fds 3 and 4): no port, no
//! websocket, no browser download. Opens one page, records every event, evaluates JS
//! and sends trusted mouse clicks.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Debian's `chromium` package puts its launcher here.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one command or awaited event may take (the suite runs tests in parallel).
const WAIT: Duration = Duration::from_secs(60);

/// A headless Chromium with one page attached; killed on drop.
pub struct Chromium {
    child: Child,
    to: PipeWriter,
    from: Receiver<Value>,
    next_id: u64,
    /// Every event received so far, in order.
    pub events: Vec<Value>,
    session: String,
    stderr: std::path::PathBuf,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts Chromium with a fresh profile and opens a blank page with the Runtime,
    /// Log, Network and Page domains enabled and `init_js` set to run before any page
    /// script.
    pub fn start(init_js: &str) -> Chromium {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} not found: the HTML report tests need a real Chromium; install \
             Debian's `chromium` package (apt-get install chromium)"
        );
        let profile = tempfile::tempdir().unwrap();
        let stderr = profile.path().join("stderr.log");
        let (from_chromium, chromium_out) = std::io::pipe().unwrap();
        let (chromium_in, to_chromium) = std::io::pipe().unwrap();
        let (cin, cout) = (chromium_in.as_raw_fd(), chromium_out.as_raw_fd());
        let mut cmd = Command::new(CHROMIUM);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-default-browser-check",
            "--mute-audio",
            "--window-size=1280,900",
            "--remote-debugging-pipe",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("p").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) run between fork and exec.
        // The pipe ends are first copied above fd 9 (close-on-exec) so that placing them
        // at 3 and 4 cannot overwrite one with the other; dup2 clears close-on-exec on
        // 3 and 4, which Chromium reads and writes.
        unsafe {
            cmd.pre_exec(move || {
                let a = libc::fcntl(cin, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(cout, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMIUM}: {e}"));
        drop((chromium_in, chromium_out));
        let (tx, from) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(from_chromium);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        let Ok(v) = serde_json::from_slice::<Value>(&buf) else {
                            continue;
                        };
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut c = Chromium {
            child,
            to: to_chromium,
            from,
            next_id: 0,
            events: Vec::new(),
            session: String::new(),
            stderr,
            _profile: profile,
        };
        let target = c.browser_call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = c.browser_call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        c.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Runtime", "Log", "Network", "Page"] {
            c.call(&format!("{domain}.enable"), json!({}));
        }
        c.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": init_js }),
        );
        c
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let mut msg = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .and_then(|_| self.to.flush())
            .unwrap_or_else(|e| panic!("sending {method} to chromium: {e}"));
        self.next_id
    }

    /// The next message, or a panic naming what was awaited.
    fn recv(&mut self, deadline: Instant, what: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.from.recv_timeout(left) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!(
                "chromium: no {what} within {WAIT:?}; its stderr:\n{}",
                self.stderr_tail()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "chromium exited while waiting for {what}; its stderr:\n{}",
                self.stderr_tail()
            ),
        }
    }

    fn wait_reply(&mut self, id: u64, method: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.recv(deadline, &format!("reply to {method}"));
            if m["id"] == id {
                if let Some(e) = m.get("error") {
                    panic!("chromium: {method} failed: {e}");
                }
                return m["result"].clone();
            }
            if m.get("method").is_some() {
                self.events.push(m);
            }
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(None, method, params);
        self.wait_reply(id, method)
    }

    /// Sends a command to the page and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        let id = self.send(Some(&session), method, params);
        self.wait_reply(id, method)
    }

    /// Waits for an event of the page at or after position `from` in [`Self::events`].
    pub fn wait_event(&mut self, method: &str, from: usize) -> Value {
        let deadline = Instant::now() + WAIT;
        let mut seen = from;
        loop {
            if let Some(e) = self.events[seen..]
                .iter()
                .find(|e| e["method"] == method && e["sessionId"] == self.session.as_str())
            {
                return e.clone();
            }
            seen = self.events.len();
            let m = self.recv(deadline, &format!("event {method}"));
            if m.get("method").is_some() {
                self.events.push(m);
            }
        }
    }

    /// Opens `url` and waits for its load event.
    pub fn navigate(&mut self, url: &str) {
        let from = self.events.len();
        let r = self.call("Page.navigate", json!({ "url": url }));
        assert!(r.get("errorText").is_none(), "loading {url}: {r}");
        self.wait_event("Page.loadEventFired", from);
    }

    /// Evaluates `expr` in the page and returns its value; a thrown exception panics.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("JS threw evaluating {expr}: {ex}");
        }
        r["result"]["value"].clone()
    }

    /// A trusted left click (real input, not a synthetic DOM event) in the middle of
    /// the element `selector`, scrolled into view first.
    pub fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        ));
        let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Errors the page produced: exceptions, console errors and assertions, error log
    /// entries (CSP violations among them), failed loads, JS dialogs, and every request
    /// for anything but `page_url` itself.
    pub fn problems(&self, page_url: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self
            .events
            .iter()
            .filter(|e| e["sessionId"] == self.session.as_str())
        {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or_default() {
                "Runtime.exceptionThrown" => {
                    out.push(format!("exception: {}", p["exceptionDetails"]))
                }
                "Runtime.consoleAPICalled"
                    if matches!(p["type"].as_str(), Some("error" | "assert" | "warning")) =>
                {
                    out.push(format!("console.{}: {}", p["type"], p["args"]));
                }
                "Log.entryAdded"
                    if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) =>
                {
                    out.push(format!(
                        "log {} ({}): {}",
                        p["entry"]["level"], p["entry"]["source"], p["entry"]["text"]
                    ));
                }
                "Network.loadingFailed" => out.push(format!("failed load: {p}")),
                "Network.requestWillBeSent" if p["request"]["url"] != page_url => {
                    out.push(format!("request: {}", p["request"]["url"]));
                }
                "Page.javascriptDialogOpening" => out.push(format!("dialog: {}", p["message"])),
                _ => {}
            }
        }
        out
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let id = self.next_id + 1;
        self.next_id = id;
        let msg = format!("{{\"id\":{id},\"method\":\"Browser.close\"}}\0");
        let _ = self.to.write_all(msg.as_bytes());
        let _ = self.to.flush();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
