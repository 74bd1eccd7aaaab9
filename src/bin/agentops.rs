//! `agentops`: replay, inspect and draw offline captures (OTLP JSON lines files and
//! spool directories). Built with the `cli` feature:
//! `cargo install agentops --features cli`. Everything it does is in
//! `agentops::capture`; this file is the command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use agentops::capture::{
    html_report, parse_session_id, parse_since, CaptureReader, CapturedRequest, Replay, Selection, Sessions, Totals,
};
use agentops::{AgentOpsConfig, Compression, Error, OtelConfig, OtlpExporterConfig, Protocol};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Exit code: something was left out (a line skipped, a span not accepted).
const PARTIAL: u8 = 1;
/// Exit code: nothing could be done (bad usage, a missing or empty file, bad settings).
const UNUSABLE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "agentops",
    version,
    about = "Replay, inspect and draw agent sessions captured offline (OTLP JSON lines)",
    after_help = "Exit codes: 0 everything was read (and, for replay, accepted); 1 some lines were skipped \
                  or some spans not accepted; 2 nothing could be done (usage, a missing or empty file, bad settings)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send captured sessions to a collector or to AgentOps, ids unchanged.
    Replay(ReplayArgs),
    /// Print each session as the console exporter's tree (names, kinds, durations, tokens, costs, errors).
    Tree(ViewArgs),
    /// Print each session's summary line, then totals (sessions, spans, tokens, cost by model, errors by type).
    Stats(ViewArgs),
    /// Write one self-contained HTML page with a waterfall per session.
    Html(HtmlArgs),
}

#[derive(Args)]
struct Input {
    /// Capture files (OTLP JSON lines, e.g. agentops-traces.jsonl); a directory stands for its .jsonl files.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Also read this spool directory (AGENTOPS_SPOOL_DIR's batches); repeatable.
    #[arg(long, value_name = "DIR")]
    spool: Vec<PathBuf>,
    /// Only this session (its session.id UUID, or its trace id); repeatable.
    #[arg(long = "session", value_name = "ID")]
    sessions: Vec<String>,
    /// Only spans that started at or after this time: RFC 3339 (2026-12-01T10:00:00Z), a date, or an age (30m, 2h, 7d).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProtocolArg {
    #[value(name = "http/protobuf")]
    Protobuf,
    #[value(name = "http/json")]
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompressionArg {
    None,
    Gzip,
}

#[derive(Args)]
struct ReplayArgs {
    #[command(flatten)]
    input: Input,
    /// OTLP/HTTP endpoint: a base (http://localhost:4318) or the traces URL (…/v1/traces).
    #[arg(long, value_name = "URL", env = "OTEL_EXPORTER_OTLP_ENDPOINT", conflicts_with = "agentops")]
    endpoint: Option<String>,
    /// Send to AgentOps instead (AGENTOPS_API_KEY, and AGENTOPS_* endpoints if set).
    #[arg(long)]
    agentops: bool,
    /// The OTLP encoding.
    #[arg(long, value_enum, default_value = "http/protobuf")]
    protocol: ProtocolArg,
    /// A request header, name=value; repeatable.
    #[arg(long = "header", value_name = "K=V")]
    headers: Vec<String>,
    /// Compress request bodies.
    #[arg(long, value_enum, default_value = "none", env = "OTEL_EXPORTER_OTLP_COMPRESSION")]
    compression: CompressionArg,
    /// Trust the CAs of this PEM bundle for an https endpoint (instead of the public roots).
    #[arg(long, value_name = "PEM", env = "OTEL_EXPORTER_OTLP_CERTIFICATE")]
    ca_certificate: Option<PathBuf>,
    /// A client certificate (PEM) for mutual TLS; needs --client-key.
    #[arg(long, value_name = "PEM", env = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", requires = "client_key")]
    client_certificate: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "PEM", env = "OTEL_EXPORTER_OTLP_CLIENT_KEY", requires = "client_certificate")]
    client_key: Option<PathBuf>,
    /// Give up on a request after this many seconds (retries included).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

