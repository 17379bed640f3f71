//! The `bedrock-gates` binary: clap wiring only. Each face lives in its own crate.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Default port: not LocalStack's 4566 nor moto's 5000.
const DEFAULT_PORT: u16 = 4950;

#[derive(Parser)]
#[command(
    name = "bedrock-gates",
    version,
    about = "A local Amazon Bedrock that says no exactly as AWS does, and tells you why"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve bedrock, bedrock-runtime and STS on one port (point clients at it with AWS_ENDPOINT_URL).
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Print a short-term Amazon Bedrock API key made from the standard credential chain, as
    /// AWS's token generator libraries make it (export it as AWS_BEARER_TOKEN_BEDROCK).
    ApiKey {
        /// The Region the key is for (it works only there); default: the configuration's.
        #[arg(long)]
        region: Option<String>,
        /// A named profile of the shared configuration.
        #[arg(long)]
        profile: Option<String>,
        /// Seconds the key is valid (at most 43200, 12 hours; AWS also ends it with the signing
        /// session).
        #[arg(long, default_value_t = 43_200)]
        expires: u64,
    },
    /// Offline IAM: simulate a request, check a call, generate a least-privilege policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Walk the gates of one model call against AWS (or `serve`) and say which one is shut.
    ///
    /// Exit 0 when the call works; 10 credentials, 11 region, 12 iam, 13 model-access,
    /// 14 provider-terms, 15 quota (the first shut gate); 20 unknown.
    Doctor {
        /// Model ID, inference profile ID or ARN, as the call would name it.
        #[arg(long)]
        model: String,
        /// Region to call (default: the SDK configuration's).
        #[arg(long)]
        region: Option<String>,
        /// Named profile of the shared AWS config files.
        #[arg(long)]
        profile: Option<String>,
        /// Endpoint for every service (e.g. a `bedrock-gates serve` URL); AWS_ENDPOINT_URL works too.
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Do not make the real call (the verdict then cannot be "open").
        #[arg(long)]
        no_invoke: bool,
        /// Print JSON: {"gates":[{"gate","status","evidence","fix"}],"verdict",…}.
        #[arg(long)]
        json: bool,
    },
    /// Explain an AWS error text: the gate, the cause, the facts and the fix (offline).
    ///
    /// The text is read from the arguments, or from stdin with `-` or no argument.
    Explain {
        /// The error text (several words are joined); `-` or nothing reads stdin.
        text: Vec<String>,
        /// Print JSON: {"gate","cause","facts","fix","command"}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// JSON in (FILE or `-` for stdin), JSON out: the decision and why. Exit 0 when allowed,
    /// 2 when denied, 1 when the input is invalid.
    Simulate {
        #[arg(long, default_value = "-")]
        input: String,
    },
    /// A least-privilege identity policy for exactly these models (and, with --scp, an SCP).
    ///
    /// Covers the named Regions and inference-profile prefixes, every destination-Region model
    /// ARN the profiles route to and the Marketplace actions where first use needs them;
    /// validated by the IAM engine before it is printed. Exit 1 on an unknown model or a Region
    /// that does not offer it.
    Generate {
        /// Model IDs (or system inference-profile IDs); repeat or separate with commas.
        #[arg(long = "model", required = true, num_args = 1.., value_delimiter = ',')]
        models: Vec<String>,
        /// Source Regions the calls are made from (default: AWS_REGION / AWS_DEFAULT_REGION).
        #[arg(long = "region", num_args = 1.., value_delimiter = ',')]
        regions: Vec<String>,
        /// System inference-profile prefixes to allow: us, eu, apac, jp, au, ca, global, …
        #[arg(long = "profile-prefix", num_args = 1.., value_delimiter = ',')]
        profile_prefixes: Vec<String>,
        /// Also allow bedrock:InvokeModelWithResponseStream (ConverseStream).
        #[arg(long)]
        streaming: bool,
        /// Also write a guard-rail SCP denying bedrock:InvokeModel* on every other model; the
        /// output is then {"IdentityPolicy": …, "ServiceControlPolicy": …}.
        #[arg(long)]
        scp: bool,
        /// The account in inference-profile ARNs (default `*`).
        #[arg(long)]
        account: Option<String>,
    },
    /// Would this principal be allowed to call this model, and why.
    ///
    /// The Region gate, then every ARN IAM checks with its decision and the deciding statements.
    /// Exit 0 allowed, 2 refused by IAM, 3 refused by the Region gate, 1 invalid input.
    Check {
        /// Identity policy files (JSON); repeat for several.
        #[arg(long = "policy", num_args = 1..)]
        policies: Vec<PathBuf>,
        /// SCP files: each occurrence is one level (root first); a level may list several
        /// files separated by commas. AWS's FullAWSAccess is added to every level.
        #[arg(long = "scp")]
        scps: Vec<String>,
        /// Do not add FullAWSAccess to the SCP levels (allow-list SCPs).
        #[arg(long)]
        no_full_aws_access: bool,
        /// Permissions boundary policy file.
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// Session policy file (AssumeRole --policy).
        #[arg(long)]
        session_policy: Option<PathBuf>,
        /// The caller: user, role, root or assumed-role ARN.
        #[arg(long)]
        principal: String,
        /// Model ID (or profile ID / ARN).
        #[arg(long)]
        model: String,
        /// The Region the call is signed for.
        #[arg(long)]
        region: String,
        /// Call the model through this system inference profile (e.g. us.<model>).
        #[arg(long)]
        profile: Option<String>,
        /// The action (bedrock:InvokeModelWithResponseStream for ConverseStream).
        #[arg(long, default_value = "bedrock:InvokeModel")]
        action: String,
        /// Decide against this scenario's state, as `serve --scenario FILE` starts with
        /// (`--principal` is then an ARN or an access key ID of the scenario).
        #[arg(long, conflicts_with_all = ["policies", "scps", "boundary", "session_policy", "state"])]
        scenario: Option<PathBuf>,
        /// Decide against serve's state database (read, never written).
        #[arg(long, conflicts_with_all = ["policies", "scps", "boundary", "session_policy"])]
        state: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn default_state_path() -> String {
    let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
    base.join("bedrock-gates")
        .join("state.db")
        .to_string_lossy()
        .into_owned()
}

/// jemalloc instead of the C library's allocator. A request allocates ~100 small blocks and
/// frees them soon after, often on another thread; glibc's allocator spent a fifth of serve's
/// CPU on that (its per-thread cache holds 7 blocks of a size, the rest take the arena's lists
/// and their consolidation). Measured in the same runs (BENCHMARKS.md, issue 11): a Converse
/// cost a fifth less CPU on the wire, and a principal less memory (772 against 854 bytes at
/// 10,000); an empty serve holds ~2 MiB more. mimalloc was faster too but held more memory
/// per principal, so it was not kept.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read at its first allocation. Blocks of 128 KiB and more (a large
/// request body and what is parsed from it) come from an arena that returns their pages when
/// they are freed, as glibc unmaps such blocks at once; jemalloc otherwise keeps freed pages
/// for ~10 s, so a server that just read a 4 MB body held that memory on after it
/// (`test_a_stalled_stream_reader_pins_little`). The request path's blocks are far smaller.
/// `_RJEM_MALLOC_CONF` in the environment still overrides it.
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 26] = b"oversize_threshold:131072\0";

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BEDROCK_GATES_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve { args, tls, limits } => serve(args, tls, limits),
        Command::Policy {
            command: PolicyCommand::Simulate { input },
        } => simulate(&input),
        Command::Policy {
            command:
                PolicyCommand::Generate {
                    models,
                    regions,
                    profile_prefixes,
                    streaming,
                    scp,
                    account,
                },
        } => policy_generate(bg_diagnose::generate::Request {
            models,
            regions,
            profile_prefixes,
            streaming,
            scp,
            account,
        }),
        Command::Policy {
            command:
                PolicyCommand::Check {
                    policies,
                    scps,
                    no_full_aws_access,
                    boundary,
                    session_policy,
                    principal,
                    model,
                    region,
                    profile,
                    action,
                    scenario,
                    state,
                    json,
                },
        } => {
            let now_unix = bg_server::wall_unix();
            let read = |p: &PathBuf| -> Result<bg_diagnose::check::Doc> {
                Ok(bg_diagnose::check::Doc {
                    name: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| p.display().to_string()),
                    text: std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?,
                })
            };
            let input = bg_diagnose::check::Input {
                identity: policies.iter().map(read).collect::<Result<_>>()?,
                scp_levels: scps
                    .iter()
                    .map(|level| {
                        level
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(|f| read(&PathBuf::from(f)))
                            .collect::<Result<Vec<_>>>()
                    })
                    .collect::<Result<_>>()?,
                full_aws_access: !no_full_aws_access,
                boundary: boundary.as_ref().map(read).transpose()?,
                session: session_policy.as_ref().map(read).transpose()?,
                principal,
                model,
                region,
                profile,
                action,
                now_unix,
                state: match (&scenario, &state) {
                    (Some(path), _) => Some(scenario_state(path, now_unix)?),
                    (None, Some(path)) => Some(stored_state(path)?),
                    (None, None) => None,
                },
                operation: None,
            };
            policy_check(&input, json)
        }
        Command::Doctor {
            model,
            region,
            profile,
            endpoint_url,
            no_invoke,
            json,
        } => doctor(
            bg_doctor::doctor::Options {
                model,
                region,
                profile,
                endpoint_url,
                invoke: !no_invoke,
                credentials: None,
            },
            json,
        ),
        Command::Explain { text, json } => explain(&text, json),
        Command::ApiKey {
            region,
            profile,
            expires,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            match rt.block_on(bg_doctor::api_key::short_term(
                region.as_deref(),
                profile.as_deref(),
                expires,
            )) {
                Ok(token) => {
                    println!("{token}");
                    Ok(())
                }
                Err(e) => {
                    eprintln!("bedrock-gates api-key: {e}");
                    std::process::exit(2);
                }
            }
        }
    }
}

