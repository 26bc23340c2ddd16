//! The "relay floor" for benches/load.sh: the least a TCP proxy written with tokio can do per
//! byte. It accepts connections, opens one to the next backend (round robin), and copies bytes
//! both ways until either side closes — it parses nothing, so it cannot split reads from writes
//! and is only a fair comparison for read-only workloads. Whatever rwsplit spends above this is
//! the price of understanding the protocol (and of its own design choices).
//!
//! One thread (tokio current_thread runtime), like `rwsplit --threads 1`; TCP_NODELAY on both
//! sockets, as rwsplit and haproxy do.
//!
//!   cargo run --release --example tcp_relay -- 127.0.0.1:4000 127.0.0.1:3307 127.0.0.1:3308
//!
//! Arguments: LISTEN BACKEND [BACKEND...]. Stops on SIGINT/SIGTERM (the default action).

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::io;
use tokio::net::{TcpListener, TcpStream};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: tcp_relay LISTEN BACKEND [BACKEND...]   (host:port each)");
        return ExitCode::from(2);
    }
    let parse = |s: &String| -> Option<SocketAddr> {
        let a = s.parse().ok();
        if a.is_none() {
            eprintln!("tcp_relay: not an ip:port address: {s}");
        }
        a
    };
    let Some(listen) = parse(&args[0]) else {
        return ExitCode::from(2);
    };
    let Some(backends) = args[1..].iter().map(parse).collect::<Option<Vec<_>>>() else {
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tcp_relay: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(listen, backends)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcp_relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: SocketAddr, backends: Vec<SocketAddr>) -> io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let mut next = 0usize;
    loop {
        let (client, _) = match listener.accept().await {
            Ok(c) => c,
            // EMFILE and the like: keep serving the connections we have.
            Err(e) => {
                eprintln!("tcp_relay: accept: {e}");
                continue;
            }
        };
        let backend = backends[next % backends.len()];
        next = next.wrapping_add(1);
        tokio::spawn(async move {
            if let Err(e) = relay(client, backend).await {
                eprintln!("tcp_relay: {backend}: {e}");
            }
        });
    }
}

async fn relay(client: TcpStream, backend: SocketAddr) -> io::Result<()> {
    let server = TcpStream::connect(backend).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    // Each direction ends when its reader sees EOF (then shuts down the other side's write
    // half, passing the close on) or on an error; the connection ends when both have.
    let upstream = async {
        io::copy(&mut client_rd, &mut server_wr).await?;
        io::AsyncWriteExt::shutdown(&mut server_wr).await
    };
    let downstream = async {
        io::copy(&mut server_rd, &mut client_wr).await?;
        io::AsyncWriteExt::shutdown(&mut client_wr).await
    };
    let (up, down) = tokio::join!(upstream, downstream);
    // A reset after the other side closed is the normal end of a MySQL session (COM_QUIT, then
    // the server closes); report only what is not.
    for r in [up, down] {
        if let Err(e) = r {
            if !matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::NotConnected
            ) {
                return Err(e);
            }
        }
    }
    Ok(())
}
