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
    },
    /// Offline IAM: simulate a request against policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
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
}

fn default_state_path() -> String {
    let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
    base.join("bedrock-gates")
        .join("state.db")
        .to_string_lossy()
        .into_owned()
}

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
        Command::Serve {
            host,
            port,
            state,
            scenario,
            stream_pace_ms,
        } => serve(host, port, state, scenario, stream_pace_ms),
        Command::Policy {
            command: PolicyCommand::Simulate { input },
        } => simulate(&input),
    }
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

fn serve(
    host: String,
    port: u16,
    state: Option<String>,
    scenario: Option<PathBuf>,
    stream_pace_ms: u64,
) -> Result<()> {
    let state_path = state.unwrap_or_else(default_state_path);
    let scenario = match &scenario {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading scenario {}", p.display()))?;
            Some(bg_server::scenario::Scenario::from_toml(&text)?)
        }
        None => None,
    };
    let store = bg_store::SqliteStore::open(&state_path)
        .with_context(|| format!("opening state {state_path}"))?;
    let app = bg_server::App::new(Box::new(store), scenario.as_ref())?;
    app.set_stream_pace_ms(stream_pace_ms);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .with_context(|| format!("binding {host}:{port}"))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        // The banner is best effort: a closed stdout (a parent that read the first line and
        // went away) must not stop the server.
        let banner = format!(
            "bedrock-gates serve listening on {url}\n  state:   {state_path}\n  account: 000000000000   root access key: test / test\n  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1\n"
        );
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|_| out.flush());
        drop(out);
        bg_server::serve(app, listener, shutdown_signal()).await?;
        anyhow::Ok(())
    })
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
