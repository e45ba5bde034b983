//! The special-purpose address blocks of IANA's registries (IPv4: RFC 6890 and the `iana-ipv4-special-registry`;
//! IPv6: the `iana-ipv6-special-registry`), and the other blocks no public service lives in (multicast, reserved,
//! 6to4 and Teredo, whose addresses embed an IPv4 address that may be private). A server made to connect somewhere
//! by a request (a callback, a prompt) must not reach any of them unless told to: they are the machine itself, the
//! networks it sits in, or addresses that translate into those.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A block of addresses and why it is special.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialBlock {
    pub network: &'static str,
    pub name: &'static str,
}

const fn block(network: &'static str, name: &'static str) -> SpecialBlock {
    SpecialBlock { network, name }
}

/// IPv4.
const IPV4: [(u32, u8, SpecialBlock); 20] = [
    (0x0000_0000, 8, block("0.0.0.0/8", "\"this network\" (RFC 791)")),
    (0x0a00_0000, 8, block("10.0.0.0/8", "private use (RFC 1918)")),
    (0x6440_0000, 10, block("100.64.0.0/10", "shared address space, carrier-grade NAT (RFC 6598)")),
    (0x7f00_0000, 8, block("127.0.0.0/8", "loopback (RFC 1122)")),
    (0xa9fe_0000, 16, block("169.254.0.0/16", "link local (RFC 3927), cloud metadata services")),
    (0xac10_0000, 12, block("172.16.0.0/12", "private use (RFC 1918)")),
    (0xc000_0000, 24, block("192.0.0.0/24", "IETF protocol assignments (RFC 6890)")),
    (0xc000_0200, 24, block("192.0.2.0/24", "documentation, TEST-NET-1 (RFC 5737)")),
    (0xc01f_c400, 24, block("192.31.196.0/24", "AS112-v4 (RFC 7535)")),
    (0xc034_c100, 24, block("192.52.193.0/24", "AMT (RFC 7450)")),
    (0xc058_6300, 24, block("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)")),
    (0xc0a8_0000, 16, block("192.168.0.0/16", "private use (RFC 1918)")),
    (0xc0af_3000, 24, block("192.175.48.0/24", "direct delegation AS112 service (RFC 7534)")),
    (0xc612_0000, 15, block("198.18.0.0/15", "benchmarking (RFC 2544)")),
    (0xc633_6400, 24, block("198.51.100.0/24", "documentation, TEST-NET-2 (RFC 5737)")),
    (0xcb00_7100, 24, block("203.0.113.0/24", "documentation, TEST-NET-3 (RFC 5737)")),
    (0xe000_0000, 4, block("224.0.0.0/4", "multicast (RFC 5771)")),
    (0xffff_ffff, 32, block("255.255.255.255/32", "limited broadcast (RFC 919)")),
    (0xf000_0000, 4, block("240.0.0.0/4", "reserved (RFC 1112)")),
    // Inside 0.0.0.0/8; the most specific block is the one named.
    (0x0000_0000, 32, block("0.0.0.0/32", "the unspecified address")),
];

/// IPv6. The blocks that carry an IPv4 address a gateway or the stack turns into an IPv4 destination (IPv4-mapped,
/// NAT64, 6to4) are judged by the IPv4 address they carry, in [`ipv6`]; Teredo and IPv4-compatible addresses, which
/// nothing legitimate calls back to, are refused whole.
const IPV6: [(u128, u8, SpecialBlock); 15] = [
    (0, 128, block("::/128", "the unspecified address")),
    (1, 128, block("::1/128", "loopback (RFC 4291)")),
    (0, 96, block("::/96", "deprecated IPv4-compatible (RFC 4291)")),
    (0x0064_ff9b_0001 << 80, 48, block("64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)")),
    (0x0100 << 112, 64, block("100::/64", "discard-only (RFC 6666)")),
    (0x2001 << 112, 32, block("2001::/32", "Teredo, embeds an IPv4 address (RFC 4380)")),
    (0x2001_0db8 << 96, 32, block("2001:db8::/32", "documentation (RFC 3849)")),
    (0x2001 << 112, 23, block("2001::/23", "IETF protocol assignments (RFC 2928)")),
    (0x3fff << 112, 20, block("3fff::/20", "documentation (RFC 9637)")),
    (0x5f00 << 112, 16, block("5f00::/16", "segment routing SIDs (RFC 9602)")),
    (0xfc00 << 112, 7, block("fc00::/7", "unique local (RFC 4193)")),
    (0xfe80 << 112, 10, block("fe80::/10", "link local (RFC 4291)")),
    (0xfec0 << 112, 10, block("fec0::/10", "deprecated site local (RFC 3879)")),
    (0xff00 << 112, 8, block("ff00::/8", "multicast (RFC 4291)")),
    // Everything IANA has not allocated for global unicast is outside 2000::/3.
    (0, 0, block("outside 2000::/3", "not global unicast (RFC 4291)")),
];

/// Whether the `width`-bit `address` is in `network/prefix`.
fn within(address: u128, network: u128, prefix: u8, width: u32) -> bool {
    let shift = width - u32::from(prefix);
    shift >= 128 || address >> shift == network >> shift
}