/// The state `serve --scenario FILE` starts with on an empty database: the default account, then
/// the scenario's entities and its model-access state at `now`.
fn scenario_state(path: &std::path::Path, now: i64) -> Result<bg_gates::State> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let scenario = bg_server::scenario::Scenario::from_toml(&text)
        .with_context(|| format!("scenario {}", path.display()))?;
    let state = bg_gates::State::default();
    let state = state.with_changes(&state.bootstrap_changes());
    let state = state.with_changes(&scenario.changes());
    Ok(state.with_changes(&scenario.access_changes(now)))
}

/// serve's state database as it stands (the default account added as serve adds it).
fn stored_state(path: &std::path::Path) -> Result<bg_gates::State> {
    if !path.exists() {
        anyhow::bail!("no state database at {}", path.display());
    }
    let store = bg_store::SqliteStore::open(&path.to_string_lossy())
        .with_context(|| format!("opening {}", path.display()))?;
    let state = bg_gates::State::load(&store)?;
    Ok(state.with_changes(&state.start_changes()))
}

fn explain(args: &[String], json: bool) -> Result<()> {
    use std::io::Read;
    let text = if args.is_empty() || args == ["-"] {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        args.join(" ")
    };
    let e = bg_diagnose::explain::explain(&text);
    if json {
        println!("{}", serde_json::to_string_pretty(&e.to_json())?);
    } else {
        print!(
            "{}",
            bg_diagnose::explain::render(&e, bg_diagnose::style::Style::detect())
        );
    }
    Ok(())
}

