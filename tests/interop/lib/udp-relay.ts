// A lossy, slow path for IKE and ESP-in-UDP, run inside the NAT namespace by relay.ts (we have no netem).
// The NAT box's iptables REDIRECT sends the client's datagrams for the gateway's ports 500 and 4500 here
// (to LISTEN_500 / LISTEN_4500); each goes on from one upstream socket per client to the gateway's same
// port, and the gateway's answers come back through the listener of that port (conntrack rewrites their
// source to the gateway's address and port, so the client sees nothing of the relay). Every datagram,
// both ways, is dropped with probability LOSS (a seeded PRNG: the same run drops the same datagrams) or
// held DELAY_MS before it is sent on. Once a second it prints "stats forwarded N dropped M".
//
//   argv: gateway delayMs lossPercent seed listen500 listen4500
import dgram from "node:dgram";

const [gateway, delayArg, lossArg, seedArg, l500, l4500] = process.argv.slice(2);
const delayMs = Number(delayArg);
const loss = Number(lossArg) / 100;
let seed = Number(seedArg) >>> 0 || 1;
/** xorshift32: deterministic drops for a given seed. */
const random = (): number => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x1_0000_0000;
};

let forwarded = 0;
let dropped = 0;
const later = (send: () => void): void => {
  if (random() < loss) {
    dropped++;
    return;
  }
  forwarded++;
  setTimeout(send, delayMs);
};

const listeners = new Map<number, dgram.Socket>();
const upstreams = new Map<string, dgram.Socket>();

function upstreamFor(clientAddr: string, clientPort: number): dgram.Socket {
  const key = `${clientAddr}:${clientPort}`;
  let up = upstreams.get(key);
  if (up) return up;
  up = dgram.createSocket("udp4");
  up.on("message", (msg, rinfo) => {
    // The gateway's answer leaves through the listener of the port it came from.
    const back = listeners.get(rinfo.port);
    if (back) later(() => back.send(msg, clientPort, clientAddr));
  });
  up.bind(0);
  upstreams.set(key, up);
  return up;
}

for (const [gwPort, listenPort] of [
  [500, Number(l500)],
  [4500, Number(l4500)],
] as const) {
  const s = dgram.createSocket("udp4");
  s.on("message", (msg, rinfo) => {
    const up = upstreamFor(rinfo.address, rinfo.port);
    later(() => up.send(msg, gwPort, gateway));
  });
  s.bind(listenPort, () => console.log(`listening ${listenPort} for ${gwPort}`));
  listeners.set(gwPort, s);
}
setInterval(() => console.log(`stats forwarded ${forwarded} dropped ${dropped}`), 1000);
