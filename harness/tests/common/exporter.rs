//! A fake Prometheus exporter on 127.0.0.1 serving a RAPL-style energy counter, for runs that
//! sample power in tests.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Serve `node_rapl_package_joules_total` = `joules(seconds since start)`; stop answering
/// (close every connection unanswered) after `answers` scrapes. Returns the metrics URL and
/// the count of scrapes served.
pub fn rapl_exporter(answers: usize, joules: fn(f64) -> f64) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    std::thread::spawn(move || {
        let start = Instant::now();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            if count.fetch_add(1, Ordering::SeqCst) >= answers {
                continue; // dropped unanswered: the endpoint is dead
            }
            let joules = joules(start.elapsed().as_secs_f64());
            let body = format!(
                "# HELP node_rapl_package_joules_total Current RAPL package value in joules\n\
                 # TYPE node_rapl_package_joules_total counter\n\
                 node_rapl_package_joules_total{{index=\"0\",path=\"/sys/class/powercap/intel-rapl:0\"}} {joules:.6}\n"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, served)
}