fn policy_generate(mut req: bg_diagnose::generate::Request) -> Result<()> {
    if req.regions.is_empty() {
        if let Some(r) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        {
            req.regions.push(r);
        }
    }
    match bg_diagnose::generate::generate(&req, bg_catalog::catalog()) {
        Ok(g) => {
            for n in &g.notes {
                eprintln!("note: {n}");
            }
            match &g.scp {
                None => println!("{}", g.identity.to_pretty()),
                Some(scp) => {
                    let indent = |s: String| s.replace('\n', "\n  ");
                    println!(
                        "{{\n  \"IdentityPolicy\": {},\n  \"ServiceControlPolicy\": {}\n}}",
                        indent(g.identity.to_pretty()),
                        indent(scp.to_pretty())
                    );
                }
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("bedrock-gates policy generate: {e}");
            std::process::exit(1);
        }
    }
}

fn policy_check(input: &bg_diagnose::check::Input, json: bool) -> Result<()> {
    match bg_diagnose::check::check(input, bg_catalog::catalog()) {
        Ok(r) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&r.to_json())?);
            } else {
                print!(
                    "{}",
                    bg_diagnose::check::render(&r, bg_diagnose::style::Style::detect())
                );
            }
            std::process::exit(r.exit_code());
        }
        Err(e) => {
            eprintln!("bedrock-gates policy check: {e}");
            std::process::exit(1);
        }
    }
}

