//! crdforge's contender in the conversion webhook benchmark: the User
//! controller's conversion (v1 hub, v2 spoke, `user_api::conversion`) on
//! crdforge-runtime's HTTPS server, alone, as the User controller serves it
//! but without a cluster. The harness (`bench-conversion-harness`) starts it
//! and the controller-runtime peer (`bench/go-conversion`) the same way:
//! `--listen`, `--cert`, `--key`, then one `listening on <addr>` line.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use crdforge_runtime::server::{Server, Tls};

#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serving certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Serving key (PEM).
    #[arg(long)]
    key: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let cert =
        std::fs::read(&args.cert).with_context(|| format!("reading {}", args.cert.display()))?;
    let key =
        std::fs::read(&args.key).with_context(|| format!("reading {}", args.key.display()))?;
    let tls = Tls::from_pem(&cert, &key).context("loading the certificate")?;
    let running = Server::new()
        .conversion("/convert", user_api::conversion::converter())
        .route("/healthz", |_| async {
            crdforge_runtime::server::text(http::StatusCode::OK, "ok")
        })
        .tls(tls)
        .bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", running.local_addr())?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
