//! Address arithmetic on pool entries: parse an entry of
//! `IPPool.spec.addresses` into an inclusive range, and ask of ranges what
//! IPAM and announcement need (size, membership, overlap, iteration).
//!
//! Every address is handled as a `u128` inside its family, so an IPv6 range
//! of 2^64 (or 2^127) addresses costs no more than a /30: nothing here
//! iterates a range to measure it. Pure and allocation-free, for the
//! controller, the speaker and the tests alike.
//!
//! The accepted forms are the ones the CRD's CEL rules accept (the
//! apiserver's `isCIDR` and `isIP`), so an entry the apiserver stored parses
//! here: a CIDR (`192.0.2.0/24`, `2001:db8::/120`; host bits must be zero) or
//! a range `first-last` of two addresses of one family, `first <= last`.
//! Zones (`fe80::1%eth0`) and IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`)
//! are refused, as Kubernetes refuses them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a pool entry is not an address range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Neither a CIDR nor a `first-last` range.
    #[error(
        "`{0}` is not a CIDR (192.0.2.0/24) or a range of two addresses (192.0.2.10-192.0.2.20)"
    )]
    Malformed(String),
    /// An address of the entry does not parse.
    #[error("`{entry}`: `{address}` is not an IP address")]
    BadAddress {
        /// The whole entry.
        entry: String,
        /// The part that is not an address.
        address: String,
    },
    /// An IPv4-mapped IPv6 address, which Kubernetes refuses as ambiguous.
    #[error("`{0}`: IPv4-mapped IPv6 addresses are not allowed; write the IPv4 address")]
    Mapped(String),
    /// A prefix length outside the family's bits.
    #[error("`{entry}`: prefix length {prefix} is out of range for the family (at most {max})")]
    BadPrefix {
        /// The whole entry.
        entry: String,
        /// The prefix length given.
        prefix: String,
        /// 32 or 128.
        max: u8,
    },
    /// A CIDR with host bits set, which names a network ambiguously.
    #[error("`{entry}`: host bits are set; the network is {network}")]
    HostBits {
        /// The whole entry.
        entry: String,
        /// The CIDR with its host bits cleared.
        network: String,
    },
    /// A range whose two ends are of different families.
    #[error("`{0}`: first and last are of different IP families")]
    MixedFamily(String),
    /// A range whose first address is above its last.
    #[error("`{0}`: first address is after the last")]
    Reversed(String),
}

/// The IP family of an address or range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Address width in bits.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The name Kubernetes uses in `spec.ipFamilies`.
    pub fn kubernetes_name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// An inclusive range of addresses of one family, `first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressRange {
    family: Family,
    first: u128,
    last: u128,
}

