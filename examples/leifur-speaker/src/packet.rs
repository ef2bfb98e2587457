//! The frames of L2 mode: ARP requests and IPv6 neighbour solicitations in,
//! ARP replies, neighbour advertisements and their unsolicited
//! (gratuitous) forms out. Pure functions over bytes, encoded and decoded
//! with `pnet_packet`, so they are tested without a network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOptionTypes, NeighborAdvertFlags, NeighborSolicitPacket,
};
use pnet_packet::icmpv6::{self, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use pnet_packet::{MutablePacket, Packet};

const ETHERNET_HEADER: usize = 14;
const ARP_LEN: usize = 28;
const IPV6_HEADER: usize = 40;
/// A neighbour advertisement with one target link-layer address option.
const NA_LEN: usize = 24 + 8;

/// Someone on the link asks who has `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// The asker's MAC (the Ethernet source).
    pub sender_mac: MacAddr,
    /// The asker's address; for IPv6 `::` during duplicate address detection.
    pub sender_ip: IpAddr,
    /// The address asked for.
    pub target: IpAddr,
}

/// Decodes an ARP request or an ICMPv6 neighbour solicitation; anything
/// else (or anything malformed) is `None`.
pub fn parse_query(frame: &[u8]) -> Option<Query> {
    let ethernet = EthernetPacket::new(frame)?;
    match ethernet.get_ethertype() {
        EtherTypes::Arp => {
            let arp = ArpPacket::new(ethernet.payload())?;
            if arp.get_operation() != ArpOperations::Request
                || arp.get_hardware_type() != ArpHardwareTypes::Ethernet
                || arp.get_protocol_type() != EtherTypes::Ipv4
            {
                return None;
            }
            Some(Query {
                sender_mac: ethernet.get_source(),
                sender_ip: arp.get_sender_proto_addr().into(),
                target: arp.get_target_proto_addr().into(),
            })
        }
        EtherTypes::Ipv6 => {
            let ipv6 = Ipv6Packet::new(ethernet.payload())?;
            // RFC 4861 7.1.1: a valid solicitation has hop limit 255 (it
            // cannot have been routed).
            if ipv6.get_next_header() != IpNextHeaderProtocols::Icmpv6
                || ipv6.get_hop_limit() != 255
            {
                return None;
            }
            let icmp = Icmpv6Packet::new(ipv6.payload())?;
            if icmp.get_icmpv6_type() != Icmpv6Types::NeighborSolicit {
                return None;
            }
            let solicit = NeighborSolicitPacket::new(ipv6.payload())?;
            Some(Query {
                sender_mac: ethernet.get_source(),
                sender_ip: ipv6.get_source().into(),
                target: solicit.get_target_addr().into(),
            })
        }
        _ => None,
    }
}

/// The answer to `query`, as the owner of `query.target` at `our_mac`.
pub fn answer(query: &Query, our_mac: MacAddr) -> Vec<u8> {
    match (query.target, query.sender_ip) {
        (IpAddr::V4(target), IpAddr::V4(sender)) => arp(
            ArpOperations::Reply,
            our_mac,
            query.sender_mac,
            target,
            query.sender_mac,
            sender,
        ),
        (IpAddr::V6(target), IpAddr::V6(sender)) if !sender.is_unspecified() => {
            neighbor_advert(our_mac, target, query.sender_mac, sender, true)
        }
        // RFC 4861 7.2.4: a solicitation from `::` is answered to all nodes.
        (IpAddr::V6(target), _) => neighbor_advert(
            our_mac,
            target,
            MacAddr::new(0x33, 0x33, 0, 0, 0, 1),
            ALL_NODES,
            false,
        ),
        (IpAddr::V4(target), IpAddr::V6(_)) => gratuitous_arp(our_mac, target),
    }
}

/// The unsolicited announcement that `address` is now at `our_mac`:
/// gratuitous ARP (a broadcast request for our own address, which every
/// Linux host uses to refresh an existing entry), or an unsolicited
/// neighbour advertisement with the override flag to all nodes.
pub fn announcement(address: IpAddr, our_mac: MacAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(v4) => gratuitous_arp(our_mac, v4),
        IpAddr::V6(v6) => neighbor_advert(
            our_mac,
            v6,
            MacAddr::new(0x33, 0x33, 0, 0, 0, 1),
            ALL_NODES,
            false,
        ),
    }
}

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn gratuitous_arp(our_mac: MacAddr, address: Ipv4Addr) -> Vec<u8> {
    arp(
        ArpOperations::Request,
        our_mac,
        MacAddr::broadcast(),
        address,
        MacAddr::zero(),
        address,
    )
}

