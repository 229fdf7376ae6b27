// Interfaces through which the pure core receives what it may not reach itself.
// Implementations live in platform/; tests inject deterministic ones.

/** Cryptographically secure randomness. */
export interface Random {
  /** Returns n fresh random bytes. */
  bytes(n: number): Uint8Array;
}