#[derive(Args)]
struct ViewArgs {
    #[command(flatten)]
    input: Input,
}

#[derive(Args)]
struct HtmlArgs {
    #[command(flatten)]
    input: Input,
    /// Where to write the page.
    #[arg(short, long, value_name = "FILE", default_value = "agentops-report.html")]
    output: PathBuf,
}

/// Something that stops the command: printed, then exit 2.
struct Unusable(String);

impl From<Error> for Unusable {
    fn from(e: Error) -> Self {
        Unusable(e.to_string())
    }
}

impl From<agentops::ConfigError> for Unusable {
    fn from(e: agentops::ConfigError) -> Self {
        Unusable(e.to_string())
    }
}

impl Input {
    fn selection(&self) -> Result<Selection, Unusable> {
        let mut s = Selection::default();
        for id in &self.sessions {
            s.sessions.push(parse_session_id(id)?);
        }
        if let Some(t) = &self.since {
            s.since_unix_nanos = Some(parse_since(t, SystemTime::now())?);
        }
        Ok(s)
    }

    fn reader(&self) -> Result<CaptureReader, Unusable> {
        let paths: Vec<&PathBuf> = self.files.iter().chain(&self.spool).collect();
        if paths.is_empty() {
            return Err(Unusable("no capture given: name a FILE or a --spool DIR".into()));
        }
        Ok(CaptureReader::open(paths)?)
    }

    /// Every selected request of `reader`, in order; skipped lines printed to
    /// stderr and counted.
    fn each_request(
        &self,
        mut reader: CaptureReader,
        mut f: impl FnMut(CapturedRequest, &CaptureReader),
    ) -> Result<u64, Unusable> {
        let selection = self.selection()?;
        let mut skipped = 0;
        while let Some(item) = reader.next() {
            match item {
                Ok(mut captured) => {
                    if selection.is_all() || selection.apply(&mut captured.request) > 0 {
                        f(captured, &reader);
                    }
                }
                Err(line) => {
                    skipped += 1;
                    eprintln!("agentops: {line}");
                }
            }
        }
        Ok(skipped)
    }

    fn sessions(&self, all_attributes: bool) -> Result<(Sessions, u64), Unusable> {
        let mut sessions = if all_attributes { Sessions::with_all_attributes() } else { Sessions::new() };
        let skipped = self.each_request(self.reader()?, |c, _| sessions.add(c.request))?;
        Ok((sessions, skipped))
    }
}

fn skipped_note(skipped: u64) -> u8 {
    if skipped == 0 {
        return 0;
    }
    eprintln!("agentops: {skipped} line(s) skipped");
    PARTIAL
}

fn replay_config(a: &ReplayArgs) -> Result<OtelConfig, Unusable> {
    let timeout = Duration::from_secs(a.timeout.max(1));
    let builder = OtelConfig::builder().default_exporters(false);
    let builder = if a.agentops {
        let Some(config) = AgentOpsConfig::from_env()? else {
            return Err(Unusable("--agentops needs AGENTOPS_API_KEY".into()));
        };
        builder.agentops(config.timeout(timeout))
    } else {
        let Some(url) = a.endpoint.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Err(Unusable(
                "say where to send: --endpoint URL (or OTEL_EXPORTER_OTLP_ENDPOINT), or --agentops".into(),
            ));
        };
        let mut otlp = if url.trim_end_matches('/').ends_with("/v1/traces") {
            OtlpExporterConfig::traces_url(url)
        } else {
            OtlpExporterConfig::new(url)
        };
        otlp = otlp.protocol(match a.protocol {
            ProtocolArg::Protobuf => Protocol::HttpProtobuf,
            ProtocolArg::Json => Protocol::HttpJson,
        });
        otlp = otlp.compression(match a.compression {
            CompressionArg::None => Compression::None,
            CompressionArg::Gzip => Compression::Gzip,
        });
        if let Some(ca) = &a.ca_certificate {
            otlp = otlp.ca_certificate(ca);
        }
        if let (Some(cert), Some(key)) = (&a.client_certificate, &a.client_key) {
            otlp = otlp.client_certificate(cert, key);
        }
        for h in &a.headers {
            let Some((k, v)) = h.split_once('=') else {
                return Err(Unusable(format!("--header {h:?}: expected name=value")));
            };
            otlp = otlp.header(k.trim(), v.trim());
        }
        builder.otlp(otlp.timeout(timeout))
    };
    // The settings came from this command's flags: an error names the flag.
    builder.build().map_err(|mut e| {
        let flag = match e.setting.as_str() {
            "OtlpExporterConfig::traces_url" | "OtlpExporterConfig::with_metrics_url" => Some("--endpoint"),
            "OtlpExporterConfig::ca_certificate" => Some("--ca-certificate"),
            "OtlpExporterConfig::client_certificate" => Some("--client-certificate/--client-key"),
            "OtlpExporterConfig::header" => Some("--header"),
            _ => None,
        };
        if let Some(flag) = flag {
            e.setting = flag.to_owned();
        }
        Unusable::from(e)
    })
}