/// The web console's five gates page: the doctor's walk, against this server's own URL, as the
/// console's signed-in principal.
fn console_gate_walker(url: String) -> bg_server::console::walk::GateWalker {
    std::sync::Arc::new(move |w: bg_server::console::walk::WalkRequest| {
        let opts = bg_doctor::doctor::Options {
            model: w.model,
            region: Some(w.region),
            profile: None,
            endpoint_url: Some(url.clone()),
            invoke: true,
            credentials: Some(bg_doctor::doctor::Keys {
                access_key_id: w.access_key_id,
                secret_access_key: w.secret_access_key,
                session_token: w.session_token,
            }),
        };
        Box::pin(async move { bg_doctor::doctor::run(&opts).await.to_json() })
    })
}

fn doctor(opts: bg_doctor::doctor::Options, json: bool) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(bg_doctor::doctor::run(&opts));
    if json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!(
            "{}",
            bg_doctor::doctor::render(&report, bg_diagnose::style::Style::detect())
        );
    }
    drop(rt);
    std::process::exit(report.exit_code);
}

fn simulate(input: &str) -> Result<()> {
    use std::io::Read;
    let text = if input == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(input).with_context(|| format!("reading {input}"))?
    };
    match bg_iam::simulate::simulate_json(&text) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v)?);
            let allowed = v.get("decision").and_then(|d| d.as_str()) == Some("Allowed");
            std::process::exit(if allowed { 0 } else { 2 });
        }
        Err(e) => {
            eprintln!("bedrock-gates policy simulate: {e}");
            std::process::exit(1);
        }
    }
}

/// `serve`'s HTTPS flags.
#[derive(clap::Args)]
struct TlsArgs {
    /// HTTPS port; 0 picks a free one. Default: 4951 with the default --port, a free port with
    /// --port 0, else --port + 1.
    #[arg(long)]
    tls_port: Option<u16>,
    /// Serve plain HTTP only (no CA, no certificate, no HTTPS port).
    #[arg(long, conflicts_with_all = ["tls_port", "tls_cert", "tls_key"])]
    no_tls: bool,
    /// Certificate chain (PEM) to serve instead of one from the local CA; needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// `serve`'s connection bounds (see docs/serve.md).
#[derive(clap::Args)]
struct LimitArgs {
    /// Seconds a connection has, from accept (TLS handshake included) or from the first byte of
    /// a request on a kept-alive connection, to send complete request headers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds a kept-alive connection may sit without a request before it is closed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// Open connections at most; beyond, new ones wait in the kernel's listen backlog.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Seconds that in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 5)]
    shutdown_grace_secs: u64,
}

/// `serve`'s own flags.
#[derive(clap::Args)]
struct ServeArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port; 0 picks a free one (printed in the banner).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// State database (SQLite); `:memory:` keeps nothing. Default: a file in the user's data dir.
    #[arg(long)]
    state: Option<String>,
    /// Scenario (TOML) applied idempotently at start: accounts, users, keys, pinned answers.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Milliseconds between streamed frames (default: as fast as possible).
    #[arg(long, default_value_t = 0)]
    stream_pace_ms: u64,
    /// Days CloudTrail events are kept (CloudTrail's event history keeps 90).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=36500))]
    event_retention_days: i64,
    /// Model-access mode of the default account and of every scenario account that does not
    /// set `access_mode`: automatic (AWS since 2025) or console (request access per Region).
    /// Stored: a later start without the flag keeps it.
    #[arg(long, value_parser = ["automatic", "console"])]
    access_mode: Option<String>,
    /// Another name clients may give in Host or Origin (repeatable). Always accepted:
    /// localhost, 127.0.0.1, [::1] and the --host value; anything else is refused (403) so
    /// that a web page cannot reach serve through DNS rebinding.
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// An upstream that answers every model the gates admit: KIND=URL, KIND `openai` (any
    /// OpenAI-compatible server, URL its API base, e.g. http://127.0.0.1:11434/v1; its key,
    /// if it needs one, from BEDROCK_GATES_UPSTREAM_API_KEY), `anthropic` (the Messages API,
    /// URL e.g. https://api.anthropic.com/v1; key from the same
    /// variable) or `bedrock` (a Bedrock
    /// endpoint, signed with serve's own credentials from the AWS credential chain: the
    /// environment, AWS_PROFILE, web identity, container or instance metadata). Never a
    /// secret on the command line.
    /// A scenario's [[backend]] entries still win for the models they name.
    #[arg(long = "backend", value_name = "KIND=URL")]
    backend: Option<String>,
    /// Which upstream model answers a Bedrock model (repeatable; `*` globs; first match
    /// wins): MODEL=UPSTREAM_MODEL, e.g. 'amazon.nova-*=llama3.2' or '*=qwen3:8b' as the
    /// default. An unmapped model is sent under its Bedrock id.
    #[arg(long = "model-map", value_name = "MODEL=UPSTREAM_MODEL")]
    model_map: Vec<String>,
}

