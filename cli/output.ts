// What a person (or a journal) sees while a tunnel comes up and goes down: one plain line per step,
// no colors or redraws, so the output reads the same on a terminal and under systemd.

import type { TunnelEvent } from "./tunnel/runtime.ts";

export class Reporter {
  constructor(private readonly stream: { write(s: string): unknown }) {}

  line(text: string): void {
    this.stream.write(`roam: ${text}\n`);
  }

  error(text: string): void {
    this.stream.write(`roam: ${text}\n`);
  }

  event(e: TunnelEvent): void {
    switch (e.kind) {
      case "progress":
        this.line(e.message);
        break;
      case "up": {
        const s = e.status;
        const dns = s.dns.servers.length ? `, DNS ${s.dns.servers.join(" ")}` : "";
        this.line(`tunnel up on ${s.interface}: virtual IP ${s.virtualIps.join(" ")}, routes ${s.routes.join(" ")}${dns} (${s.ike?.proposal}, ESP ${s.child?.proposal})`);
        break;
      }
      case "down":
        if (e.outcome.ok) this.line(e.outcome.reason === "disconnected" ? "disconnected" : `tunnel closed: ${e.outcome.reason}`);
        else this.error(e.outcome.failure.message);
        break;
    }
  }
}
