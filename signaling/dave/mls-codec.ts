import { createHash, createPublicKey, verify as ecdsaVerify, type KeyObject } from 'node:crypto';
import { MlsDecodeError, TlsReader, TlsWriter, vecBytes } from './tls-codec.ts';

/**
 * The slice of RFC 9420 (MLS 1.0) that a DAVE external sender needs: build and sign external proposals, compute
 * proposal and key-package references, parse key packages far enough to validate them, and parse a commit far enough
 * to learn its epoch, committer and proposal references and to split off the Welcome that follows it in op 28.
 * Everything else about the group (tree hashes, key schedule) stays with the clients.
 */
export { MlsDecodeError } from './tls-codec.ts';

export const MLS_VERSION_10 = 1;
/** DHKEMP256_AES128GCM_SHA256_P256, the only suite of DAVE protocol v1. */
export const CIPHERSUITE_P256 = 2;
export const WIRE_FORMAT_PUBLIC_MESSAGE = 1;
export const SENDER_MEMBER = 1;
export const SENDER_EXTERNAL = 2;
export const CONTENT_PROPOSAL = 2;
export const CONTENT_COMMIT = 3;
export const PROPOSAL_ADD = 1;
export const PROPOSAL_REMOVE = 3;
export const CREDENTIAL_BASIC = 1;
const PROPOSAL_OR_REF_REFERENCE = 2;
const LEAF_SOURCE_KEY_PACKAGE = 1;
const LEAF_SOURCE_UPDATE = 2;
const LEAF_SOURCE_COMMIT = 3;

const LABEL_PREFIX = 'MLS 1.0 ';

/** RFC 9420 §5.2 RefHash: SHA-256 over `label<V> || value<V>`. */
export function refHash(label: string, value: Uint8Array): Buffer {
  return createHash('sha256')
    .update(vecBytes(Buffer.from(label, 'ascii')))
    .update(vecBytes(value))
    .digest();
}

/** RFC 9420 §5.1.2 SignContent: the exact bytes SignWithLabel signs. */
export function signContent(label: string, content: Uint8Array): Buffer {
  return Buffer.concat([vecBytes(Buffer.from(LABEL_PREFIX + label, 'ascii')), vecBytes(content)]);
}

/** ProposalRef of a PublicMessage proposal from an external sender: its AuthenticatedContent is the message minus the version. */
export function proposalRefOfMessage(mlsMessage: Uint8Array): Buffer {
  return refHash(LABEL_PREFIX + 'Proposal Reference', mlsMessage.subarray(2));
}

export function keyPackageRef(keyPackage: Uint8Array): Buffer {
  return refHash(LABEL_PREFIX + 'KeyPackage Reference', keyPackage);
}

export type ProposalBody = { type: 'add'; keyPackage: Uint8Array } | { type: 'remove'; leafIndex: number };

/** FramedContent of a proposal from the external sender at index 0 (no authenticated data). */
export function encodeExternalProposalContent(groupId: Uint8Array, epoch: bigint, proposal: ProposalBody): Buffer {
  const w = new TlsWriter()
    .vec(groupId)
    .u64(epoch)
    .u8(SENDER_EXTERNAL)
    .u32(0)
    .vec(Buffer.alloc(0))
    .u8(CONTENT_PROPOSAL);
  if (proposal.type === 'add') w.u16(PROPOSAL_ADD).bytes(proposal.keyPackage);
  else w.u16(PROPOSAL_REMOVE).u32(proposal.leafIndex);
  return w.finish();
}

/** FramedContentTBS for a non-member sender: no GroupContext (RFC 9420 §6.1). */
export function framedContentTbs(framedContent: Uint8Array): Buffer {
  return new TlsWriter().u16(MLS_VERSION_10).u16(WIRE_FORMAT_PUBLIC_MESSAGE).bytes(framedContent).finish();
}

/** MLSMessage(PublicMessage) for an external sender: content, signature, and no membership tag. */
export function encodePublicMessage(framedContent: Uint8Array, signature: Uint8Array): Buffer {
  return new TlsWriter()
    .u16(MLS_VERSION_10)
    .u16(WIRE_FORMAT_PUBLIC_MESSAGE)
    .bytes(framedContent)
    .vec(signature)
    .finish();
}

/** A P-256 public key as the 65-byte uncompressed point MLS carries, turned into a node:crypto key. */
export function p256PublicKey(point: Uint8Array): KeyObject {
  if (point.length !== 65 || point[0] !== 0x04)
    throw new MlsDecodeError('bad_leaf_node', 'signature key is not an uncompressed P-256 point');
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
        y: Buffer.from(point.subarray(33)).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    throw new MlsDecodeError('bad_leaf_node', 'signature key is not a point on P-256');
  }
}

