// The initiator's side of exchanges the GATEWAY starts (RFC 7296 §2.2: liveness checks,
// Deletes): open a request sealed with SK_er/SK_ar and answer it with SK_ei/SK_ai, I=1, R=1.
// Also sealing a request from another address (MOBIKE moves) and delivering it to a chosen
// local endpoint of the gateway (NAT-T port 4500).
import { decodeMessage, decodePayloads } from '../../src/ike/codec/message.js';
import { Reader } from '../../src/ike/codec/reader.js';
import type { IkeHeader } from '../../src/ike/codec/header.js';
import type { Payload } from '../../src/ike/codec/payload.js';
import { HeaderFlag, IKE_MAJOR_VERSION } from '../../src/ike/constants.js';
import { openBody, sealMessage } from '../../src/ike/protect/sk.js';
import type { Datagram } from '../../src/ike/ports.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import type { Gateway } from './gateway.js';
import type { TestInitiator } from './initiator.js';

export interface GatewayRequest {
  header: IkeHeader;
  inner: Payload[];
  datagram: Datagram;
}

/** Opens a request the gateway sent to the client (undefined if `d` is not one). */
export function openGatewayRequest(client: TestInitiator, d: Datagram): GatewayRequest | undefined {
  const { header, payloads } = decodeMessage(d.bytes);
  if (header.flags & HeaderFlag.RESPONSE) return undefined;
  const last = payloads.at(-1);
  if (!last || last.kind !== 'sk') return undefined;
  const plain = openBody(client.protector!, { enc: client.keys!.skEr, integ: client.keys!.skAr }, d.bytes, last.body);
  if (!plain) throw new Error('gateway request ICV does not verify');
  return { header, inner: decodePayloads(last.firstInner, new Reader(plain, 'inner')), datagram: d };
}

/** Requests the gateway sent to `to` since the last take() of its transport. */
export function gatewayRequests(gw: Gateway, client: TestInitiator, to?: Endpoint): GatewayRequest[] {
  return gw.transport
    .take()
    .filter((d) => !to || (d.remote.address === to.address && d.remote.port === to.port))
    .map((d) => openGatewayRequest(client, d))
    .filter((r): r is GatewayRequest => r !== undefined);
}

/** HDR(I=1, R=1), SK { inner }: the client's response to a gateway request. */
export function sealResponse(client: TestInitiator, request: IkeHeader, inner: Payload[]): Uint8Array {
  const protector = client.protector!;
  const keys = client.keys!;
  return sealMessage(
    { protector, keys: { enc: keys.skEi, integ: keys.skAi }, rng: client.rng, nextIv: () => client.rng.bytes(protector.ivLength) },
    {
      ispi: client.ispi,
      rspi: client.rspi,
      majorVersion: IKE_MAJOR_VERSION,
      minorVersion: 0,
      exchange: request.exchange,
      flags: HeaderFlag.INITIATOR | HeaderFlag.RESPONSE,
      messageId: request.messageId,
    },
    inner,
  );
}

/** Delivers datagrams from `from` to the gateway's `to` endpoint; returns what came back to `from`. */
export async function deliver(gw: Gateway, bytes: Uint8Array | Uint8Array[], from: Endpoint, to: Endpoint = gw.address): Promise<Uint8Array[]> {
  gw.transport.take();
  for (const b of Array.isArray(bytes) ? bytes : [bytes]) await gw.engine.receive({ bytes: b, local: to, remote: from });
  return gw.transport
    .take()
    .filter((x) => x.remote.address === from.address && x.remote.port === from.port)
    .map((x) => x.bytes);
}