fn arp(
    operation: pnet_packet::arp::ArpOperation,
    our_mac: MacAddr,
    to_mac: MacAddr,
    our_ip: Ipv4Addr,
    target_mac: MacAddr,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut frame = vec![0u8; ETHERNET_HEADER + ARP_LEN];
    {
        let mut arp = MutableArpPacket::new(&mut frame[ETHERNET_HEADER..]).expect("sized above");
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(operation);
        arp.set_sender_hw_addr(our_mac);
        arp.set_sender_proto_addr(our_ip);
        arp.set_target_hw_addr(target_mac);
        arp.set_target_proto_addr(target_ip);
    }
    ethernet_header(&mut frame, to_mac, our_mac, EtherTypes::Arp);
    frame
}

fn neighbor_advert(
    our_mac: MacAddr,
    target: Ipv6Addr,
    to_mac: MacAddr,
    to_ip: Ipv6Addr,
    solicited: bool,
) -> Vec<u8> {
    let mut frame = vec![0u8; ETHERNET_HEADER + IPV6_HEADER + NA_LEN];
    {
        let icmp_bytes = &mut frame[ETHERNET_HEADER + IPV6_HEADER..];
        let mut advert = MutableNeighborAdvertPacket::new(icmp_bytes).expect("sized above");
        advert.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        let mut flags = NeighborAdvertFlags::Override;
        if solicited {
            flags |= NeighborAdvertFlags::Solicited;
        }
        advert.set_flags(flags);
        advert.set_target_addr(target);
        // The target link-layer address option (type 2, 8 bytes).
        let option = &mut advert.packet_mut()[24..];
        option[0] = NdpOptionTypes::TargetLLAddr.0;
        option[1] = 1;
        option[2..8].copy_from_slice(&mac_octets(our_mac));
    }
    let checksum = icmpv6::checksum(
        &Icmpv6Packet::new(&frame[ETHERNET_HEADER + IPV6_HEADER..]).expect("sized above"),
        &target,
        &to_ip,
    );
    MutableNeighborAdvertPacket::new(&mut frame[ETHERNET_HEADER + IPV6_HEADER..])
        .expect("sized above")
        .set_checksum(checksum);
    {
        let mut ipv6 = MutableIpv6Packet::new(&mut frame[ETHERNET_HEADER..]).expect("sized above");
        ipv6.set_version(6);
        ipv6.set_payload_length(NA_LEN as u16);
        ipv6.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ipv6.set_hop_limit(255);
        ipv6.set_source(target);
        ipv6.set_destination(to_ip);
    }
    ethernet_header(&mut frame, to_mac, our_mac, EtherTypes::Ipv6);
    frame
}

fn ethernet_header(
    frame: &mut [u8],
    destination: MacAddr,
    source: MacAddr,
    ethertype: pnet_packet::ethernet::EtherType,
) {
    let mut ethernet = MutableEthernetPacket::new(frame).expect("frame holds a header");
    ethernet.set_destination(destination);
    ethernet.set_source(source);
    ethernet.set_ethertype(ethertype);
}

