// A TCP stream that lasts: the server sends TOTAL bytes at RATE bytes per second (so a transfer spans
// minutes of rekeys, not seconds), the client reads it; both print the sha256 of the bytes. Every
// 1024-byte block starts with MARKER (hex) so that a capture can look for the cleartext.
//
//   bun paced-stream.ts serve PORT TOTAL RATE MARKER   → "listening PORT", at the end "sha256 <hex>"
//   the client side is fixtures/tcp-sink.ts HOST PORT TIMEOUT_S → "bytes <n> sha256 <hex>"
// Exit 0 when done, 3 on timeout, 2 when the connection fails.
import { createHash } from "node:crypto";

const [mode, ...args] = process.argv.slice(2);

if (mode === "serve") {
  const [portText, totalText, rateText, markerHex] = args;
  const total = Number(totalText);
  const rate = Number(rateText);
  const marker = Buffer.from(markerHex ?? "", "hex");
  const data = Buffer.alloc(total);
  let x = 0x2468ace0;
  for (let i = 0; i < total; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  for (let o = 0; o + marker.length <= total; o += 1024) marker.copy(data, o);
  const digest = createHash("sha256").update(data).digest("hex");
  const started = performance.now();
  const server = Bun.listen({
    hostname: "0.0.0.0",
    port: Number(portText),
    socket: {
      open(sock) {
        let off = 0;
        // Every 50 ms, whatever the rate allows by now (and the socket takes).
        const timer = setInterval(() => {
          const allowed = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
          while (off < allowed) {
            const n = sock.write(data.subarray(off, allowed));
            if (n <= 0) return;
            off += n;
          }
          if (off >= total) {
            clearInterval(timer);
            sock.end();
          }
        }, 50);
      },
      close() {
        server.stop(true);
        process.stdout.write(`sha256 ${digest}\n`);
        process.exit(0);
      },
      data() {},
    },
  });
  process.stdout.write(`listening ${portText}\n`);
  setTimeout(() => process.exit(3), (total / rate + 120) * 1000);
} else {
  process.stderr.write("usage: paced-stream.ts serve PORT TOTAL RATE MARKER\n");
  process.exit(2);
}
