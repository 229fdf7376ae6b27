// struct virtio_net_hdr (include/uapi/linux/virtio_net.h, virtio 1.x §5.1.6), as a Linux TUN opened with
// IFF_VNET_HDR puts it before every packet read and expects it before every packet written. The legacy
// 10-octet form, in the host's byte order (little-endian on every machine roam runs on):
//
//   0      1         2        4         6           8            10
//   +------+---------+--------+---------+-----------+------------+
//   |flags |gso_type | hdr_len| gso_size| csum_start| csum_offset|
//   +------+---------+--------+---------+-----------+------------+

export const VNET_HDR_LEN = 10;

/** flags: the transport checksum is partial: complete it from csum_start, store at csum_start + csum_offset. */
export const VNET_F_NEEDS_CSUM = 1;

/** gso_type values (the low 7 bits; 0x80 = ECN, the sender set CWR on the super-packet). */
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_UDP = 3;
export const VNET_GSO_TCPV6 = 4;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_ECN = 0x80;

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** Reads the header at buf[off] into `into` (reused by the caller: no allocation per packet). */
export function readVnetHdr(buf: Uint8Array, off: number, into: VnetHdr): VnetHdr {
  into.flags = buf[off]!;
  into.gsoType = buf[off + 1]!;
  into.hdrLen = buf[off + 2]! | (buf[off + 3]! << 8);
  into.gsoSize = buf[off + 4]! | (buf[off + 5]! << 8);
  into.csumStart = buf[off + 6]! | (buf[off + 7]! << 8);
  into.csumOffset = buf[off + 8]! | (buf[off + 9]! << 8);
  return into;
}

/** Writes a header at buf[off]. */
export function writeVnetHdr(buf: Uint8Array, off: number, h: VnetHdr): void {
  buf[off] = h.flags;
  buf[off + 1] = h.gsoType;
  buf[off + 2] = h.hdrLen & 0xff;
  buf[off + 3] = h.hdrLen >>> 8;
  buf[off + 4] = h.gsoSize & 0xff;
  buf[off + 5] = h.gsoSize >>> 8;
  buf[off + 6] = h.csumStart & 0xff;
  buf[off + 7] = h.csumStart >>> 8;
  buf[off + 8] = h.csumOffset & 0xff;
  buf[off + 9] = h.csumOffset >>> 8;
}