/** VerifyWithLabel with ECDSA-P256-SHA256 (DER signatures, as openmls and mlspp produce). */
export function verifyWithLabel(
  publicKey: KeyObject,
  label: string,
  content: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return ecdsaVerify('sha256', signContent(label, content), { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

export interface LeafNode {
  encryptionKey: Buffer;
  signatureKey: Buffer;
  credentialType: number;
  /** Basic credential identity; DAVE puts the user id here as 8 bytes big-endian. */
  identity: Buffer;
  source: number;
  lifetime?: { notBefore: bigint; notAfter: bigint };
  signature: Buffer;
  /** LeafNode fields before the signature: the LeafNodeTBS prefix. */
  tbs: Buffer;
}

function parseCredential(r: TlsReader): { type: number; identity: Buffer } {
  const type = r.u16('credential_type');
  if (type !== CREDENTIAL_BASIC)
    throw new MlsDecodeError('bad_credential', `credential type ${type} is not basic`, r.offset);
  return { type, identity: r.vec('identity') };
}

export function parseLeafNode(r: TlsReader): LeafNode {
  const start = r.offset;
  const encryptionKey = r.vec('encryption_key');
  const signatureKey = r.vec('signature_key');
  const cred = parseCredential(r);
  for (const name of ['versions', 'cipher_suites', 'extensions', 'proposals', 'credentials'])
    r.vec(`capabilities.${name}`);
  const source = r.u8('leaf_node_source');
  let lifetime: LeafNode['lifetime'];
  if (source === LEAF_SOURCE_KEY_PACKAGE) lifetime = { notBefore: r.u64('not_before'), notAfter: r.u64('not_after') };
  else if (source === LEAF_SOURCE_COMMIT) r.vec('parent_hash');
  else if (source !== LEAF_SOURCE_UPDATE)
    throw new MlsDecodeError('bad_leaf_node', `leaf_node_source ${source}`, r.offset - 1);
  r.vec('leaf extensions');
  const tbs = r.slice(start, r.offset);
  const signature = r.vec('leaf signature');
  return {
    encryptionKey,
    signatureKey,
    credentialType: cred.type,
    identity: cred.identity,
    source,
    lifetime,
    signature,
    tbs,
  };
}

export interface KeyPackage {
  version: number;
  cipherSuite: number;
  initKey: Buffer;
  leafNode: LeafNode;
  signature: Buffer;
  tbs: Buffer;
  raw: Buffer;
}

/** Parses a raw TLS-serialized KeyPackage (op 26 carries it unwrapped); the whole buffer must be one key package. */
export function parseKeyPackage(buf: Uint8Array): KeyPackage {
  const r = new TlsReader(buf);
  const kp = readKeyPackage(r);
  r.expectEnd('key package');
  return kp;
}

function readKeyPackage(r: TlsReader): KeyPackage {
  const start = r.offset;
  const version = r.u16('version');
  if (version !== MLS_VERSION_10) throw new MlsDecodeError('bad_version', `key package version ${version}`, start);
  const cipherSuite = r.u16('cipher_suite');
  if (cipherSuite !== CIPHERSUITE_P256)
    throw new MlsDecodeError('bad_ciphersuite', `cipher suite ${cipherSuite}`, start + 2);
  const initKey = r.vec('init_key');
  const leafNode = parseLeafNode(r);
  if (leafNode.source !== LEAF_SOURCE_KEY_PACKAGE)
    throw new MlsDecodeError('bad_leaf_node', 'key package leaf is not from a key package', start);
  r.vec('key package extensions');
  const tbs = r.slice(start, r.offset);
  const signature = r.vec('key package signature');
  return { version, cipherSuite, initKey, leafNode, signature, tbs, raw: r.slice(start, r.offset) };
}

export type KeyPackageProblem = 'bad_credential' | 'expired' | 'bad_signature';

/**
 * Checks what a delivery service can check without group state: the credential names `userId` (8-byte BE), the
 * lifetime covers `nowSec`, and both the leaf node and the key package signatures verify.
 */
export function validateKeyPackage(kp: KeyPackage, userId: bigint, nowSec: bigint): KeyPackageProblem | null {
  const id = kp.leafNode.identity;
  if (id.length !== 8 || id.readBigUInt64BE(0) !== userId) return 'bad_credential';
  const lt = kp.leafNode.lifetime;
  if (!lt || lt.notBefore > nowSec || lt.notAfter < nowSec) return 'expired';
  let key: KeyObject;
  try {
    key = p256PublicKey(kp.leafNode.signatureKey);
  } catch {
    return 'bad_signature';
  }
  if (!verifyWithLabel(key, 'LeafNodeTBS', kp.leafNode.tbs, kp.leafNode.signature)) return 'bad_signature';
  if (!verifyWithLabel(key, 'KeyPackageTBS', kp.tbs, kp.signature)) return 'bad_signature';
  return null;
}

export interface ParsedCommit {
  groupId: Buffer;
  epoch: bigint;
  /** Leaf index of the committing member. */
  senderLeaf: number;
  /** ProposalRefs in commit order (DAVE clients commit by reference only). */
  proposalRefs: Buffer[];
  /** The committer's new leaf when the commit carries an UpdatePath. */
  pathLeaf: LeafNode | null;
  /** The commit MLSMessage alone, as op 29 relays it. */
  commitMessage: Buffer;
  /** The raw Welcome that followed the commit, if any. */
  welcome: Buffer | null;
}

/** Parses an op 28 payload: an MLSMessage(PublicMessage commit) followed, with no separator, by an optional Welcome. */
export function parseCommitWelcome(buf: Uint8Array): ParsedCommit {
  const r = new TlsReader(buf);
  const version = r.u16('version');
  if (version !== MLS_VERSION_10) throw new MlsDecodeError('bad_version', `message version ${version}`, 0);
  const wf = r.u16('wire_format');
  if (wf !== WIRE_FORMAT_PUBLIC_MESSAGE)
    throw new MlsDecodeError('bad_wire_format', `commit wire format ${wf} is not public_message`, 2);
  const groupId = r.vec('group_id');
  const epoch = r.u64('epoch');
  const senderType = r.u8('sender_type');
  if (senderType !== SENDER_MEMBER)
    throw new MlsDecodeError('bad_sender', `commit sender type ${senderType} is not member`, r.offset - 1);
  const senderLeaf = r.u32('leaf_index');
  r.vec('authenticated_data');
  const contentType = r.u8('content_type');
  if (contentType !== CONTENT_COMMIT)
    throw new MlsDecodeError('bad_content_type', `content type ${contentType} is not commit`, r.offset - 1);
  const proposals = r.vecReader('proposals');
  const proposalRefs: Buffer[] = [];
  while (proposals.remaining > 0) {
    const kind = proposals.u8('proposal_or_ref');
    if (kind !== PROPOSAL_OR_REF_REFERENCE)
      throw new MlsDecodeError('bad_proposal', 'inline proposals are not used by DAVE', proposals.offset - 1);
    const ref = proposals.vec('proposal_ref');
    if (ref.length !== 32)
      throw new MlsDecodeError('bad_proposal', `proposal ref of ${ref.length} bytes`, proposals.offset);
    proposalRefs.push(ref);
  }
  let pathLeaf: LeafNode | null = null;
  const present = r.u8('optional<UpdatePath>');
  if (present === 1) {
    pathLeaf = parseLeafNode(r);
    r.vec('update path nodes');
  } else if (present !== 0) {
    throw new MlsDecodeError('bad_proposal', `optional flag ${present}`, r.offset - 1);
  }
  r.vec('signature');
  r.vec('confirmation_tag');
  r.vec('membership_tag');
  const commitMessage = r.slice(0, r.offset);
  const welcome = r.remaining > 0 ? r.slice(r.offset, buf.length) : null;
  if (welcome) parseWelcome(welcome);
  return { groupId, epoch, senderLeaf, proposalRefs, pathLeaf, commitMessage, welcome };
}

export interface ParsedWelcome {
  cipherSuite: number;
  /** KeyPackageRefs of the members this Welcome is for. */
  newMembers: Buffer[];
}

/** Parses a raw (not MLSMessage-wrapped) Welcome, which must fill the buffer exactly. */
export function parseWelcome(buf: Uint8Array): ParsedWelcome {
  const r = new TlsReader(buf);
  const cipherSuite = r.u16('welcome cipher_suite');
  if (cipherSuite !== CIPHERSUITE_P256)
    throw new MlsDecodeError('bad_welcome', `welcome cipher suite ${cipherSuite}`, 0);
  const secrets = r.vecReader('welcome secrets');
  const newMembers: Buffer[] = [];
  while (secrets.remaining > 0) {
    newMembers.push(secrets.vec('new_member'));
    secrets.vec('kem_output');
    secrets.vec('ciphertext');
  }
  r.vec('encrypted_group_info');
  r.expectEnd('welcome');
  return { cipherSuite, newMembers };
}

/** The proposals inside an op 27 append payload's vector (used by tests and the fuzz checks). */
export function splitProposalMessages(vector: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  const r = new TlsReader(vector);
  while (r.remaining > 0) {
    const start = r.offset;
    r.u16('version');
    r.u16('wire_format');
    r.vec('group_id');
    r.u64('epoch');
    r.u8('sender_type');
    r.u32('sender_index');
    r.vec('authenticated_data');
    r.u8('content_type');
    const type = r.u16('proposal_type');
    if (type === PROPOSAL_ADD) readKeyPackage(r);
    else if (type === PROPOSAL_REMOVE) r.u32('removed');
    else throw new MlsDecodeError('bad_proposal', `proposal type ${type}`, r.offset - 2);
    r.vec('signature');
    out.push(r.slice(start, r.offset));
  }
  return out;
}
