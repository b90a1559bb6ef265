//! `pipeline-load`: requests per second of a line-protocol server under many clients
//! that pipeline (step04, step05 and the C original of step04, for `bench/run`).
//!
//! Each client keeps `--depth` requests in flight: it sends that many lines at once,
//! and one more for every reply line that comes back. One thread, one `poll` over all
//! the sockets, so the load generator uses one core. The count starts once every
//! client has had its first reply (all forked, none stuck in the listen queue) and
//! runs for `--seconds`.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

#[derive(Parser)]
#[command(about = "Requests/s of a line-protocol server under pipelining clients")]
struct Cli {
    /// Server port (on 127.0.0.1)
    #[arg(short, long)]
    port: u16,
    /// Concurrent clients (connections)
    #[arg(short, long, default_value_t = 50)]
    clients: usize,
    /// Requests each client keeps in flight
    #[arg(short, long, default_value_t = 16)]
    depth: usize,
    /// Seconds to measure, after every client had its first reply
    #[arg(short, long, default_value_t = 5)]
    seconds: u64,
    /// The request line, without its newline
    #[arg(short, long, default_value = "PING")]
    request: String,
}

/// One client: its socket and how far it is.
struct Client {
    stream: TcpStream,
    /// Request bytes owed to the server (a whole line per reply received).
    owed: usize,
    /// Request bytes sent so far, to know where in the repeated line to resume.
    sent: usize,
    replies: u64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let line = format!("{}\n", cli.request);
    // The requests as one long run of lines; a partial send resumes mid-line.
    let pattern = line.repeat(4096 / line.len() + 1);
    let mut clients = Vec::with_capacity(cli.clients);
    for _ in 0..cli.clients {
        let stream = TcpStream::connect(("127.0.0.1", cli.port))
            .with_context(|| format!("connect to 127.0.0.1:{}", cli.port))?;
        stream.set_nodelay(true).context("setsockopt TCP_NODELAY")?;
        stream.set_nonblocking(true).context("fcntl O_NONBLOCK")?;
        clients.push(Client {
            stream,
            owed: cli.depth * line.len(),
            sent: 0,
            replies: 0,
        });
    }

    let mut buffer = vec![0u8; 64 * 1024];
    let mut started: Option<(Instant, u64)> = None;
    let measure = Duration::from_secs(cli.seconds);
    let give_up = Instant::now() + Duration::from_secs(30) + measure;
    loop {
        let total: u64 = clients.iter().map(|c| c.replies).sum();
        match started {
            None if clients.iter().all(|c| c.replies > 0) => {
                started = Some((Instant::now(), total));
            }
            Some((at, before)) if at.elapsed() >= measure => {
                let rate = (total - before) as f64 / at.elapsed().as_secs_f64();
                println!("Requests/sec: {rate:.0}");
                return Ok(());
            }
            _ if Instant::now() > give_up => bail!("no reply from every client within 30 s"),
            _ => {}
        }

        let mut fds: Vec<PollFd> = clients
            .iter()
            .map(|c| {
                let mut events = PollFlags::POLLIN;
                if c.owed > 0 {
                    events |= PollFlags::POLLOUT;
                }
                PollFd::new(c.stream.as_fd(), events)
            })
            .collect();
        poll(&mut fds, PollTimeout::from(100u16)).context("poll")?;
        let ready: Vec<PollFlags> = fds
            .iter()
            .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);

        for (client, revents) in clients.iter_mut().zip(ready) {
            if revents.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                match client.stream.read(&mut buffer) {
                    Ok(0) => bail!("the server closed a connection"),
                    Ok(n) => {
                        let lines = buffer[..n].iter().filter(|&&b| b == b'\n').count();
                        client.replies += lines as u64;
                        client.owed += lines * line.len();
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e).context("recv"),
                }
            }
            if revents.contains(PollFlags::POLLOUT) && client.owed > 0 {
                let from = client.sent % line.len();
                let len = client.owed.min(pattern.len() - from);
                match client.stream.write(&pattern.as_bytes()[from..from + len]) {
                    Ok(n) => {
                        client.sent += n;
                        client.owed -= n;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e).context("send"),
                }
            }
        }
    }
}
