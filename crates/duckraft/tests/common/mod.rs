//! Helpers shared by the process-level tests.

/// A free loopback port below Linux's ephemeral range (32768 and up), so
/// that no outgoing connection (peers reconnect all the time) can take it
/// between this check and the server's bind.
pub fn free_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for _ in 0..1000 {
        let port = rng.gen_range(20000..32000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000..32000");
}
