import type { WebRtcCandidate, WebRtcCodec, WebRtcDescription } from './wire.ts';

/** Largest op 4 a browser gets, as serialized JSON (the budget; test/webrtc asserts real ones stay under). */
export const DESCRIPTION_BUDGET_BYTES = 1000;

/** Opus as Resound negotiates it with browsers: one payload type both ways, in-band FEC, audio-level extension. */
export const BROWSER_OPUS: WebRtcCodec = { pt: 111, fmtp: 'minptime=10;useinbandfec=1', audio_level_ext: 1 };

/** What the media engine says about a browser's transport: mediasoup's WebRtcTransport fields, structurally. */
export interface BrowserTransportFacts {
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: ReadonlyArray<{ ip?: string; address?: string; port: number; protocol: string; priority: number }>;
  dtlsParameters: { fingerprints: ReadonlyArray<{ algorithm: string; value: string }> };
}

/**
 * The compact op 4 for a browser. Only one fingerprint travels (sha-256, which every browser checks), only UDP/TCP
 * host candidates (ICE-lite has no others), and no other user's stream (those follow as op 12): that keeps it near
 * 500 bytes whatever the channel size. Throws when the engine offers no sha-256 fingerprint or no candidate, or the
 * result would break the budget — both mean a misconfigured engine, not bad client input.
 */
export function describeBrowser(
  facts: BrowserTransportFacts,
  opts: { ssrc: number; mediaSessionId: string; codec?: WebRtcCodec },
): WebRtcDescription {
  const fp = facts.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  if (!fp) throw new Error('the WebRTC transport offers no sha-256 DTLS fingerprint');
  const candidates: WebRtcCandidate[] = [];
  for (const c of facts.iceCandidates) {
    const ip = c.address ?? c.ip;
    if (!ip || (c.protocol !== 'udp' && c.protocol !== 'tcp')) continue;
    candidates.push([ip, c.port, c.protocol, c.priority]);
  }
  if (candidates.length === 0) throw new Error('the WebRTC transport has no UDP or TCP candidate');
  const desc: WebRtcDescription = {
    mode: 'webrtc',
    audio_codec: 'opus',
    media_session_id: opts.mediaSessionId,
    dave_protocol_version: 0,
    ssrc: opts.ssrc,
    ice: { ufrag: facts.iceParameters.usernameFragment, pwd: facts.iceParameters.password },
    candidates,
    dtls: { algorithm: fp.algorithm, value: fp.value },
    codec: opts.codec ?? BROWSER_OPUS,
  };
  const size = descriptionBytes(desc);
  if (size > DESCRIPTION_BUDGET_BYTES)
    throw new Error(`browser session description is ${size} bytes, over the ${DESCRIPTION_BUDGET_BYTES}-byte budget`);
  return desc;
}

/** Bytes of the op 4 frame carrying `desc` (with a 5-digit seq, the longest a u16 counter gives). */
export function descriptionBytes(desc: WebRtcDescription): number {
  return Buffer.byteLength(JSON.stringify({ op: 4, d: desc, seq: 65535 }));
}
