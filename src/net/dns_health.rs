//! Is a resolver answering? One question on a UDP socket kept per server.
//!
//! A full DNS client (hickory) opens a fresh socket for every query, so that each query has a
//! random source port against cache poisoning. That is right for lookups whose answers are
//! used, but a dashboard asking each resolver "are you there?" every round would then open a
//! socket per resolver per round. Here the socket is kept: the answer is only a status and a
//! round trip, never used as data, so a fixed source port costs nothing in safety.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::{Message, MessageType, OpCode, Query};
use hickory_resolver::proto::rr::{Name, RecordType as WireType};
use tokio::net::UdpSocket;

use crate::core::model::DnsStatus;

/// Sockets by server. Each is used by one check at a time (its mutex), so replies to an
/// earlier, timed-out question are skipped by id rather than mistaken for this one's.
#[derive(Debug, Default, Clone)]
pub struct HealthSockets {
    by_server: Arc<Mutex<HashMap<SocketAddr, Arc<tokio::sync::Mutex<UdpSocket>>>>>,
}

impl HealthSockets {
    async fn socket(
        &self,
        server: SocketAddr,
    ) -> std::io::Result<Arc<tokio::sync::Mutex<UdpSocket>>> {
        if let Some(s) = lock(&self.by_server).get(&server) {
            return Ok(Arc::clone(s));
        }
        let any: SocketAddr = if server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(any).await?;
        sock.connect(server).await?;
        let sock = Arc::new(tokio::sync::Mutex::new(sock));
        lock(&self.by_server).insert(server, Arc::clone(&sock));
        Ok(sock)
    }

    /// Ask `server` for `name` `PTR` (or any type) and say how it answered: its response code
    /// and round trip, `Timeout` when nothing came within `timeout`, `Error` when the socket
    /// could not be used. Call on the runtime that will keep using this value.
    pub async fn ask(
        &self,
        server: SocketAddr,
        name: &str,
        qtype: WireType,
        timeout: Duration,
    ) -> (DnsStatus, Option<Duration>) {
        let Ok(name) = Name::from_ascii(name) else {
            return (DnsStatus::Error, None);
        };
        let Ok(sock) = self.socket(server).await else {
            return (DnsStatus::Error, None);
        };
        let sock = sock.lock().await;
        let id: u16 = rand::random();
        let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
        msg.metadata.recursion_desired = true;
        msg.add_query(Query::query(name, qtype));
        let Ok(bytes) = msg.to_vec() else {
            return (DnsStatus::Error, None);
        };
        let sent = Instant::now();
        if sock.send(&bytes).await.is_err() {
            return (DnsStatus::Error, None);
        }
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => return (DnsStatus::Timeout, None),
                // ICMP port unreachable on a connected socket: nobody serves DNS there.
                Ok(Err(_)) => return (DnsStatus::Error, None),
                Ok(Ok(n)) => {
                    let Ok(reply) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    if reply.metadata.id != id
                        || reply.metadata.message_type != MessageType::Response
                    {
                        continue;
                    }
                    let status = crate::net::dns::status_of(reply.metadata.response_code);
                    return (status, Some(sent.elapsed()));
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver of our own on loopback: the socket is reused, ids are matched, and a reply
    /// to an earlier question is skipped.
    #[tokio::test]
    async fn one_socket_per_server_and_ids_matched() {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let serve = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let mut peers = Vec::new();
            for round in 0..2 {
                let (n, peer) = server.recv_from(&mut buf).await.expect("recv");
                peers.push(peer);
                let q = Message::from_vec(&buf[..n]).expect("query");
                // First a stale reply (wrong id), then the real one: NXDOMAIN, then NOERROR.
                let mut stale = Message::response(q.metadata.id.wrapping_add(1), OpCode::Query);
                stale.metadata.response_code = hickory_resolver::proto::op::ResponseCode::ServFail;
                server
                    .send_to(&stale.to_vec().expect("enc"), peer)
                    .await
                    .expect("send");
                let mut r = Message::response(q.metadata.id, OpCode::Query);
                r.metadata.response_code = if round == 0 {
                    hickory_resolver::proto::op::ResponseCode::NXDomain
                } else {
                    hickory_resolver::proto::op::ResponseCode::NoError
                };
                server
                    .send_to(&r.to_vec().expect("enc"), peer)
                    .await
                    .expect("send");
            }
            peers
        });
        let h = HealthSockets::default();
        let t = Duration::from_secs(2);
        let (s1, rtt1) = h
            .ask(addr, "1.0.0.127.in-addr.arpa.", WireType::PTR, t)
            .await;
        let (s2, _) = h
            .ask(addr, "1.0.0.127.in-addr.arpa.", WireType::PTR, t)
            .await;
        assert_eq!((s1, s2), (DnsStatus::NxDomain, DnsStatus::NoError));
        assert!(rtt1.is_some());
        let peers = serve.await.expect("server");
        assert_eq!(peers[0], peers[1], "the same socket asked both times");
    }

    #[tokio::test]
    async fn silence_is_a_timeout() {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let h = HealthSockets::default();
        let (s, rtt) = h
            .ask(addr, "x.", WireType::A, Duration::from_millis(100))
            .await;
        assert_eq!((s, rtt), (DnsStatus::Timeout, None));
        drop(server);
    }
}