/// The address as a number within its family.
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address numbered `n` in `family`; `n` must fit the family.
fn from_u128(family: Family, n: u128) -> IpAddr {
    match family {
        // Callers only pass numbers inside a range of the family.
        Family::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// Parses one address as Kubernetes' CEL `ip()` does: no zone, no
/// IPv4-mapped IPv6, no leading zeros in IPv4 (Rust's parser refuses those
/// too).
pub fn parse_ip(entry: &str, s: &str) -> Result<IpAddr, AddressError> {
    let ip = IpAddr::from_str(s).map_err(|_| AddressError::BadAddress {
        entry: entry.to_string(),
        address: s.to_string(),
    })?;
    if let IpAddr::V6(v6) = ip
        && v6.to_ipv4_mapped().is_some()
    {
        return Err(AddressError::Mapped(entry.to_string()));
    }
    Ok(ip)
}

impl AddressRange {
    /// The range from `first` to `last` inclusive.
    pub fn new(first: IpAddr, last: IpAddr) -> Result<AddressRange, AddressError> {
        let entry = || format!("{first}-{last}");
        if Family::of(first) != Family::of(last) {
            return Err(AddressError::MixedFamily(entry()));
        }
        let (a, b) = (to_u128(first), to_u128(last));
        if a > b {
            return Err(AddressError::Reversed(entry()));
        }
        Ok(AddressRange {
            family: Family::of(first),
            first: a,
            last: b,
        })
    }

    /// The single address `ip`.
    pub fn single(ip: IpAddr) -> AddressRange {
        AddressRange {
            family: Family::of(ip),
            first: to_u128(ip),
            last: to_u128(ip),
        }
    }

    /// Parses a pool entry: a CIDR or `first-last`.
    pub fn parse(entry: &str) -> Result<AddressRange, AddressError> {
        if let Some((ip, prefix)) = entry.split_once('/') {
            let ip = parse_ip(entry, ip)?;
            let family = Family::of(ip);
            let bits = family.bits();
            // Digits only: `u8::from_str` would take `+24`, which Go refuses.
            let prefix_len = (!prefix.is_empty()
                && prefix.len() <= 3
                && prefix.bytes().all(|b| b.is_ascii_digit())
                && !(prefix.len() > 1 && prefix.starts_with('0')))
            .then(|| prefix.parse::<u8>().ok())
            .flatten()
            .filter(|p| *p <= bits)
            .ok_or_else(|| AddressError::BadPrefix {
                entry: entry.to_string(),
                prefix: prefix.to_string(),
                max: bits,
            })?;
            let host_bits = u32::from(bits - prefix_len);
            let host_mask = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let n = to_u128(ip);
            if n & host_mask != 0 {
                return Err(AddressError::HostBits {
                    entry: entry.to_string(),
                    network: format!("{}/{prefix_len}", from_u128(family, n & !host_mask)),
                });
            }
            return Ok(AddressRange {
                family,
                first: n,
                last: n | host_mask,
            });
        }
        match entry.split_once('-') {
            Some((first, last)) => {
                let first = parse_ip(entry, first)?;
                let last = parse_ip(entry, last)?;
                match AddressRange::new(first, last) {
                    Err(AddressError::MixedFamily(_)) => {
                        Err(AddressError::MixedFamily(entry.to_string()))
                    }
                    Err(AddressError::Reversed(_)) => {
                        Err(AddressError::Reversed(entry.to_string()))
                    }
                    other => other,
                }
            }
            None => Err(AddressError::Malformed(entry.to_string())),
        }
    }

    /// The family of the range.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The first address.
    pub fn first(&self) -> IpAddr {
        from_u128(self.family, self.first)
    }

    /// The last address.
    pub fn last(&self) -> IpAddr {
        from_u128(self.family, self.last)
    }

    /// The number of addresses. The whole IPv6 space (`::/0`) has 2^128,
    /// one more than a `u128` holds: it saturates at `u128::MAX`.
    pub fn size(&self) -> u128 {
        (self.last - self.first).saturating_add(1)
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Family::of(ip) == self.family && (self.first..=self.last).contains(&to_u128(ip))
    }

    /// Whether the two ranges share an address.
    pub fn overlaps(&self, other: &AddressRange) -> bool {
        self.family == other.family && self.first <= other.last && other.first <= self.last
    }

    /// The prefix length when the range is exactly one CIDR block.
    fn prefix_len(&self) -> Option<u8> {
        let span = self.last - self.first;
        // A block is 2^k addresses (span 2^k - 1, all ones) from a first
        // address whose low k bits are zero.
        let all_ones = span.checked_add(1).is_none_or(u128::is_power_of_two);
        if !all_ones || self.first & span != 0 {
            return None;
        }
        let host_bits = (128 - span.leading_zeros()) as u8;
        self.family.bits().checked_sub(host_bits)
    }

    /// The addresses of the range in order, skipping `.0` and `.255` IPv4
    /// addresses when `avoid_buggy_ips` (some old clients mistake them for
    /// network or broadcast addresses). Lazy: a /64 costs nothing until
    /// iterated.
    pub fn iter(&self, avoid_buggy_ips: bool) -> impl Iterator<Item = IpAddr> + use<> {
        let family = self.family;
        let mut next = Some(self.first);
        let last = self.last;
        std::iter::from_fn(move || {
            loop {
                let n = next?;
                next = if n < last { Some(n + 1) } else { None };
                let ip = from_u128(family, n);
                if !(avoid_buggy_ips && is_buggy(ip)) {
                    return Some(ip);
                }
            }
        })
    }

    /// The first address at or after `from` (in the range) that is not
    /// buggy when avoided; `None` past the end.
    pub fn first_at_or_after(&self, from: IpAddr, avoid_buggy_ips: bool) -> Option<IpAddr> {
        if Family::of(from) != self.family {
            return None;
        }
        let start = to_u128(from).max(self.first);
        if start > self.last {
            return None;
        }
        AddressRange {
            family: self.family,
            first: start,
            last: self.last,
        }
        .iter(avoid_buggy_ips)
        .next()
    }

    /// How many addresses of the range `iter(avoid_buggy_ips)` yields,
    /// saturating like [`size`](Self::size).
    pub fn usable(&self, avoid_buggy_ips: bool) -> u128 {
        if !avoid_buggy_ips || self.family == Family::V6 {
            return self.size();
        }
        // IPv4: count x.y.z.0 and x.y.z.255 in [first, last] per 256 block.
        let below = |n: u128| -> u128 {
            // Buggy addresses in [0, n).
            let blocks = n / 256;
            let rest = n % 256;
            blocks * 2 + u128::from(rest > 0) + u128::from(rest > 255)
        };
        let buggy = below(self.last + 1) - below(self.first);
        self.size() - buggy
    }
}

/// Whether an address ends in `.0` or `.255` (IPv4 only).
pub fn is_buggy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => matches!(v4.octets()[3], 0 | 255),
        IpAddr::V6(_) => false,
    }
}