fn mac_octets(mac: MacAddr) -> [u8; 6] {
    [mac.0, mac.1, mac.2, mac.3, mac.4, mac.5]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet_packet::icmpv6::ndp::{MutableNeighborSolicitPacket, NeighborAdvertPacket};

    const OURS: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x0a);
    const CLIENT: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x01);

    fn arp_request(target: Ipv4Addr) -> Vec<u8> {
        arp(
            ArpOperations::Request,
            CLIENT,
            MacAddr::broadcast(),
            "192.0.2.1".parse().unwrap(),
            MacAddr::zero(),
            target,
        )
    }

    fn solicitation(source: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
        let mut frame = vec![0u8; ETHERNET_HEADER + IPV6_HEADER + 24];
        {
            let mut ns = MutableNeighborSolicitPacket::new(&mut frame[54..]).unwrap();
            ns.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
            ns.set_target_addr(target);
        }
        let mut ipv6 = MutableIpv6Packet::new(&mut frame[14..]).unwrap();
        ipv6.set_version(6);
        ipv6.set_payload_length(24);
        ipv6.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ipv6.set_hop_limit(255);
        ipv6.set_source(source);
        ipv6.set_destination("ff02::1:ff00:10".parse().unwrap());
        ethernet_header(&mut frame, MacAddr::broadcast(), CLIENT, EtherTypes::Ipv6);
        frame
    }

    #[test]
    fn an_arp_request_is_parsed() {
        let query = parse_query(&arp_request("192.0.2.10".parse().unwrap())).unwrap();
        assert_eq!(query.sender_mac, CLIENT);
        assert_eq!(query.sender_ip, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(query.target, "192.0.2.10".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn replies_and_junk_are_not_queries() {
        let reply = answer(
            &parse_query(&arp_request("192.0.2.10".parse().unwrap())).unwrap(),
            OURS,
        );
        assert_eq!(parse_query(&reply), None);
        assert_eq!(parse_query(&[0u8; 10]), None);
        assert_eq!(parse_query(&reply[..20]), None);
        let mut routed = solicitation(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
        );
        routed[14 + 7] = 64; // hop limit
        assert_eq!(parse_query(&routed), None);
    }

    #[test]
    fn the_arp_reply_says_the_target_is_at_our_mac() {
        let query = parse_query(&arp_request("192.0.2.10".parse().unwrap())).unwrap();
        let frame = answer(&query, OURS);
        let ethernet = EthernetPacket::new(&frame).unwrap();
        assert_eq!(ethernet.get_destination(), CLIENT);
        assert_eq!(ethernet.get_source(), OURS);
        let arp = ArpPacket::new(ethernet.payload()).unwrap();
        assert_eq!(arp.get_operation(), ArpOperations::Reply);
        assert_eq!(arp.get_sender_hw_addr(), OURS);
        assert_eq!(
            arp.get_sender_proto_addr(),
            "192.0.2.10".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(arp.get_target_hw_addr(), CLIENT);
        assert_eq!(
            arp.get_target_proto_addr(),
            "192.0.2.1".parse::<Ipv4Addr>().unwrap()
        );
    }

    #[test]
    fn gratuitous_arp_is_a_broadcast_request_for_our_own_address() {
        let frame = announcement("192.0.2.10".parse().unwrap(), OURS);
        let ethernet = EthernetPacket::new(&frame).unwrap();
        assert_eq!(ethernet.get_destination(), MacAddr::broadcast());
        let arp = ArpPacket::new(ethernet.payload()).unwrap();
        assert_eq!(arp.get_operation(), ArpOperations::Request);
        assert_eq!(arp.get_sender_proto_addr(), arp.get_target_proto_addr());
        assert_eq!(arp.get_sender_hw_addr(), OURS);
    }

    fn check_advert(frame: &[u8], to: Ipv6Addr, target: Ipv6Addr, solicited: bool) {
        let ethernet = EthernetPacket::new(frame).unwrap();
        assert_eq!(ethernet.get_ethertype(), EtherTypes::Ipv6);
        let ipv6 = Ipv6Packet::new(ethernet.payload()).unwrap();
        assert_eq!(ipv6.get_hop_limit(), 255);
        assert_eq!(ipv6.get_destination(), to);
        assert_eq!(ipv6.get_source(), target);
        assert_eq!(ipv6.get_payload_length() as usize, ipv6.payload().len());
        let icmp = Icmpv6Packet::new(ipv6.payload()).unwrap();
        assert_eq!(
            icmpv6::checksum(&icmp, &ipv6.get_source(), &ipv6.get_destination()),
            icmp.get_checksum(),
            "checksum"
        );
        let advert = NeighborAdvertPacket::new(ipv6.payload()).unwrap();
        assert_eq!(advert.get_icmpv6_type(), Icmpv6Types::NeighborAdvert);
        assert_eq!(advert.get_target_addr(), target);
        let flags = advert.get_flags();
        assert_ne!(flags & NeighborAdvertFlags::Override, 0);
        assert_eq!(flags & NeighborAdvertFlags::Solicited != 0, solicited);
        let options = advert.get_options();
        assert_eq!(options.len(), 1);
        assert_eq!(options[0].option_type, NdpOptionTypes::TargetLLAddr);
        assert_eq!(options[0].data, mac_octets(OURS));
    }

    #[test]
    fn a_solicitation_gets_a_solicited_advertisement() {
        let source: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let target: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let query = parse_query(&solicitation(source, target)).unwrap();
        assert_eq!(query.target, IpAddr::from(target));
        let frame = answer(&query, OURS);
        assert_eq!(
            EthernetPacket::new(&frame).unwrap().get_destination(),
            CLIENT
        );
        check_advert(&frame, source, target, true);
    }

    #[test]
    fn duplicate_address_detection_is_answered_to_all_nodes() {
        let target: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let query = parse_query(&solicitation(Ipv6Addr::UNSPECIFIED, target)).unwrap();
        check_advert(&answer(&query, OURS), ALL_NODES, target, false);
    }

    #[test]
    fn the_unsolicited_advertisement_overrides_at_all_nodes() {
        let target: Ipv6Addr = "2001:db8::10".parse().unwrap();
        check_advert(&announcement(target.into(), OURS), ALL_NODES, target, false);
    }
}
