//! Browser harness for the admin UI: Debian's Chromium driven through
//! chromedriver with thirtyfour, behind a small synchronous facade so a
//! journey reads top to bottom beside the blocking API client.
//!
//! Without Chromium and chromedriver the journeys are skipped with a loud
//! message; with `ROSTER_REQUIRE_BROWSER=1` (set by `.ci/run`) a missing
//! browser fails them. Every journey fails on a JavaScript error or a
//! Content-Security-Policy violation in the browser console.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use thirtyfour::prelude::*;
use thirtyfour::{BrowserLogEntry, LoggingPrefsLogLevel};

const WAIT: Duration = Duration::from_secs(15);
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("ui-screenshots")
}

pub struct Browser {
    rt: tokio::runtime::Runtime,
    driver: Option<WebDriver>,
    chromedriver: Child,
    base: String,
    name: String,
    width: RefCell<u32>,
    log: RefCell<Vec<BrowserLogEntry>>,
    pub downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh headless Chromium (its own profile) pointed at `base`, or
    /// None, after saying so loudly, when this machine has no Chromium.
    pub fn launch(base: &str, name: &str) -> Option<Self> {
        let chromium = find_program("ROSTER_CHROMIUM", &["chromium", "chromium-browser"]);
        let driver = find_program("ROSTER_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(chromedriver)) = (chromium, driver) else {
            let required = std::env::var("ROSTER_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            let message = "admin UI browser tests need Chromium and chromedriver: \
                 install them with `apt-get install chromium chromium-driver` \
                 (or set ROSTER_CHROMIUM and ROSTER_CHROMEDRIVER)";
            assert!(!required, "{message}");
            eprintln!("\n*** SKIPPED {name}: {message} ***\n");
            return None;
        };
        let port = free_port();
        let mut child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = tempfile::tempdir().expect("download dir");
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(chromium.to_str().expect("utf-8 path"))
            .unwrap();
        for arg in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .unwrap();
        caps.add_arg(&format!("--window-size={},{}", DESKTOP.0, DESKTOP.1))
            .unwrap();
        caps.add_experimental_option(
            "prefs",
            serde_json::json!({
                "download.default_directory": downloads.path(),
                "download.prompt_for_download": false,
            }),
        )
        .unwrap();
        caps.set_browser_log_level(LoggingPrefsLogLevel::All)
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let driver = loop {
            match rt.block_on(WebDriver::new(&url, caps.clone())) {
                Ok(d) => break d,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("could not start a Chromium session: {e}");
                }
            }
        };
        let browser = Browser {
            rt,
            driver: Some(driver),
            chromedriver: child,
            base: base.trim_end_matches('/').to_string(),
            name: name.to_string(),
            width: RefCell::new(DESKTOP.0),
            log: RefCell::new(Vec::new()),
            downloads,
            _profile: profile,
        };
        browser.resize(DESKTOP);
        Some(browser)
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("driver")
    }

