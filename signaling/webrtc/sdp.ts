/**
 * The client-side SDP builder: turns the ~0.5 KB op 4 description (plus the op 12 streams) into the remote offer an
 * RTCPeerConnection accepts, and reads back from the browser's answer the two facts the server needs (DTLS
 * fingerprint/role, microphone SSRC). Pure string work, no DOM: the demo page bundles it and the tests run it in Node
 * and in Chromium.
 *
 * Shape (unified plan, one BUNDLE over one ICE-lite transport): m-line mid 0 is the microphone (the server's side
 * says a=recvonly, so the browser's answer sends), then one m-line per remote user (a=sendonly from the server, with
 * the SSRC and msid of that user's stream). Lines of users who left turn a=inactive and are reused by the next
 * arrival, so a long call does not grow the SDP without bound.
 */
import type { WebRtcConnectData, WebRtcDescription } from './wire.ts';

/** One remote user's slot in the offer (mid = index + 1). `ssrc` 0 = free slot (a=inactive). */
export interface RemoteSlot {
  userId: string;
  ssrc: number;
}

/** The offer's state between renegotiations: its session version goes up by one per offer, as RFC 3264 wants. */
export class RemoteOffer {
  private version = 0;
  readonly slots: RemoteSlot[] = [];

  constructor(private readonly desc: WebRtcDescription) {}

  /** Sets `userId`'s stream: updates its slot, reuses a free one, or appends a line. Returns the slot's mid. */
  setStream(userId: string, ssrc: number): string {
    if (ssrc === 0) {
      this.remove(userId);
      return '';
    }
    let i = this.slots.findIndex((s) => s.userId === userId && s.ssrc !== 0);
    if (i < 0) i = this.slots.findIndex((s) => s.ssrc === 0);
    if (i < 0) i = this.slots.push({ userId, ssrc }) - 1;
    this.slots[i] = { userId, ssrc };
    return String(i + 1);
  }

  /** Frees `userId`'s slot (its line goes a=inactive). */
  remove(userId: string): void {
    for (const s of this.slots) if (s.userId === userId) s.ssrc = 0;
  }

  /** The mid carrying `userId`'s audio, if any. */
  midOf(userId: string): string | undefined {
    const i = this.slots.findIndex((s) => s.userId === userId && s.ssrc !== 0);
    return i < 0 ? undefined : String(i + 1);
  }

  /** The full remote offer for the current slots. */
  toSdp(): string {
    this.version++;
    return buildOffer(this.desc, this.slots, this.version);
  }
}

/** The remote offer for `slots` (see the module comment for its shape); CRLF line endings as RFC 4566 requires. */
export function buildOffer(desc: WebRtcDescription, slots: readonly RemoteSlot[], version = 1): string {
  const mids = ['0', ...slots.map((_, i) => String(i + 1))];
  const lines = [
    'v=0',
    // The session id only has to be stable across renegotiations; the media session id is.
    `o=- ${sessionNumber(desc.media_session_id)} ${version} IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS *',
    `a=fingerprint:${desc.dtls.algorithm} ${desc.dtls.value}`,
  ];
  lines.push(...mediaSection(desc, '0', 'recvonly'));
  slots.forEach((s, i) => {
    const mid = String(i + 1);
    if (s.ssrc === 0) {
      lines.push(...mediaSection(desc, mid, 'inactive'));
      return;
    }
    const stream = `resound-${s.userId}`;
    lines.push(
      ...mediaSection(desc, mid, 'sendonly'),
      `a=msid:${stream} ${stream}-audio`,
      `a=ssrc:${s.ssrc} cname:${stream}`,
    );
  });
  return lines.join('\r\n') + '\r\n';
}

function mediaSection(desc: WebRtcDescription, mid: string, direction: 'recvonly' | 'sendonly' | 'inactive'): string[] {
  const { pt, fmtp, audio_level_ext } = desc.codec;
  const first = desc.candidates[0];
  const lines = [
    `m=audio ${first ? first[1] : 9} UDP/TLS/RTP/SAVPF ${pt}`,
    `c=IN IP4 ${first ? first[0] : '0.0.0.0'}`,
    `a=mid:${mid}`,
    `a=ice-ufrag:${desc.ice.ufrag}`,
    `a=ice-pwd:${desc.ice.pwd}`,
    // actpass in every offer: the browser answers active, so the server is the DTLS server and never dials out.
    'a=setup:actpass',
    `a=${direction}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
    `a=extmap:${audio_level_ext} urn:ietf:params:rtp-hdrext:ssrc-audio-level`,
    `a=rtpmap:${pt} opus/48000/2`,
    `a=fmtp:${pt} ${fmtp}`,
  ];
  desc.candidates.forEach(([ip, port, protocol, priority], i) => {
    const tcp = protocol === 'tcp' ? ' tcptype passive' : '';
    lines.push(`a=candidate:${i + 1} 1 ${protocol} ${priority} ${ip} ${port} typ host${tcp}`);
  });
  lines.push('a=end-of-candidates');
  return lines;
}

/** A decimal session id (≤ 2^62) derived from the media session id. */
function sessionNumber(id: string): string {
  const digits = id.replace(/\D/g, '').slice(0, 18);
  return digits.length > 0 ? digits : '1';
}

/** What the server needs from the browser's answer. */
export interface AnswerFacts {
  dtls: WebRtcConnectData;
  /** The SSRC of the microphone (mid 0), or null when the answer sends nothing there. */
  micSsrc: number | null;
}

/** Reads the DTLS fingerprint and role and the microphone SSRC from a local answer; throws naming what is missing. */
export function readAnswer(sdp: string): AnswerFacts {
  const sections = sdp.split(/\r?\nm=/);
  const session = sections[0];
  const mic = sections.find((s) => /(^|\r?\n)a=mid:0(\r?\n|$)/.test(s)) ?? '';
  const fp = /a=fingerprint:(\S+) ([0-9A-Fa-f:]+)/.exec(mic) ?? /a=fingerprint:(\S+) ([0-9A-Fa-f:]+)/.exec(session);
  if (!fp) throw new Error('the answer has no a=fingerprint');
  const setup = /a=setup:(\w+)/.exec(mic)?.[1];
  if (setup !== 'active' && setup !== 'passive') throw new Error(`the answer's a=setup is ${setup ?? 'missing'}`);
  const ssrc = /a=ssrc:(\d+) /.exec(mic);
  return {
    dtls: { role: setup === 'active' ? 'client' : 'server', fingerprint: { algorithm: fp[1], value: fp[2] } },
    micSsrc: ssrc ? Number(ssrc[1]) : null,
  };
}
