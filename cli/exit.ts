// Exit codes are a contract with scripts: README.md "Exit codes" lists them, and a test keeps the two equal.
import type { TunnelOutcome } from "./tunnel/runtime.ts";

export const ExitCode = {
  OK: 0,
  /** A bug in roam: the message keeps its stack. */
  INTERNAL: 1,
  /** Bad command line or bad configuration: one plain line. */
  USAGE: 2,
  /** `status` or `disconnect` found no tunnel. */
  NOT_CONNECTED: 3,
  /** The gateway refused our credentials, or we refused the gateway's (certificate, AUTH, identity). */
  AUTH_FAILED: 4,
  /** The gateway did not answer. */
  UNREACHABLE: 5,
  /** The tunnel was up and went down without being asked to. */
  TUNNEL_LOST: 6,
  /** The gateway and roam could not agree (proposals, selectors, malformed answers). */
  NEGOTIATION_FAILED: 7,
  /** The host could not be configured (TUN, addresses, routes, DNS); nothing was left behind. */
  HOST_SETUP_FAILED: 8,
} as const;

/** An error the user caused: printed as one line, never with a stack. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.USAGE,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** The exit code for how a tunnel ended (or failed to come up). */
export function exitCodeFor(o: TunnelOutcome): number {
  if (o.ok) return ExitCode.OK;
  switch (o.failure.code) {
    case "auth":
    case "certificate":
      return ExitCode.AUTH_FAILED;
    case "unreachable":
      return ExitCode.UNREACHABLE;
    case "lost":
      return ExitCode.TUNNEL_LOST;
    case "config":
      return ExitCode.USAGE;
    case "host":
      return ExitCode.HOST_SETUP_FAILED;
    default:
      return ExitCode.NEGOTIATION_FAILED;
  }
}