/// The environment variable an upstream named by `serve --backend` takes its key from.
const UPSTREAM_KEY_ENV: &str = "BEDROCK_GATES_UPSTREAM_API_KEY";

/// `--backend KIND=URL` and `--model-map` as a `[[backend]]` entry for every model.
fn backend_flag(backend: &str, model_map: &[String]) -> Result<bg_server::scenario::BackendDecl> {
    let (kind, url) = backend
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--backend {backend}: expected KIND=URL"))?;
    let kind = match kind {
        "openai" => bg_server::scenario::BackendKind::Openai,
        "anthropic" => bg_server::scenario::BackendKind::Anthropic,
        "bedrock" => bg_server::scenario::BackendKind::Bedrock,
        _ => anyhow::bail!("--backend {kind}=...: unknown kind (openai, anthropic, bedrock)"),
    };
    let mut map = std::collections::BTreeMap::new();
    for m in model_map {
        let (from, to) = m
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--model-map {m}: expected MODEL=UPSTREAM_MODEL"))?;
        map.insert(from.to_string(), to.to_string());
    }
    let decl = bg_server::scenario::BackendDecl {
        kind,
        models: vec!["*".into()],
        answer: None,
        url: Some(url.to_string()),
        api_key_env: std::env::var_os(UPSTREAM_KEY_ENV).map(|_| UPSTREAM_KEY_ENV.to_string()),
        api_key_file: None,
        model_map: map,
        timeout_ms: None,
        max_concurrency: None,
        region: None,
    };
    decl.upstream()
        .map_err(|e| anyhow::anyhow!("--backend: {e}"))?;
    if kind == bg_server::scenario::BackendKind::Bedrock {
        bg_server::scenario::signing_identity(None)
            .map_err(|e| anyhow::anyhow!("--backend: {e}"))?;
    }
    Ok(decl)
}

/// The HTTPS port when none is given: next to the default port, free with a free port.
fn default_tls_port(port: u16) -> u16 {
    match port {
        0 => 0,
        p => p.checked_add(1).unwrap_or(0),
    }
}

/// The TLS configuration for `serve`, or none with --no-tls.
fn tls_setup(args: &TlsArgs, state_path: &str, host: &str) -> Result<Option<bg_server::tls::Tls>> {
    if args.no_tls {
        return Ok(None);
    }
    let source = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => bg_server::tls::Source::Provided {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => bg_server::tls::Source::LocalCa {
            // The CA lives beside the state file; `:memory:` keeps nothing, so a temporary one.
            dir: (state_path != ":memory:").then(|| {
                match std::path::Path::new(state_path).parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                }
            }),
            names: bg_server::tls::server_names(host),
        },
    };
    Ok(Some(
        bg_server::tls::setup(source).context("setting up HTTPS")?,
    ))
}

