/** Public types of the DAVE group state machine: what goes in, what comes out, and the hooks it reports through. */
import { Close } from '../opcodes.ts';

/** Highest DAVE protocol version this server speaks. */
export const DAVE_MAX_PROTOCOL_VERSION = 1;

/** The voice close codes DAVE problems end a session with (defined once, in signaling/opcodes.ts). */
export const DaveClose = {
  DecodeError: Close.DecodeError,
  E2eeRequired: Close.E2eeRequired,
  BadRequest: Close.BadRequest,
} as const;
export type DaveCloseCode = (typeof DaveClose)[keyof typeof DaveClose];

/**
 * Channel E2EE policy. `required`: every client must speak DAVE (version-0 clients are closed with 4017);
 * `optional`: DAVE when every client supports it, otherwise the call downgrades to transport encryption only;
 * `off`: never DAVE.
 */
export type E2eeMode = 'required' | 'optional' | 'off';

/** One instruction for the gateway, addressed to one user's session. */
export type DaveOutput =
  | { to: string; kind: 'binary'; op: 25 | 27 | 29 | 30; payload: Buffer }
  | { to: string; kind: 'json'; op: 21 | 22 | 24; d: Record<string, number> }
  | { to: string; kind: 'close'; code: DaveCloseCode; reason: string };

/** How the SFU must treat a user's frames (as sender) and which frames it may receive. */
export type MediaRole = 'plain' | 'pending' | 'member';

/** Stable reasons for rejecting client input; each maps to a close code and a metric label. */
export type DaveRejection =
  | 'kp_malformed'
  | 'kp_bad_credential'
  | 'kp_expired'
  | 'kp_bad_signature'
  | 'kp_without_dave'
  | 'kp_flood'
  | 'e2ee_required'
  | 'commit_malformed'
  | 'commit_wrong_group'
  | 'commit_future_epoch'
  | 'commit_wrong_sender'
  | 'commit_unknown_proposal'
  | 'commit_not_sent_to_committer'
  | 'commit_empty'
  | 'commit_credential_changed'
  | 'commit_welcome_mismatch'
  | 'transition_malformed';

/** The close code each rejection ends the offending session with: undecodable bytes 4002, invalid content 4020. */
export const REJECTION_CLOSE: Record<DaveRejection, DaveCloseCode> = {
  kp_malformed: DaveClose.DecodeError,
  commit_malformed: DaveClose.DecodeError,
  transition_malformed: DaveClose.DecodeError,
  kp_bad_credential: DaveClose.BadRequest,
  kp_expired: DaveClose.BadRequest,
  kp_bad_signature: DaveClose.BadRequest,
  kp_without_dave: DaveClose.BadRequest,
  kp_flood: DaveClose.BadRequest,
  e2ee_required: DaveClose.E2eeRequired,
  commit_wrong_group: DaveClose.BadRequest,
  commit_future_epoch: DaveClose.BadRequest,
  commit_wrong_sender: DaveClose.BadRequest,
  commit_unknown_proposal: DaveClose.BadRequest,
  commit_not_sent_to_committer: DaveClose.BadRequest,
  commit_empty: DaveClose.BadRequest,
  commit_credential_changed: DaveClose.BadRequest,
  commit_welcome_mismatch: DaveClose.BadRequest,
};

export type TransitionKind = 'commit' | 'sole_member_reset' | 'downgrade' | 'upgrade';

/** Metric hooks; `createDaveMetrics` wires them to prom-client, tests may pass their own. */
export interface DaveMetricsHooks {
  groupEstablished(delta: 1 | -1): void;
  epochAdvanced(): void;
  transition(kind: TransitionKind): void;
  commitRaceLost(): void;
  invalidCommitWelcome(): void;
  rejected(reason: DaveRejection): void;
  joinToFirstE2eeFrame(seconds: number): void;
}

export const noopDaveMetrics: DaveMetricsHooks = {
  groupEstablished() {},
  epochAdvanced() {},
  transition() {},
  commitRaceLost() {},
  invalidCommitWelcome() {},
  rejected() {},
  joinToFirstE2eeFrame() {},
};

export type AdmitResult = { ok: true; protocolVersion: number } | { ok: false; code: DaveCloseCode; reason: string };
