// TUN offloads (Documentation/networking/tuntap.rst, include/uapi/linux/if_tun.h): with IFF_VNET_HDR
// every packet read or written carries a struct virtio_net_hdr (core/net/vnet.ts) before it, and
// TUNSETOFFLOAD says which offloads userspace accepts on reads: TUN_F_CSUM (partial checksums) and
// TUN_F_TSO4/TSO6 (TCP super-packets of up to 64 KiB that the reader segments, core/net/gso.ts). The
// kernel then runs its TCP stack once per super-packet instead of once per MTU-sized packet.

import { dlopen, FFIType } from "bun:ffi";

export const IFF_VNET_HDR = 0x4000;
/** _IOW('T', 208, unsigned int); the argument is the flag word itself, not a pointer to it. */
export const TUNSETOFFLOAD = 0x400454d0;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;

/** What roam asks for: checksum offload and TCP segmentation for IPv4 and IPv6, ECN (CWR) included. */
export const TUN_OFFLOADS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

const lib = dlopen("libc.so.6", {
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
});

/** TUNSETOFFLOAD on a TUN opened with IFF_VNET_HDR. Returns 0, or -1 (errno set) when the kernel refuses. */
export function setOffload(fd: number, flags: number): number {
  return lib.symbols.ioctl(fd, TUNSETOFFLOAD, flags);
}