impl fmt::Display for AddressRange {
    /// A CIDR when the range is exactly one block, otherwise `first-last`;
    /// either form parses back to the same range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix_len() {
            Some(p) => write!(f, "{}/{p}", self.first()),
            None => write!(f, "{}-{}", self.first(), self.last()),
        }
    }
}

impl FromStr for AddressRange {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AddressRange::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn entries_parse_to_inclusive_ranges() {
        let r = AddressRange::parse("192.0.2.0/24").unwrap();
        assert_eq!(
            (r.first(), r.last(), r.size()),
            (ip("192.0.2.0"), ip("192.0.2.255"), 256)
        );
        let r = AddressRange::parse("192.0.2.10-192.0.2.20").unwrap();
        assert_eq!(r.size(), 11);
        assert!(r.contains(ip("192.0.2.20")) && !r.contains(ip("192.0.2.21")));
        let r = AddressRange::parse("2001:db8::/120").unwrap();
        assert_eq!(r.size(), 256);
        assert_eq!(r.to_string(), "2001:db8::/120");
        assert_eq!(AddressRange::parse("192.0.2.7/32").unwrap().size(), 1);
        assert_eq!(AddressRange::parse("0.0.0.0/0").unwrap().size(), 1 << 32);
    }

    #[test]
    fn a_2_pow_64_range_is_sized_without_overflow() {
        let r = AddressRange::parse("2001:db8::/64").unwrap();
        assert_eq!(r.size(), 1u128 << 64);
        assert_eq!(r.usable(true), 1u128 << 64);
        assert_eq!(
            r.first_at_or_after(ip("2001:db8::ffff"), false),
            Some(ip("2001:db8::ffff"))
        );
        assert_eq!(r.iter(false).nth(3), Some(ip("2001:db8::3")));
        // The whole space is one more than u128 holds: it saturates.
        assert_eq!(AddressRange::parse("::/0").unwrap().size(), u128::MAX);
        assert_eq!(AddressRange::parse("::/1").unwrap().size(), 1u128 << 127);
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let err = |s: &str| AddressRange::parse(s).unwrap_err().to_string();
        assert!(err("192.0.2.0").contains("is not a CIDR"));
        assert!(err("192.0.2.0/33").contains("prefix length 33"));
        assert!(err("192.0.2.0/024").contains("prefix length 024"));
        assert!(err("192.0.2.0/+4").contains("prefix length +4"));
        assert!(err("192.0.2.1/24").contains("the network is 192.0.2.0/24"));
        assert!(err("192.0.2.20-192.0.2.10").contains("first address is after the last"));
        assert!(err("192.0.2.1-2001:db8::1").contains("different IP families"));
        assert!(err("192.0.2.01-192.0.2.3").contains("`192.0.2.01` is not an IP address"));
        assert!(err("::ffff:192.0.2.1/128").contains("IPv4-mapped"));
        assert!(err("fe80::1%eth0-fe80::2").contains("is not an IP address"));
        assert!(err("192.0.2.1 - 192.0.2.3").contains("is not an IP address"));
    }

