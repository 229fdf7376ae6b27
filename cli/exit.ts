// Exit codes are a contract with scripts: see README.md "Exit codes".
export const ExitCode = {
  OK: 0,
  /** A bug in roam: the message keeps its stack. */
  INTERNAL: 1,
  /** Bad command line or bad configuration: one plain line. */
  USAGE: 2,
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
