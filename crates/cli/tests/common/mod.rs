//! `bedrock-gates serve` for the cli crate's tests: started on a free port, its URL read from the
//! banner, killed when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

pub struct Server {
    child: Child,
    pub url: String,
    /// The admin routes' token, from the banner's `  admin token: …` line.
    // Each test binary compiles this module on its own; not every one calls the admin routes.
    #[allow(dead_code)]
    pub admin_token: String,
    /// Files the server was started with (a scenario), kept while it runs.
    _dir: Option<tempfile::TempDir>,
    // Kept open so the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// `serve --port 0` with `args` (state, scenario, …).
    pub fn start<I, S>(args: I) -> Server
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-gates"))
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in banner: {line:?}"))
            .to_string();
        // the rest of the banner: `  name: value` lines up to a blank line
        let mut admin_token = String::new();
        loop {
            let mut more = String::new();
            if stdout.read_line(&mut more).unwrap() == 0 || more.trim().is_empty() {
                break;
            }
            if let Some(t) = more.trim().strip_prefix("admin token: ") {
                admin_token = t.to_string();
            }
        }
        Server {
            child,
            url,
            admin_token,
            _dir: None,
            _stdout: stdout,
        }
    }

    /// `serve --port 0 --state :memory: --scenario FILE` with the scenario given as text.
    // Each test binary compiles this module on its own; not every one calls this.
    #[allow(dead_code)]
    pub fn with_scenario(toml: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("scenario.toml");
        std::fs::write(&scenario, toml).unwrap();
        let mut s = Server::start([
            OsStr::new("--state"),
            OsStr::new(":memory:"),
            OsStr::new("--scenario"),
            scenario.as_os_str(),
        ]);
        s._dir = Some(dir);
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