    #[test]
    fn buggy_ips_are_skipped_only_when_asked() {
        let r = AddressRange::parse("192.0.2.254-192.0.3.1").unwrap();
        let all: Vec<_> = r.iter(false).collect();
        assert_eq!(all.len(), 4);
        let good: Vec<_> = r.iter(true).collect();
        assert_eq!(good, [ip("192.0.2.254"), ip("192.0.3.1")]);
        assert_eq!(r.usable(true), 2);
        assert_eq!(
            AddressRange::parse("192.0.2.0/24").unwrap().usable(true),
            254
        );
    }

    /// A small range of either family, near the top of a prefix so that
    /// carries across octets and groups are exercised.
    fn small_range() -> impl Strategy<Value = AddressRange> {
        (any::<bool>(), 0u128..40, 0u128..40).prop_map(|(v6, a, b)| {
            let base: u128 = if v6 {
                (0x2001_0db8u128 << 96) | 0xfff0
            } else {
                0xc000_02f0
            };
            let family = if v6 { Family::V6 } else { Family::V4 };
            AddressRange::new(
                from_u128(family, base + a.min(b)),
                from_u128(family, base + a.max(b)),
            )
            .unwrap()
        })
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_same_range(r in small_range()) {
            prop_assert_eq!(AddressRange::parse(&r.to_string()), Ok(r));
            let dashed = format!("{}-{}", r.first(), r.last());
            prop_assert_eq!(AddressRange::parse(&dashed), Ok(r));
        }

        #[test]
        fn any_cidr_round_trips(n in any::<u128>(), v6 in any::<bool>(), p in 0u8..=128) {
            let family = if v6 { Family::V6 } else { Family::V4 };
            let p = p % (family.bits() + 1);
            let host = u32::from(family.bits() - p);
            let mask = if host == 128 { u128::MAX } else { (1u128 << host) - 1 };
            let n = if v6 { n } else { n & 0xffff_ffff };
            let net = from_u128(family, n & !mask);
            let text = format!("{net}/{p}");
            let r = AddressRange::parse(&text).unwrap();
            prop_assert_eq!(r.to_string(), text);
        }

        #[test]
        fn contains_and_overlap_agree_with_brute_force(
            a in small_range(), b in small_range(), probe in 0u128..48, v6 in any::<bool>()
        ) {
            let set = |r: &AddressRange| -> Vec<IpAddr> { r.iter(false).collect() };
            let (sa, sb) = (set(&a), set(&b));
            prop_assert_eq!(sa.len() as u128, a.size());
            prop_assert_eq!(a.overlaps(&b), sa.iter().any(|x| sb.contains(x)));
            prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
            let base: u128 = if v6 { (0x2001_0db8u128 << 96) | 0xffe8 } else { 0xc000_02e8 };
            let family = if v6 { Family::V6 } else { Family::V4 };
            let x = from_u128(family, base + probe);
            prop_assert_eq!(a.contains(x), sa.contains(&x));
            let good: Vec<_> = a.iter(true).collect();
            prop_assert_eq!(good.len() as u128, a.usable(true));
            prop_assert!(good.iter().all(|x| !is_buggy(*x)));
        }
    }
}
