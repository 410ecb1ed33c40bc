import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import {
  CREDENTIAL_BASIC,
  encodeExternalProposalContent,
  encodePublicMessage,
  framedContentTbs,
  proposalRefOfMessage,
  signContent,
  type ProposalBody,
} from './mls-codec.ts';
import { TlsWriter } from './tls-codec.ts';

/** op 27 operation types. */
export const PROPOSALS_APPEND = 0;
export const PROPOSALS_REVOKE = 1;

export interface SignedProposal {
  /** The MLSMessage(PublicMessage) exactly as it goes into an op 27 append vector. */
  message: Buffer;
  /** Its ProposalRef, which commits cite and revokes name. */
  ref: Buffer;
}

/**
 * The voice server's identity inside every DAVE group: a P-256 signing key (one per server process, never leaves it)
 * and a basic credential. It signs Add and Remove proposals as MLS external sender 0; it holds no group secrets.
 */
export class ExternalSender {
  private readonly privateKey: KeyObject;
  /** 65-byte uncompressed public point, as the ExternalSender struct carries it. */
  readonly publicKey: Buffer;
  /** op 25 payload: `signature_key<V>` then Credential{basic, identity<V>}. */
  readonly op25Payload: Buffer;

  constructor(identity: Uint8Array = Buffer.from([0])) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicKey = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x ?? '', 'base64url'),
      Buffer.from(jwk.y ?? '', 'base64url'),
    ]);
    this.op25Payload = new TlsWriter().vec(this.publicKey).u16(CREDENTIAL_BASIC).vec(identity).finish();
  }

  /** Signs one external proposal for the group `groupId` at `epoch`. */
  propose(groupId: Uint8Array, epoch: bigint, proposal: ProposalBody): SignedProposal {
    const content = encodeExternalProposalContent(groupId, epoch, proposal);
    const signature = sign('sha256', signContent('FramedContentTBS', framedContentTbs(content)), {
      key: this.privateKey,
      dsaEncoding: 'der',
    });
    const message = encodePublicMessage(content, signature);
    return { message, ref: proposalRefOfMessage(message) };
  }
}

/** op 27 append: `u8 0` then one `<V>` vector holding the proposal messages back to back. */
export function appendPayload(messages: readonly Buffer[]): Buffer {
  return new TlsWriter().u8(PROPOSALS_APPEND).vec(Buffer.concat(messages)).finish();
}

/** op 27 revoke: `u8 1` then a `<V>` vector of `ProposalRef<V>`. */
export function revokePayload(refs: readonly Buffer[]): Buffer {
  const inner = new TlsWriter();
  for (const ref of refs) inner.vec(ref);
  return new TlsWriter().u8(PROPOSALS_REVOKE).vec(inner.finish()).finish();
}

/** The DAVE group id: the channel snowflake as 8 bytes big-endian. */
export function groupIdFor(channelId: string): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(channelId));
  return b;
}