fn progress(total: u64) -> ProgressBar {
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}") {
        bar.set_style(style);
    }
    bar
}

fn replay(a: &ReplayArgs) -> Result<u8, Unusable> {
    let mut replay = Replay::new(replay_config(a)?)?;
    let reader = a.input.reader()?;
    let bar = progress(reader.total_bytes());
    let (mut spans, mut accepted, mut rejected, mut failed, mut requests) = (0, 0, 0, 0, 0);
    let skipped = a.input.each_request(reader, |captured, reader| {
        let sent = replay.send(captured.request);
        requests += 1;
        spans += sent.spans;
        accepted += sent.accepted;
        rejected += sent.rejected;
        failed += sent.failed;
        for e in &sent.errors {
            bar.suspend(|| eprintln!("agentops: {}:{}: {e}", captured.path.display(), captured.line));
        }
        bar.set_position(reader.read_bytes());
        bar.set_message(format!("{accepted}/{spans} spans accepted"));
    })?;
    bar.finish_and_clear();
    let retries: u64 = replay.stats().iter().map(|s| s.retries).sum();
    println!(
        "replayed {spans} spans in {requests} requests: {accepted} accepted, {rejected} rejected, {failed} failed \
         ({retries} retries); {skipped} lines skipped"
    );
    Ok(if rejected == 0 && failed == 0 && skipped == 0 { 0 } else { PARTIAL })
}

fn tree(a: &ViewArgs) -> Result<u8, Unusable> {
    let (sessions, skipped) = a.input.sessions(false)?;
    let mut out = std::io::stdout().lock();
    for s in sessions.into_sorted() {
        let _ = write!(out, "{}", s.tree());
    }
    Ok(skipped_note(skipped))
}

fn stats(a: &ViewArgs) -> Result<u8, Unusable> {
    let (sessions, skipped) = a.input.sessions(false)?;
    let mut totals = Totals::default();
    let mut out = std::io::stdout().lock();
    for s in sessions.into_sorted() {
        let _ = write!(out, "{}", s.summary_line());
        totals.add(&s);
    }
    let _ = write!(out, "{totals}");
    Ok(skipped_note(skipped))
}

fn html(a: &HtmlArgs) -> Result<u8, Unusable> {
    let (sessions, skipped) = a.input.sessions(true)?;
    let sessions = sessions.into_sorted();
    let mut totals = Totals::default();
    sessions.iter().for_each(|s| totals.add(s));
    let page = html_report(&sessions, &totals);
    std::fs::write(&a.output, page).map_err(|e| Unusable(format!("writing {}: {e}", a.output.display())))?;
    println!("wrote {} ({} sessions, {} spans)", a.output.display(), totals.sessions, totals.spans);
    Ok(skipped_note(skipped))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Replay(a) => replay(a),
        Command::Tree(a) => tree(a),
        Command::Stats(a) => stats(a),
        Command::Html(a) => html(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Unusable(message)) => {
            eprintln!("agentops: {message}");
            ExitCode::from(UNUSABLE)
        }
    }
}
