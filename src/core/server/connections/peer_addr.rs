//! A connection's peer address as the server keeps it: 20 bytes, where `SocketAddr` takes 32.
//!
//! There is one in every open connection's entry, idle ones included, and the entry is read on every
//! command; twelve bytes on each of tens of thousands of connections is worth a type of its own.
//! What is kept is what says who the peer is: the family, the address and the port. An IPv6
//! address's flow label and scope id are not: the flow label is the peer's label for a flow, not
//! part of its address, and the scope id numbers one of the server's own interfaces, which means
//! nothing to anyone else (a private chat's peer, the operator reading the log). The snapshot never
//! kept them either: serde writes a socket address as its address and port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A peer's family, address and port (an IPv4 address in the first four bytes of `ip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerAddr {
    ip: [u8; 16],
    port: u16,
    v6: bool,
}

impl From<SocketAddr> for PeerAddr {
    fn from(addr: SocketAddr) -> Self {
        let mut ip = [0; 16];
        let v6 = match addr.ip() {
            IpAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.octets());
                false
            }
            IpAddr::V6(v6) => {
                ip = v6.octets();
                true
            }
        };
        PeerAddr {
            ip,
            port: addr.port(),
            v6,
        }
    }
}

impl From<PeerAddr> for SocketAddr {
    fn from(peer: PeerAddr) -> Self {
        let ip = if peer.v6 {
            IpAddr::V6(Ipv6Addr::from(peer.ip))
        } else {
            let [a, b, c, d, ..] = peer.ip;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        };
        SocketAddr::new(ip, peer.port)
    }
}

/// Written as the socket address it stands for, in the form the snapshot always had.
impl serde::Serialize for PeerAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SocketAddr::from(*self).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PeerAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SocketAddr::deserialize(d).map(PeerAddr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV6;

    #[test]
    fn is_twenty_bytes() {
        assert_eq!(std::mem::size_of::<PeerAddr>(), 20);
    }

    #[test]
    fn gives_back_the_family_address_and_port() {
        for text in [
            "127.0.0.1:4000",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "[::1]:4000",
            "[::ffff:10.0.0.1]:7",
            "[2001:db8::42]:65535",
            "[::]:1",
        ] {
            let addr: SocketAddr = text.parse().unwrap();
            let back = SocketAddr::from(PeerAddr::from(addr));
            assert_eq!(back, addr, "{text}");
            assert_eq!(back.is_ipv6(), addr.is_ipv6(), "{text}");
        }
    }

    #[test]
    fn leaves_out_the_flow_label_and_scope() {
        let ip: Ipv6Addr = "fe80::1".parse().unwrap();
        let addr = SocketAddr::V6(SocketAddrV6::new(ip, 9, 7, 3));
        assert_eq!(
            SocketAddr::from(PeerAddr::from(addr)),
            SocketAddr::V6(SocketAddrV6::new(ip, 9, 0, 0))
        );
    }

    #[test]
    fn is_written_as_its_socket_address() {
        for text in ["10.1.2.3:80", "[2001:db8::1]:443"] {
            let addr: SocketAddr = text.parse().unwrap();
            let peer = PeerAddr::from(addr);
            let bytes = postcard::to_allocvec(&peer).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&addr).unwrap());
            let read: PeerAddr = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(read, peer);
        }
    }
}