/// The most specific block of `table` that holds `address`.
fn most_specific<T: Copy + Into<u128>>(
    table: &[(T, u8, SpecialBlock)],
    address: u128,
    width: u32,
) -> Option<SpecialBlock> {
    table
        .iter()
        .filter(|(network, prefix, _)| within(address, (*network).into(), *prefix, width))
        .max_by_key(|(_, prefix, _)| *prefix)
        .map(|(_, _, block)| *block)
}

fn ipv4(ip: Ipv4Addr) -> Option<SpecialBlock> {
    most_specific(&IPV4, u128::from(u32::from(ip)), 32)
}

fn ipv6(ip: Ipv6Addr) -> Option<SpecialBlock> {
    let address = u128::from(ip);
    let [a, b, c, ..] = ip.segments();
    let carried = if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4) // ::ffff:0:0/96 (RFC 4291)
    } else if address >> 32 == 0x0064_ff9b << 64 {
        Some(Ipv4Addr::from((address & 0xffff_ffff) as u32)) // 64:ff9b::/96, NAT64 (RFC 6052)
    } else if a == 0x2002 {
        Some(Ipv4Addr::from((u32::from(b) << 16) | u32::from(c))) // 2002::/16, 6to4 (RFC 3056)
    } else {
        None
    };
    if let Some(v4) = carried {
        return ipv4(v4);
    }
    // Everything outside 2000::/3 is reserved or special (the table's last row, with a prefix of 0, says so).
    let global_unicast = address >> 125 == 1;
    let table: &[_] = if global_unicast { &IPV6[..IPV6.len() - 1] } else { &IPV6 };
    most_specific(table, address, 128)
}

/// The special-purpose block `ip` is in, if any; `None` for a public unicast address.
pub fn special_block(ip: IpAddr) -> Option<SpecialBlock> {
    match ip {
        IpAddr::V4(v4) => ipv4(v4),
        IpAddr::V6(v6) => ipv6(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One address of every block, and its edges.
    #[test]
    fn every_special_purpose_block_is_refused_and_public_addresses_are_not() {
        let special = [
            ("0.0.0.0", "0.0.0.0/32"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("0.255.255.255", "0.0.0.0/8"),
            ("10.0.0.1", "10.0.0.0/8"),
            ("100.64.0.1", "100.64.0.0/10"),
            ("100.127.255.255", "100.64.0.0/10"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.255.255.254", "127.0.0.0/8"),
            ("169.254.169.254", "169.254.0.0/16"),
            ("172.16.0.1", "172.16.0.0/12"),
            ("172.31.255.255", "172.16.0.0/12"),
            ("192.0.0.8", "192.0.0.0/24"),
            ("192.0.2.1", "192.0.2.0/24"),
            ("192.31.196.1", "192.31.196.0/24"),
            ("192.52.193.1", "192.52.193.0/24"),
            ("192.88.99.1", "192.88.99.0/24"),
            ("192.168.1.1", "192.168.0.0/16"),
            ("192.175.48.1", "192.175.48.0/24"),
            ("198.18.0.1", "198.18.0.0/15"),
            ("198.19.255.255", "198.18.0.0/15"),
            ("198.51.100.1", "198.51.100.0/24"),
            ("203.0.113.1", "203.0.113.0/24"),
            ("224.0.0.1", "224.0.0.0/4"),
            ("239.255.255.250", "224.0.0.0/4"),
            ("240.0.0.1", "240.0.0.0/4"),
            ("255.255.255.254", "240.0.0.0/4"),
            ("255.255.255.255", "255.255.255.255/32"),
            ("::", "::/128"),
            ("::1", "::1/128"),
            ("::ffff:127.0.0.1", "127.0.0.0/8"),
            ("::ffff:10.1.2.3", "10.0.0.0/8"),
            ("::127.0.0.1", "::/96"),
            ("::10.0.0.1", "::/96"),
            ("::8.8.8.8", "::/96"),
            ("64:ff9b::7f00:1", "127.0.0.0/8"),
            ("64:ff9b::a9fe:a9fe", "169.254.0.0/16"),
            ("64:ff9b::c612:1", "198.18.0.0/15"),
            ("64:ff9b:1::1", "64:ff9b:1::/48"),
            ("100::1", "100::/64"),
            ("2001::1", "2001::/32"),
            ("2001:2::1", "2001::/23"),
            ("2001:db8::1", "2001:db8::/32"),
            ("2002:7f00:1::1", "127.0.0.0/8"),
            ("2002:a00:1::", "10.0.0.0/8"),
            ("2002:f000:1::", "240.0.0.0/4"),
            ("3fff::1", "3fff::/20"),
            ("5f00::1", "5f00::/16"),
            ("fc00::1", "fc00::/7"),
            ("fd12:3456::1", "fc00::/7"),
            ("fe80::1", "fe80::/10"),
            ("febf::1", "fe80::/10"),
            ("fec0::1", "fec0::/10"),
            ("ff02::1", "ff00::/8"),
            ("4000::1", "outside 2000::/3"),
            ("1::1", "outside 2000::/3"),
        ];
        for (address, expected) in special {
            let block = special_block(address.parse().unwrap());
            assert_eq!(block.map(|b| b.network), Some(expected), "{address}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "20.190.160.1",
            "52.112.0.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "192.0.1.1",
            "2603:1000::1",
            "2a00:1450:4001::1",
            "2001:4860:4860::8888",
            "2620:1ec:c11::200",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(special_block(public.parse().unwrap()), None, "{public}");
        }
    }
}