    fn run<T>(&self, what: &str, f: impl Future<Output = WebDriverResult<T>>) -> T {
        match self.rt.block_on(f) {
            Ok(v) => v,
            Err(e) => panic!("[{}] {what}: {e}", self.name),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Loads `path` (such as `/` or `/#/tags`).
    pub fn open(&self, path: &str) {
        self.collect_log();
        let url = format!("{}{path}", self.base);
        self.run("navigate", self.driver().goto(url));
    }

    pub fn reload(&self) {
        self.collect_log();
        self.run("reload", self.driver().refresh());
    }

    pub fn back(&self) {
        self.run("back", self.driver().back());
    }

    pub fn resize(&self, (width, height): (u32, u32)) {
        self.run("resize", self.driver().set_window_rect(0, 0, width, height));
        *self.width.borrow_mut() = width;
    }

    pub fn url(&self) -> String {
        self.run("url", self.driver().current_url()).to_string()
    }

    pub fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.run("script", self.driver().execute(script, args))
            .json()
            .clone()
    }

    fn query(&self, css: &str) -> Vec<WebElement> {
        self.rt
            .block_on(self.driver().find_all(By::Css(css)))
            .unwrap_or_default()
    }

    /// Polls `check` until it is true, or fails the journey naming `what`.
    pub fn wait_until(&self, what: &str, mut check: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            if Instant::now() > deadline {
                self.screenshot(&format!("failure-{}", self.name));
                panic!("[{}] timed out waiting until {what}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first visible element matching `css`, waiting for it.
    pub fn el(&self, css: &str) -> El<'_> {
        let mut found = None;
        self.wait_until(&format!("{css} is shown"), |b| {
            found = b
                .query(css)
                .into_iter()
                .find(|e| b.rt.block_on(e.is_displayed()).unwrap_or(false));
            found.is_some()
        });
        El {
            b: self,
            e: found.expect("found above"),
        }
    }

    /// `[data-testid=id]`, waiting for it.
    pub fn testid(&self, id: &str) -> El<'_> {
        self.el(&tid(id))
    }

    /// Every element matching `css` now (no waiting).
    pub fn all(&self, css: &str) -> Vec<El<'_>> {
        self.query(css)
            .into_iter()
            .map(|e| El { b: self, e })
            .collect()
    }

    /// How many visible elements match `css` now.
    pub fn count_visible(&self, css: &str) -> usize {
        self.js(
            "return [...document.querySelectorAll(arguments[0])].filter(e => e.checkVisibility({ visibilityProperty: true })).length",
            vec![Value::from(css)],
        )
        .as_u64()
        .unwrap_or(0) as usize
    }

    pub fn exists(&self, css: &str) -> bool {
        self.count_visible(css) > 0
    }

    pub fn wait_gone(&self, css: &str) {
        self.wait_until(&format!("{css} is gone"), |b| !b.exists(css));
    }

    /// Waits until no loading indicator is shown.
    pub fn settle(&self) {
        self.wait_gone(&tid("loading"));
    }

    /// The `data-id` of every contact row shown, in order.
    pub fn row_ids(&self) -> Vec<String> {
        self.js(
            "return [...document.querySelectorAll('[data-testid=contact-row]')].map(r => r.dataset.id)",
            vec![],
        )
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Sends keys to whatever has focus.
    pub fn keys(&self, keys: impl Into<TypingData>) {
        let active = self.run("active element", self.driver().active_element());
        self.run("keys", active.send_keys(keys));
    }

    /// Holds `modifier` (Key::Control, Key::Shift) while pressing `key`.
    pub fn chord(&self, modifier: Key, key: &str) {
        let actions = self.driver().action_chain();
        self.run(
            "chord",
            actions
                .key_down(modifier.clone())
                .send_keys(key)
                .key_up(modifier)
                .perform(),
        );
    }

    /// The id of the focused element's `data-testid` (or its tag name).
    pub fn focused(&self) -> String {
        self.js(
            "const e = document.activeElement; return e ? (e.dataset.testid || e.id || e.tagName.toLowerCase()) : ''",
            vec![],
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Signs in with `key` from the sign-in screen.
    pub fn sign_in(&self, key: &str) {
        self.open("/");
        self.testid("login-key").type_text(key);
        self.testid("login-submit").click();
        self.testid("whoami");
    }

    pub fn screenshot(&self, name: &str) {
        let dir = screenshot_dir();
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}-{}.png", self.width.borrow()));
        if let Err(e) = self.rt.block_on(self.driver().screenshot(&path)) {
            eprintln!("[{}] screenshot {name}: {e}", self.name);
        }
    }

    /// Whether the page scrolls sideways (it never should).
    pub fn overflows_horizontally(&self) -> bool {
        self.js(
            "return document.documentElement.scrollWidth > window.innerWidth + 1",
            vec![],
        )
        .as_bool()
        .unwrap_or(true)
    }

    /// Elements wider than the viewport, to say what overflows.
    pub fn overflowing_elements(&self) -> Vec<String> {
        self.js(
            "const w = window.innerWidth; return [...document.querySelectorAll('body *')]
               .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 1; })
               .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.dataset.testid ? '[' + e.dataset.testid + ']' : '') + '.' + e.className)",
            vec![],
        )
        .as_array()
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
    }

    fn collect_log(&self) {
        if let Some(driver) = &self.driver
            && let Ok(entries) = self.rt.block_on(driver.browser_log())
        {
            self.log.borrow_mut().extend(entries);
        }
    }

    /// Console entries that fail a journey: JavaScript errors, CSP
    /// violations, and server errors. A 4xx the UI asked for (a bad key, a
    /// validation error) is logged by Chromium as a failed resource and is
    /// expected.
    pub fn console_problems(&self) -> Vec<String> {
        self.collect_log();
        self.log
            .borrow()
            .iter()
            .filter(|e| {
                let csp = e.message.contains("Content Security Policy");
                let expected_4xx = e
                    .message
                    .contains("Failed to load resource: the server responded with a status of 4");
                csp || (e.level == "SEVERE" && !expected_4xx)
            })
            .map(|e| {
                format!(
                    "{} {}: {}",
                    e.level,
                    e.source.as_deref().unwrap_or(""),
                    e.message
                )
            })
            .collect()
    }

    /// Ends the journey: fails it on any console problem.
    pub fn finish(mut self) {
        let problems = self.console_problems();
        self.close();
        assert!(
            problems.is_empty(),
            "[{}] the browser console reported problems:\n{}",
            self.name,
            problems.join("\n")
        );
    }

    fn close(&mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = self.rt.block_on(driver.quit());
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.driver.is_some() && std::thread::panicking() {
            self.screenshot(&format!("failure-{}", self.name));
            for p in self.console_problems() {
                eprintln!("[{}] console: {p}", self.name);
            }
        }
        self.close();
    }
}

pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

pub struct El<'a> {
    b: &'a Browser,
    pub e: WebElement,
}

impl El<'_> {
    pub fn click(&self) -> &Self {
        let b = self.b;
        b.run("scroll", self.e.scroll_into_view());
        b.run("click", self.e.click());
        self
    }

    /// Clicks while holding Shift.
    pub fn shift_click(&self) -> &Self {
        let b = self.b;
        b.run("scroll", self.e.scroll_into_view());
        b.run(
            "shift-click",
            b.driver()
                .action_chain()
                .key_down(Key::Shift)
                .click_element(&self.e)
                .key_up(Key::Shift)
                .perform(),
        );
        self
    }

    pub fn type_text(&self, text: impl Into<TypingData>) -> &Self {
        self.b.run("type", self.e.send_keys(text));
        self
    }

    /// Empties an input the way a user does (select all, delete), so the
    /// page sees input events.
    pub fn clear(&self) -> &Self {
        self.b.run("focus", self.e.click());
        self.b.run("clear", self.e.send_keys(Key::Control + "a"));
        self.b.run("clear", self.e.send_keys(Key::Backspace));
        self
    }

    pub fn replace_text(&self, text: &str) -> &Self {
        self.clear();
        self.type_text(text)
    }

    pub fn text(&self) -> String {
        self.b.run("text", self.e.text())
    }

    pub fn attr(&self, name: &str) -> Option<String> {
        self.b.run("attribute", self.e.attr(name))
    }

    pub fn value(&self) -> String {
        self.b
            .run("value", self.e.prop("value"))
            .unwrap_or_default()
    }

    /// Picks the option with `value` of a <select>, by clicking it.
    pub fn select(&self, value: &str) -> &Self {
        let option = self.b.run(
            "option",
            self.e.find(By::Css(format!("option[value=\"{value}\"]"))),
        );
        self.b.run("select", option.click());
        self
    }

    /// The first element under this one matching `css`.
    pub fn find(&self, css: &str) -> El<'_> {
        El {
            b: self.b,
            e: self.b.run(css, self.e.find(By::Css(css))),
        }
    }

    pub fn find_all(&self, css: &str) -> Vec<El<'_>> {
        self.b
            .rt
            .block_on(self.e.find_all(By::Css(css)))
            .unwrap_or_default()
            .into_iter()
            .map(|e| El { b: self.b, e })
            .collect()
    }
}
