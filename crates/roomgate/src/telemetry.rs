//! `serve`'s logging and metrics settings.
use std::{
    future::Future,
    io::{self, BufWriter, IsTerminal, Stdout, Write},
    net::SocketAddr,
    time::Duration,
};

use anyhow::Context;
use roomgate_server::AppState;
use tokio::task::JoinHandle;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Log lines queued for the writer thread at most, while stdout does not keep up (a log collector that stalls):
/// about 8 MiB of 500-byte lines, and over a second of the busiest load measured on two cores (15,000 requests a
/// second, one line each). Past it, lines are dropped and counted (`roomgate_log_lines_dropped_total`), so a
/// stalled stdout neither stalls requests nor grows memory without bound.
const LOG_QUEUE_LINES: usize = 16_384;

/// Bytes of log lines written to stdout at once: the writer thread fills this from the queue and writes it out
/// when the queue runs empty (or it is full), one system call for a burst of lines rather than one per line.
const STDOUT_BUFFER_BYTES: usize = 64 * 1024;

/// How long the writer thread rests after writing out a burst; the lines logged meanwhile wait in the queue.
const WRITER_REST: Duration = Duration::from_millis(10);

/// stdout as the log writer's thread sees it. The thread asks for a flush each time the queue runs empty: that
/// writes the buffer out, then rests [`WRITER_REST`]. Without the rest, at any load short of saturation the queue
/// runs empty after every line, and every line would wake the thread (a futex call on the request's thread, a
/// context switch) to be written alone; with it, the thread wakes at most about a hundred times a second.
struct Bursts(BufWriter<Stdout>);

impl Write for Bursts {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.0.flush();
        std::thread::sleep(WRITER_REST);
        flushed
    }
}

/// The log writer's thread: dropping this writes out every line still queued, waiting about a second at most.
#[derive(Debug)]
#[must_use = "dropping the guard stops the log writer"]
pub struct LogWriter {
    _guard: WorkerGuard,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, span fields under `span`.
    Json,
}

/// Logging and metrics flags.
#[derive(Debug, clap::Args)]
pub struct TelemetryArgs {
    /// Log line format.
    #[arg(long, env = "ROOMGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter, e.g. `info` or `warn,roomgate_server=debug`; overrides RUST_LOG (default: RUST_LOG, else info).
    #[arg(long, env = "ROOMGATE_LOG_LEVEL")]
    log_level: Option<String>,
    /// Serve `/metrics` on this address, alone (an admin port not exposed to clients). Without it, and without
    /// --metrics-on-api-listener, metrics are not served at all.
    #[arg(long, env = "ROOMGATE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Also serve `/metrics` on the API's listener, unauthenticated. Off by default: the counts tell anyone who
    /// can reach the API why tokens are refused and how busy the server is.
    #[arg(long, env = "ROOMGATE_METRICS_ON_API_LISTENER")]
    pub metrics_on_api_listener: bool,
}

/// For the commands that work on the store directly: their warnings (a database file's mode tightened) on
/// stderr, away from the output scripts read.
pub fn init_stderr_warnings() {
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(EnvFilter::new("warn"))
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}

impl TelemetryArgs {
    /// Installs the process's log subscriber, writing to stdout from a thread of its own: a request formats its
    /// line and queues it, and never waits for stdout. Keep the returned guard until the server has stopped.
    pub fn init_logging(&self) -> anyhow::Result<LogWriter> {
        let filter = match &self.log_level {
            Some(directives) => EnvFilter::try_new(directives)
                .with_context(|| format!("invalid --log-level {directives:?}"))?,
            None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        };
        let stdout = Bursts(BufWriter::with_capacity(STDOUT_BUFFER_BYTES, io::stdout()));
        let (writer, guard) = NonBlockingBuilder::default()
            .buffered_lines_limit(LOG_QUEUE_LINES)
            .lossy(true)
            .thread_name("roomgate-log")
            .finish(stdout);
        let dropped = writer.error_counter();
        roomgate_server::observability::count_dropped_log_lines(move || dropped.dropped_lines() as u64);
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer);
        let installed = match self.log_format {
            LogFormat::Text => builder.with_ansi(io::stdout().is_terminal()).try_init(),
            LogFormat::Json => builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .try_init(),
        };
        installed.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
        Ok(LogWriter { _guard: guard })
    }

    /// With `--metrics-listen`, binds it and serves `/metrics` there until `shutdown`.
    pub async fn spawn_metrics_listener(
        &self,
        state: AppState,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Option<JoinHandle<std::io::Result<()>>>> {
        let Some(addr) = self.metrics_listen else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr} for metrics"))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "metrics listening");
        Ok(Some(tokio::spawn(roomgate_server::observability::serve_metrics(
            listener, state, shutdown,
        ))))
    }
}