fn serve(args: ServeArgs, tls_args: TlsArgs, limit_args: LimitArgs) -> Result<()> {
    let ServeArgs {
        host,
        port,
        state,
        scenario,
        stream_pace_ms,
        event_retention_days,
        access_mode,
        allowed_hosts,
        backend,
        model_map,
    } = args;
    let state_path = state.unwrap_or_else(default_state_path);
    let mut scenario = match &scenario {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading scenario {}", p.display()))?;
            Some(bg_server::scenario::Scenario::from_toml(&text)?)
        }
        None => None,
    };
    if let Some(mode) = &access_mode {
        scenario
            .get_or_insert_with(Default::default)
            .set_default_access_mode(mode)?;
    }
    if let Some(b) = &backend {
        // After the scenario's own entries: those still answer the models they name.
        let decl = backend_flag(b, &model_map)?;
        scenario
            .get_or_insert_with(Default::default)
            .backend
            .push(decl);
    } else if !model_map.is_empty() {
        anyhow::bail!("--model-map needs --backend");
    }
    // The store's refusals name the file and say what to do: print them as they are.
    let store =
        bg_store::SqliteStore::open_exclusive(&state_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    for notice in store.notices() {
        eprintln!("bedrock-gates: {notice}");
    }
    // CloudTrail events and CloudWatch Logs: tables of the same state file, own connections.
    let journal = bg_store::Journal::open(&state_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = bg_server::App::with_journal(Box::new(store), journal, scenario.as_ref())?;
    app.set_stream_pace_ms(stream_pace_ms);
    app.trail.set_retention_days(event_retention_days);
    let tls = tls_setup(&tls_args, &state_path, &host)?;
    let limits = bg_server::listen::Limits {
        header_timeout: std::time::Duration::from_secs(limit_args.header_timeout_secs),
        idle_timeout: std::time::Duration::from_secs(limit_args.idle_timeout_secs),
        max_connections: limit_args.max_connections as usize,
        shutdown_grace: std::time::Duration::from_secs(limit_args.shutdown_grace_secs),
    };
    app.set_allowed_hosts(bg_server::admin::allowed_hosts(&host, &allowed_hosts));
    // The admin token lives next to the state file; with `:memory:` only in this process.
    let token_file = match std::path::Path::new(&state_path).parent() {
        Some(dir) if state_path != ":memory:" => {
            let dir = if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            };
            app.set_admin_token(
                bg_server::admin::load_or_create_token(dir)
                    .with_context(|| format!("admin token in {}", dir.display()))?,
            );
            Some(dir.join(bg_server::admin::TOKEN_FILE))
        }
        _ => None,
    };
    let admin_token = app.admin_token();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tls_ref = &tls;
    rt.block_on(async move {
        let tls = tls_ref;
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .with_context(|| format!("binding {host}:{port}"))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        app.set_gate_walker(console_gate_walker(url.clone()));
        let https = match tls {
            Some(t) => {
                let tls_port = tls_args.tls_port.unwrap_or(default_tls_port(port));
                let l = tokio::net::TcpListener::bind((host.as_str(), tls_port))
                    .await
                    .with_context(|| format!("binding {host}:{tls_port} for HTTPS"))?;
                Some((l, t.config.clone()))
            }
            None => None,
        };
        // The banner is best effort: a closed stdout (a parent that read the first line and
        // went away) must not stop the server. Its shape is for people and for test harnesses
        // alike: the first line names the URL, then `  name: value` lines, then a blank line.
        let mut banner = vec![
            format!("bedrock-gates serve listening on {url}"),
            format!("  state: {state_path}"),
            "  account: 000000000000   root access key: test / test".to_string(),
            format!("  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1"),
            format!("  admin token: {admin_token}"),
            format!("  console: {url}/console"),
        ];
        if let (Some((l, _)), Some(t)) = (&https, tls) {
            banner.push(format!("  https: https://{}", l.local_addr()?));
            match &t.ca {
                Some(ca) => {
                    let ca = ca.display();
                    banner.push(format!("  ca: {ca}"));
                    banner.push(format!(
                        "  export AWS_CA_BUNDLE={ca} SSL_CERT_FILE={ca} NODE_EXTRA_CA_CERTS={ca}"
                    ));
                }
                None => banner.push(format!("  certificate: {}", t.cert.display())),
            }
        }
        if let Some(f) = token_file {
            banner.push(format!("  admin token file: {}", f.display()));
        }
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(format!("{}\n\n", banner.join("\n")).as_bytes())
            .and_then(|_| out.flush());
        drop(out);
        let listeners = bg_server::listen::Listeners {
            http: listener,
            https,
        };
        bg_server::listen::serve(app.clone(), listeners, limits, shutdown_signal()).await?;
        // Blocking (SQLite), and nothing else runs now.
        app.shut_down().context("shutting down the state")?;
        anyhow::Ok(())
    })?;
    // The temporary CA directory of `--state :memory:` goes with `tls`.
    drop(tls);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
