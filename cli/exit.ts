// Exit codes are a contract with scripts: README.md "Exit codes" lists them, and a test keeps the two equal.
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
