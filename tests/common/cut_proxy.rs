//! A TCP proxy of the tests' own in front of the real Directus that loses the answer to an
//! upload: the request reaches Directus whole (the file is stored), but the client's
//! connection is closed before a byte of the reply comes back, as a line cut at that moment
//! would. Everything else (the socket, other requests) passes unchanged.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CutProxy {
    pub port: u16,
    /// Uploads still to cut.
    to_cut: Arc<AtomicUsize>,
    /// Uploads that reached Directus through here.
    uploads: Arc<AtomicUsize>,
}

impl CutProxy {
    pub fn start(upstream_port: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let to_cut = Arc::new(AtomicUsize::new(0));
        let uploads = Arc::new(AtomicUsize::new(0));
        let (cut, seen) = (to_cut.clone(), uploads.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (cut, seen) = (cut.clone(), seen.clone());
                std::thread::spawn(move || serve(client, upstream_port, &cut, &seen));
            }
        });
        CutProxy {
            port,
            to_cut,
            uploads,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Lose the answers to the next `n` uploads.
    pub fn cut_uploads(&self, n: usize) {
        self.to_cut.store(n, Ordering::SeqCst);
    }

    pub fn uploads(&self) -> usize {
        self.uploads.load(Ordering::SeqCst)
    }
}

fn serve(mut client: TcpStream, upstream_port: u16, to_cut: &AtomicUsize, uploads: &AtomicUsize) {
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
        return;
    };
    // The request line decides: enough bytes for "POST /files".
    let mut start = vec![0u8; 16];
    let mut got = 0;
    while got < start.len() {
        match client.read(&mut start[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    start.truncate(got);
    let upload = start.starts_with(b"POST /files");
    if upload {
        uploads.fetch_add(1, Ordering::SeqCst);
    }
    let cut = upload
        && to_cut
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if upstream.write_all(&start).is_err() {
        return;
    }
    let (Ok(mut from_client), Ok(mut to_upstream)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    if cut {
        // Directus answers (the file is stored); the client never hears it.
        let _ = std::io::copy(&mut upstream, &mut std::io::sink());
        let _ = client.shutdown(Shutdown::Both);
    } else {
        let _ = std::io::copy(&mut upstream, &mut client);
        let _ = client.shutdown(Shutdown::Write);
    }
}
