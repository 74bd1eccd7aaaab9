//! The HTML report in a real browser: rendered by headless Chromium through a proxy
//! that sees every request, it draws its waterfalls (the kinds' colours are on the
//! screenshot), shows a span's attributes in its details panel, and asks for nothing. Needs Chromium, so it is off the default
//! `cargo test`; `.ci/run` installs Debian's package and runs it with `--ignored`.
#![cfg(feature = "cli")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::capture::{hex, html_report, make_capture, temp_dir};

/// A proxy that only records what is asked of it: every request a browser makes goes
/// through it (loopback included). Chromium's own traffic to Google's services (time,
/// accounts, updates) is told apart by host; anything else is a request a page made.
struct CountingProxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    accepted: AtomicU64,
    handled: AtomicU64,
    sentinels: AtomicU64,
    requests: Mutex<Vec<String>>,
}

/// The host a proxied request is for (`CONNECT host:443` or `GET http://host/…`).
fn proxied_host(head: &str) -> String {
    let target = head.split_whitespace().nth(1).unwrap_or("");
    let target = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")).unwrap_or(target);
    target.split(['/', ':']).next().unwrap_or("").to_owned()
}

impl CountingProxy {
    fn start() -> CountingProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                st.accepted.fetch_add(1, Ordering::SeqCst);
                let st = st.clone();
                std::thread::spawn(move || {
                    if let Ok(mut conn) = conn {
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut head = [0u8; 512];
                        let n = std::io::Read::read(&mut conn, &mut head).unwrap_or(0);
                        let head = String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or("").to_owned();
                        let host = proxied_host(&head);
                        let chromiums_own = ["google.com", "gstatic.com", "googleapis.com", "gvt1.com"]
                            .iter()
                            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
                        if head.starts_with("SENTINEL") {
                            st.sentinels.fetch_add(1, Ordering::SeqCst);
                        } else if !chromiums_own {
                            st.requests.lock().unwrap().push(head);
                        }
                    }
                    st.handled.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        CountingProxy { port, state }
    }

    /// What pages asked for since the last call. A last connection of our own goes
    /// in behind the browser's: connections are accepted in order, so once it and
    /// every connection accepted before it are handled, nothing is missed.
    fn taken(&self) -> Vec<String> {
        let st = &self.state;
        let want = st.sentinels.load(Ordering::SeqCst) + 1;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"SENTINEL\r\n").unwrap();
        drop(s);
        let limit = std::time::Instant::now() + Duration::from_secs(60);
        while st.sentinels.load(Ordering::SeqCst) < want
            || st.handled.load(Ordering::SeqCst) < st.accepted.load(Ordering::SeqCst)
        {
            assert!(std::time::Instant::now() < limit, "the proxy's threads did not finish");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::mem::take(&mut *st.requests.lock().unwrap())
    }
}

/// Headless, every request through `proxy`, a profile of its own, none of
/// Chromium's optional background services.
fn chromium_flags(proxy: &CountingProxy, dir: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--window-size=1280,900",
        "--proxy-bypass-list=<-loopback>",
    ]
    .into_iter()
    .map(String::from)
    .chain([
        format!("--proxy-server=http://127.0.0.1:{}", proxy.port),
        format!("--user-data-dir={}", dir.join("chromium-profile").display()),
    ])
    .collect()
}

/// Renders `page` in headless Chromium through `proxy`; the screenshot's pixels.
fn screenshot(page: &Path, proxy: &CountingProxy, dir: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let shot = dir.join(format!("{}.png", page.file_stem().unwrap().to_string_lossy()));
    let out = Command::new(&chromium)
        .args(chromium_flags(proxy, dir))
        .args([format!("--screenshot={}", shot.display()), format!("file://{}", page.display())])
        .output()
        .unwrap_or_else(|e| panic!("{chromium} could not run ({e}): install Debian's chromium (.ci/run does)"));
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(step).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

/// The page's DOM after its script ran (`--dump-dom`), through `proxy`.
fn dump_dom(url: &str, proxy: &CountingProxy, dir: &Path) -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let out = Command::new(&chromium)
        .args(chromium_flags(proxy, dir))
        .args(["--dump-dom", url])
        .output()
        .unwrap_or_else(|e| panic!("{chromium} could not run ({e})"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn near(p: [u8; 3], rgb: [u8; 3]) -> bool {
    p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 6)
}

#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this with --ignored"]
fn html_renders_offline_in_headless_chromium() {
    let dir = temp_dir("chromium");
    let (file, _) = make_capture(&dir);
    let page = html_report(&dir, &file);
    let proxy = CountingProxy::start();

    // The control: a page that does ask for something is seen by the proxy.
    let control = dir.join("control.html");
    std::fs::write(&control, "<!doctype html><img src=\"http://192.0.2.1/x.png\"><p>control</p>").unwrap();
    screenshot(&control, &proxy, &dir);
    let asked = proxy.taken();
    assert!(asked.iter().any(|r| r.contains("192.0.2.1")), "the proxy sees a page's requests: {asked:?}");

    let (w, h, pixels) = screenshot(&page, &proxy, &dir);
    assert_eq!(proxy.taken(), Vec::<String>::new(), "no request left the report");
    assert_eq!((w, h), (1280, 900));
    // Drawn, not blank: the waterfall's bars in their kinds' colours (report.css).
    for (kind, rgb) in [("llm", [0x2f, 0x6f, 0xde]), ("tool", [0x1f, 0x9d, 0x6b]), ("error", [0xd1, 0x36, 0x3b])] {
        let n = pixels.iter().filter(|&&p| near(p, rgb)).count();
        assert!(n > 50, "{kind} bars drawn ({n} pixels)");
    }
    let background = pixels.iter().filter(|&&p| near(p, [0xf6, 0xf7, 0xf9]) || near(p, [0xff, 0xff, 0xff])).count();
    assert!(background < pixels.len() * 97 / 100, "more than background");

    // A span's details, as a click (or a link to it) opens them: the DOM after the
    // script ran holds its attributes in the details panel.
    let spans = common::capture::file_spans(&file);
    let llm = spans.iter().find(|s| s.name == "chat claude-3-5-haiku").unwrap();
    let id = hex(&llm.span_id);
    let dom = dump_dom(&format!("file://{}#span={id}", page.display()), &proxy, &dir);
    assert_eq!(proxy.taken(), Vec::<String>::new(), "no request left the report");
    let details = &dom[dom.find("<aside id=\"details\"").expect("the details panel")..];
    let details = &details[..details.find("</aside>").unwrap()];
    assert!(!details.starts_with("<aside id=\"details\" hidden"), "shown: {details}");
    assert!(details.contains("<h3>chat claude-3-5-haiku</h3>"), "{details}");
    assert!(details.contains("<td>gen_ai.request.model</td><td>claude-3-5-haiku</td>"), "{details}");
    assert!(details.contains(&format!("<td>span id</td><td>{id}</td>")), "{details}");
    assert!(details.contains("<td>OTLP kind</td><td>client</td>"), "{details}");
    assert_eq!(dom.matches("class=\"row").count(), spans.len(), "a row per span");
}
