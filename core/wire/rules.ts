// Which payloads may appear in which message, and how often: the second table of the codec (strongSwan
// keeps the same kind of table beside its payload encodings). RFC 7296 §1.2-§1.5 describe the exchanges;
// limits here are upper bounds only: whether a payload is REQUIRED depends on the state of the exchange
// (an error response to IKE_SA_INIT carries only a Notify), which the IKE layer checks.
// Unknown non-critical payloads are always allowed (§2.5: skipped).

import { ExchangeType, PayloadType, payloadName, exchangeName, NotifyError } from "./constants.ts";
import type { Payload } from "./payloads.ts";
import type { ParseError } from "./message.ts";

const MANY = Infinity;
const P = PayloadType;

interface Rule {
  /** Payloads allowed in the clear (outside SK), with their maximum count. */
  plain: Partial<Record<number, number>>;
  /** Payloads allowed inside SK; `null` means the exchange is not encrypted. */
  inner: Partial<Record<number, number>> | null;
}

type Table = Record<number, { request: Rule; response: Rule }>;

// Every encrypted exchange carries exactly one SK (or, fragmented, one SKF) and nothing else in the clear (§3.14).
const ENCRYPTED = { [P.SK]: 1, [P.SKF]: 1 };

const TABLE: Table = {
  // §1.2: HDR, SAi1, KEi, Ni [, N(COOKIE/NAT_DETECTION...)] [, V]  /  HDR, SAr1, KEr, Nr, [CERTREQ] [, N] [, V]
  [ExchangeType.IKE_SA_INIT]: {
    request: { plain: { [P.SA]: 1, [P.KE]: 1, [P.NONCE]: 1, [P.NOTIFY]: MANY, [P.VENDOR_ID]: MANY }, inner: null },
    response: { plain: { [P.SA]: 1, [P.KE]: 1, [P.NONCE]: 1, [P.CERTREQ]: MANY, [P.NOTIFY]: MANY, [P.VENDOR_ID]: MANY }, inner: null },
  },
  // §1.2, §2.16 (EAP), §3.15 (CP): SK { IDi, [CERT+], [N], [CERTREQ+], [IDr], AUTH, [CP], SAi2, TSi, TSr }
  [ExchangeType.IKE_AUTH]: {
    request: {
      plain: ENCRYPTED,
      inner: {
        [P.IDi]: 1, [P.CERT]: MANY, [P.CERTREQ]: MANY, [P.IDr]: 1, [P.AUTH]: 1, [P.EAP]: 1, [P.CP]: 1,
        [P.SA]: 1, [P.TSi]: 1, [P.TSr]: 1, [P.NOTIFY]: MANY, [P.VENDOR_ID]: MANY,
      },
    },
    response: {
      plain: ENCRYPTED,
      inner: {
        [P.IDr]: 1, [P.CERT]: MANY, [P.AUTH]: 1, [P.EAP]: 1, [P.CP]: 1, [P.SA]: 1, [P.TSi]: 1, [P.TSr]: 1,
        [P.NOTIFY]: MANY, [P.VENDOR_ID]: MANY,
      },
    },
  },
  // §1.3: SK { [N(REKEY_SA)], SA, Ni, [KEi], [TSi, TSr] } and the same shape back
  [ExchangeType.CREATE_CHILD_SA]: {
    request: { plain: ENCRYPTED, inner: { [P.SA]: 1, [P.NONCE]: 1, [P.KE]: 1, [P.TSi]: 1, [P.TSr]: 1, [P.NOTIFY]: MANY, [P.VENDOR_ID]: MANY } },
    response: { plain: ENCRYPTED, inner: { [P.SA]: 1, [P.NONCE]: 1, [P.KE]: 1, [P.TSi]: 1, [P.TSr]: 1, [P.NOTIFY]: MANY, [P.VENDOR_ID]: MANY } },
  },
  // §1.4: SK { [N,] [D,] [CP,] ... }
  [ExchangeType.INFORMATIONAL]: {
    request: { plain: ENCRYPTED, inner: { [P.NOTIFY]: MANY, [P.DELETE]: MANY, [P.CP]: 1, [P.VENDOR_ID]: MANY } },
    response: { plain: ENCRYPTED, inner: { [P.NOTIFY]: MANY, [P.DELETE]: MANY, [P.CP]: 1, [P.VENDOR_ID]: MANY } },
  },
};

function count(payloads: readonly Payload[], limits: Partial<Record<number, number>>, where: string, exchange: string): ParseError | null {
  const seen = new Map<number, number>();
  for (const p of payloads) {
    if ("unknown" in p) continue;
    const n = (seen.get(p.type) ?? 0) + 1;
    seen.set(p.type, n);
    const max = limits[p.type] ?? 0;
    if (n > max) {
      const reason = max === 0 ? `${payloadName(p.type)} is not allowed ${where} of ${exchange}` : `more than ${max} ${payloadName(p.type)} ${where} of ${exchange}`;
      return { offset: 0, payload: p.type, reason, notify: NotifyError.INVALID_SYNTAX };
    }
  }
  return null;
}

/**
 * Checks a message's payloads against the table: `plain` are the payloads of the parsed message,
 * `inner` (when given) the decrypted content of its SK payload. Offsets in failures are 0: the
 * payload type names the culprit. Unknown exchange types pass (the IKE layer rejects them).
 */
export function checkPayloadRules(
  exchangeType: number,
  response: boolean,
  plain: readonly Payload[],
  inner?: readonly Payload[],
): { ok: true } | { ok: false; error: ParseError } {
  const rules = TABLE[exchangeType];
  if (!rules) return { ok: true };
  const rule = response ? rules.response : rules.request;
  const what = `an ${exchangeName(exchangeType)} ${response ? "response" : "request"}`;
  const outer = count(plain, rule.plain, "in the clear", what);
  if (outer) return { ok: false, error: outer };
  if (rule.inner !== null) {
    const sealed = plain.filter((p) => (p.type === PayloadType.SK || p.type === PayloadType.SKF) && !("unknown" in p)).length;
    if (sealed !== 1) {
      const reason = sealed === 0 ? `${what} must be encrypted (§3.14)` : `${what} has both SK and SKF`;
      return { ok: false, error: { offset: 0, payload: null, reason, notify: NotifyError.INVALID_SYNTAX } };
    }
  }
  if (inner) {
    if (rule.inner === null) return { ok: false, error: { offset: 0, payload: PayloadType.SK, reason: `${what} is not encrypted`, notify: NotifyError.INVALID_SYNTAX } };
    const e = count(inner, rule.inner, "inside SK", what);
    if (e) return { ok: false, error: e };
  }
  return { ok: true };
}
