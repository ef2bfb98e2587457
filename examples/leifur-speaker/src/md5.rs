//! TCP MD5 signatures (RFC 2385) for BGP sessions: the Linux `TCP_MD5SIG`
//! socket option, set for the peer's address on the socket before it
//! connects, so the kernel signs every segment of the connection (the SYN
//! included) and drops the peer's segments that are unsigned or badly
//! signed.
//!
//! Why `libc` and one `unsafe` call of ours, the only `unsafe` in the
//! workspace (`unsafe_code` is denied everywhere, and a test in this file
//! holds the exception to this file): no maintained higher-level crate
//! offers the option. `socket2` (which tokio's sockets are built on) has no
//! setter for it; `rustix`'s `sockopt` module neither, and it has no raw
//! setsockopt; `nix` has no `TcpMd5Sig` option, and its generic way in
//! (`setsockopt_impl!` with the `SetStruct` setter) is `#[doc(hidden)]`,
//! i.e. not its public API. `libc` has the constant but not the struct (the
//! kernel's `struct tcp_md5sig`, `include/uapi/linux/tcp.h`), which is
//! therefore declared below with the kernel's layout, checked by a test.
//!
//! Linux only, as the speaker is (AF_PACKET, network namespaces).

#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};

/// The longest key the kernel takes (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// The kernel's `struct tcp_md5sig`: a `sockaddr_storage` (128 bytes,
/// aligned as a pointer), flags, prefix length, key length, interface index
/// and the key. Every field is an integer or a byte array and the fields
/// leave no padding (128 + 1 + 1 + 2 + 4 + 80 = 216, a multiple of 8), so
/// every byte handed to the kernel is initialised.
#[repr(C, align(8))]
struct TcpMd5Sig {
    addr: [u8; 128],
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: i32,
    key: [u8; MAX_KEY_LEN],
}

const _: () = assert!(std::mem::size_of::<TcpMd5Sig>() == 216);

impl TcpMd5Sig {
    /// The option for `peer` with `key`; flags, prefix and interface unset
    /// (the key is for that one address, on any interface).
    fn new(peer: IpAddr, key: &[u8]) -> io::Result<Self> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            // An empty key would *delete* the peer's key in the kernel.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a TCP MD5 key of {} bytes (1 to {MAX_KEY_LEN})", key.len()),
            ));
        }
        let mut sig = Self {
            addr: sockaddr(peer),
            flags: 0,
            prefixlen: 0,
            keylen: key.len() as u16,
            ifindex: 0,
            key: [0; MAX_KEY_LEN],
        };
        sig.key[..key.len()].copy_from_slice(key);
        Ok(sig)
    }
}

/// `peer` as the bytes of a `sockaddr_in` / `sockaddr_in6` at the start of
/// a `sockaddr_storage`. The family is in host byte order; the port (which
/// the kernel ignores here) stays 0.
fn sockaddr(peer: IpAddr) -> [u8; 128] {
    let mut storage = [0u8; 128];
    match peer {
        IpAddr::V4(v4) => {
            storage[..2].copy_from_slice(&(libc::AF_INET as libc::sa_family_t).to_ne_bytes());
            // sin_port at 2..4, sin_addr at 4..8.
            storage[4..8].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            storage[..2].copy_from_slice(&(libc::AF_INET6 as libc::sa_family_t).to_ne_bytes());
            // sin6_port at 2..4, sin6_flowinfo at 4..8, sin6_addr at 8..24.
            storage[8..24].copy_from_slice(&v6.octets());
        }
    }
    storage
}

/// Sets the TCP MD5 key for connections of `socket` with `peer`. Call it
/// before `connect`: the SYN is signed too.
pub fn set_key(socket: &impl AsFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    let sig = TcpMd5Sig::new(peer, key)?;
    // SAFETY: `sig` is a live, fully initialised `struct tcp_md5sig` (see
    // `TcpMd5Sig`) and the length passed is its size; the kernel only reads
    // that many bytes, during the call. The descriptor is borrowed from
    // `socket`, so it is open for the call's duration.
    let result = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            std::ptr::from_ref(&sig).cast::<libc::c_void>(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_struct_has_the_kernels_layout() {
        // Offsets of `struct tcp_md5sig` in include/uapi/linux/tcp.h.
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, flags), 128);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, prefixlen), 129);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, keylen), 130);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, ifindex), 132);
        assert_eq!(std::mem::offset_of!(TcpMd5Sig, key), 136);
        assert_eq!(std::mem::align_of::<TcpMd5Sig>(), 8);
    }

    #[test]
    fn addresses_are_laid_out_as_sockaddr_in_and_in6() {
        let v4 = sockaddr("198.51.100.1".parse().unwrap());
        assert_eq!(u16::from_ne_bytes([v4[0], v4[1]]), libc::AF_INET as u16);
        assert_eq!(&v4[4..8], &[198, 51, 100, 1]);
        let v6 = sockaddr("2001:db8::1".parse().unwrap());
        assert_eq!(u16::from_ne_bytes([v6[0], v6[1]]), libc::AF_INET6 as u16);
        assert_eq!(&v6[8..10], &[0x20, 0x01]);
        assert_eq!(v6[23], 1);
    }

    #[test]
    fn the_kernel_takes_the_option_and_refuses_bad_keys() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        set_key(&socket, peer, b"s3cret").unwrap();
        set_key(&socket, peer, &[b'k'; MAX_KEY_LEN]).unwrap();
        for bad in [&b""[..], &[b'k'; MAX_KEY_LEN + 1]] {
            let err = set_key(&socket, peer, bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        }
        let socket = tokio::net::TcpSocket::new_v6().unwrap();
        set_key(&socket, "::1".parse().unwrap(), b"s3cret").unwrap();
    }

    /// The exception to the workspace's `unsafe_code = "deny"` stays this
    /// file: no other source of the workspace allows unsafe code.
    #[test]
    fn this_is_the_only_file_that_allows_unsafe_code() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut found = Vec::new();
        let mut dirs = vec![root.clone()];
        // Bounded: a workspace of a few thousand files.
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    if !name.starts_with('.') && name != "target" && name != "node_modules" {
                        dirs.push(path);
                    }
                } else if name.ends_with(".rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    if text.contains(concat!("allow(", "unsafe_code)")) {
                        found.push(path.strip_prefix(&root).unwrap().to_owned());
                    }
                }
            }
        }
        assert_eq!(
            found,
            [std::path::PathBuf::from(
                "examples/leifur-speaker/src/md5.rs"
            )]
        );
    }
}
