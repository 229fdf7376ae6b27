// The per-exchange payload table (RFC 7296 §1.2-§1.4): allowed payloads and upper bounds.

import { expect, test } from "bun:test";
import { ExchangeType, NotifyError, PayloadType } from "../../../core/wire/constants.ts";
import type { Payload } from "../../../core/wire/payloads.ts";
import { checkPayloadRules } from "../../../core/wire/rules.ts";

const none = new Uint8Array(0);
const sa: Payload = { type: PayloadType.SA, critical: false, proposals: [] };
const ke: Payload = { type: PayloadType.KE, critical: false, dhGroup: 19, keyExchangeData: none };
const nonce: Payload = { type: PayloadType.NONCE, critical: false, nonce: new Uint8Array(16) };
const n: Payload = { type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: none, notifyType: 16388, data: none };
const sk: Payload = { type: PayloadType.SK, critical: false, firstInner: PayloadType.IDi, body: none };
const skf: Payload = { type: PayloadType.SKF, critical: false, firstInner: 0, fragmentNumber: 2, totalFragments: 2, body: none };
const idi: Payload = { type: PayloadType.IDi, critical: false, idType: 2, data: none };
const auth: Payload = { type: PayloadType.AUTH, critical: false, authMethod: 2, authData: none };
const del: Payload = { type: PayloadType.DELETE, critical: false, protocolId: 1, spiSize: 0, spis: [] };
const unknown: Payload = { type: 49, critical: false, unknown: true, data: none };

test("IKE_SA_INIT request: SA, KE, Ni, notifies, unknown payloads; no SK, no second KE", () => {
  expect(checkPayloadRules(ExchangeType.IKE_SA_INIT, false, [sa, ke, nonce, n, n, unknown])).toEqual({ ok: true });
  expect(checkPayloadRules(ExchangeType.IKE_SA_INIT, true, [n])).toEqual({ ok: true }); // e.g. INVALID_KE_PAYLOAD
  const twice = checkPayloadRules(ExchangeType.IKE_SA_INIT, false, [sa, ke, ke, nonce]);
  expect(twice).toMatchObject({ ok: false, error: { payload: PayloadType.KE, notify: NotifyError.INVALID_SYNTAX } });
  expect(checkPayloadRules(ExchangeType.IKE_SA_INIT, false, [sa, ke, nonce, sk])).toMatchObject({ ok: false, error: { payload: PayloadType.SK } });
  expect(checkPayloadRules(ExchangeType.IKE_SA_INIT, false, [sa], [idi])).toMatchObject({ ok: false, error: { payload: PayloadType.SK } });
});

test("IKE_AUTH: only SK or SKF in the clear; IDi and AUTH inside, once", () => {
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, false, [sk], [idi, auth, sa, n])).toEqual({ ok: true });
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, false, [skf])).toEqual({ ok: true });
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, false, [n, sk])).toMatchObject({ ok: false, error: { payload: PayloadType.NOTIFY } });
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, false, [n])).toMatchObject({ ok: false, error: { payload: PayloadType.NOTIFY } });
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, false, [])).toMatchObject({ ok: false, error: { payload: null } });
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, false, [sk], [idi, idi])).toMatchObject({ ok: false, error: { payload: PayloadType.IDi } });
  expect(checkPayloadRules(ExchangeType.IKE_AUTH, true, [sk], [idi])).toMatchObject({ ok: false, error: { payload: PayloadType.IDi } });
});

test("INFORMATIONAL: Delete and Notify inside, no SA", () => {
  expect(checkPayloadRules(ExchangeType.INFORMATIONAL, false, [sk], [del, n])).toEqual({ ok: true });
  expect(checkPayloadRules(ExchangeType.INFORMATIONAL, true, [sk], [])).toEqual({ ok: true });
  expect(checkPayloadRules(ExchangeType.INFORMATIONAL, false, [sk], [sa])).toMatchObject({ ok: false, error: { payload: PayloadType.SA } });
});
