//! Helpers shared by the process-level tests.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// Ports this test process already handed out. A port is only bound by its
/// server later, so without this two nodes (or two tests running side by
/// side) could be given the same one, and one of them would fail to start.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A free loopback port below Linux's ephemeral range (32768 and up), so
/// that no outgoing connection (peers reconnect all the time) can take it
/// between this check and the server's bind. Never the same port twice in
/// one test process.
pub fn free_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let port = rng.gen_range(20000..32000);
        if handed_out.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
    }
    panic!("no free loopback port in 20000..32000");
}
