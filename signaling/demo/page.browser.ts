/**
 * The demo page's client: joins a voice channel from the browser over the same voice gateway v8 as native clients
 * (op 1 selects "webrtc"), builds its SDP locally from the compact op 4 (../webrtc/sdp.ts), sends the microphone,
 * plays everyone else, and shows who speaks. `window.resoundDemo` exposes its state to tests and curious users.
 */
import { readAnswer, RemoteOffer } from '../webrtc/sdp.ts';
import { WEBRTC_PROTOCOL, WebRtcOp, type WebRtcDescription, type WebRtcStreamData } from '../webrtc/wire.ts';

// The native ops the page uses (signaling/opcodes.ts defines them with their zod schemas, too heavy for a page).
const Op = { Identify: 0, SelectProtocol: 1, Ready: 2, Heartbeat: 3, Description: 4, Speaking: 5, HeartbeatAck: 6 };
const OpHello = 8;
const OpClientsConnect = 11;
const OpClientDisconnect = 13;
const REJOIN_CODES = new Set([4006, 4015]);

interface JoinGrant {
  guild_id: string;
  channel_id: string;
  user_id: string;
  session_id: string;
  token: string;
}

interface Person {
  userId: string;
  /** Speaking flags from op 5. */
  flags: number;
  /** Level of their audio as heard here (0..1), from the receiver's synchronization sources. */
  level: number;
  audio: HTMLAudioElement | null;
}

type Phase = 'idle' | 'joining' | 'connected' | 'closed';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

class DemoCall {
  phase: Phase = 'idle';
  closeCode = 0;
  desc: WebRtcDescription | null = null;
  readonly people = new Map<string, Person>();
  pc: RTCPeerConnection | null = null;
  muted = false;
  deafened = false;
  micSsrc = 0;
  private ws: WebSocket | null = null;
  private seq = -1;
  private beat: number | undefined;
  private ticker: number | undefined;
  private offer: RemoteOffer | null = null;
  private mic: MediaStream | null = null;
  /** Renegotiations run one at a time, in op order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly grant: JoinGrant) {}

  start(): void {
    this.phase = 'joining';
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/?v=8`);
    this.ws = ws;
    ws.onopen = () =>
      this.send(Op.Identify, {
        server_id: this.grant.guild_id,
        user_id: this.grant.user_id,
        session_id: this.grant.session_id,
        token: this.grant.token,
        max_dave_protocol_version: 0,
      });
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      const msg = JSON.parse(ev.data) as { op: number; d: unknown; seq?: number };
      if (typeof msg.seq === 'number') this.seq = msg.seq;
      this.onMessage(msg.op, msg.d);
    };
    ws.onclose = (ev) => {
      this.closeCode = ev.code;
      const wasLive = this.phase === 'connected';
      this.stop(`disconnected (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`);
      // 4006 (session no longer valid: e.g. the channel's media worker moved) and 4015 (server restart): join again.
      if (wasLive && REJOIN_CODES.has(ev.code)) {
        // At most three automatic rejoins a minute: a server that keeps failing is not hammered.
        const now = Date.now();
        rejoinTimes = rejoinTimes.filter((t) => now - t < 60_000);
        if (rejoinTimes.length >= 3) return setStatus(`${ev.reason || 'disconnected'} — rejoined 3 times; press Join`);
        rejoinTimes.push(now);
        setTimeout(() => void join(this.muted, this.deafened), 500);
      }
    };
  }

  leave(): void {
    this.ws?.close(1000, 'left');
    this.stop('left the channel');
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    for (const t of this.mic?.getAudioTracks() ?? []) t.enabled = !muted;
    this.announceSpeaking();
    render(this);
  }

  setDeafened(deafened: boolean): void {
    this.deafened = deafened;
    for (const p of this.people.values()) if (p.audio) p.audio.muted = deafened;
    render(this);
  }

  private send(op: number, d: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op, d }));
  }

  private onMessage(op: number, d: unknown): void {
    switch (op) {
      case OpHello: {
        const interval = (d as { heartbeat_interval: number }).heartbeat_interval;
        this.beat = window.setInterval(() => this.send(Op.Heartbeat, { t: Date.now(), seq_ack: this.seq }), interval);
        return;
      }
      case Op.Ready:
        return this.send(Op.SelectProtocol, {
          protocol: WEBRTC_PROTOCOL,
          data: { channel_id: this.grant.channel_id },
        });
      case Op.Description:
        this.desc = d as WebRtcDescription;
        this.offer = new RemoteOffer(this.desc);
        this.enqueue(() => this.connect());
        return;
      case OpClientsConnect:
        for (const id of (d as { user_ids: string[] }).user_ids) this.person(id);
        return render(this);
      case Op.Speaking: {
        const s = d as { user_id: string; speaking: number | boolean };
        this.person(s.user_id).flags = Number(s.speaking);
        return render(this);
      }
      case WebRtcOp.Stream: {
        const s = d as WebRtcStreamData;
        this.person(s.user_id);
        this.offer?.setStream(s.user_id, s.audio_ssrc);
        this.enqueue(() => this.renegotiate());
        return render(this);
      }
      case OpClientDisconnect: {
        const id = (d as { user_id: string }).user_id;
        this.offer?.remove(id);
        this.people.get(id)?.audio?.remove();
        this.people.delete(id);
        this.enqueue(() => this.renegotiate());
        return render(this);
      }
    }
  }

  private person(userId: string): Person {
    let p = this.people.get(userId);
    if (!p) {
      p = { userId, flags: 0, level: 0, audio: null };
      this.people.set(userId, p);
    }
    return p;
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      console.error(err);
      this.ws?.close(1000, 'client error');
      this.stop(`error: ${(err as Error).message}`);
    });
  }

  /** First negotiation: microphone on mid 0, DTLS and microphone SSRC to the server (ops 40 and 41). */
  private async connect(): Promise<void> {
    if (!this.offer) return;
    this.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    pc.ontrack = (ev) => this.onTrack(ev);
    await pc.setRemoteDescription({ type: 'offer', sdp: this.offer.toSdp() });
    const t = pc.getTransceivers().find((x) => x.mid === '0');
    if (!t) throw new Error('the offer has no microphone line');
    await t.sender.replaceTrack(this.mic.getAudioTracks()[0]);
    t.direction = 'sendonly';
    await pc.setLocalDescription(await pc.createAnswer());
    const facts = readAnswer(pc.localDescription?.sdp ?? '');
    if (facts.micSsrc === null) throw new Error('the answer sends no microphone stream');
    this.micSsrc = facts.micSsrc;
    this.send(WebRtcOp.Connect, facts.dtls);
    this.send(WebRtcOp.Produce, { ssrc: facts.micSsrc });
    this.phase = 'connected';
    this.setMuted(this.muted);
    this.ticker = window.setInterval(() => this.sampleLevels(), 200);
    render(this);
  }

  /** Later negotiations: remote users came or went; the microphone line stays as it is. */
  private async renegotiate(): Promise<void> {
    if (!this.pc || !this.offer) return;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this.offer.toSdp() });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
  }

  private onTrack(ev: RTCTrackEvent): void {
    const userId = this.offer?.slots.find((_, i) => String(i + 1) === ev.transceiver.mid)?.userId;
    if (!userId) return;
    const p = this.person(userId);
    if (!p.audio) {
      p.audio = document.createElement('audio');
      p.audio.autoplay = true;
      $('audio-sink').append(p.audio);
    }
    p.audio.srcObject = new MediaStream([ev.track]);
    p.audio.muted = this.deafened;
    render(this);
  }

  /** Who speaks, as heard here: each receiver's current audio level (RFC 6464 values the browser decodes). */
  private sampleLevels(): void {
    if (!this.pc || !this.offer) return;
    for (const tr of this.pc.getTransceivers()) {
      const slot = this.offer.slots[Number(tr.mid) - 1];
      const p = slot && slot.ssrc !== 0 ? this.people.get(slot.userId) : undefined;
      if (!p) continue;
      const sources = tr.receiver.getSynchronizationSources();
      // Source timestamps are wall-clock (spec) in current Chromium, relative to the time origin in older ones.
      const fresh = sources.filter((s) => (s.timestamp > 1e12 ? Date.now() : performance.now()) - s.timestamp < 500);
      p.level = Math.max(0, ...fresh.map((s) => s.audioLevel ?? 0));
    }
    render(this);
  }

  /**
   * The server derives this user's speaking state from the audio level of the microphone stream; muting says so at
   * once (op 5 speaking 0), so native listeners get their silence tail without waiting for the level to drop.
   */
  private announceSpeaking(): void {
    if (this.desc && this.phase === 'connected' && this.muted)
      this.send(Op.Speaking, { speaking: 0, delay: 0, ssrc: this.desc.ssrc });
  }

  private stop(status: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    window.clearInterval(this.beat);
    window.clearInterval(this.ticker);
    this.pc?.close();
    for (const t of this.mic?.getTracks() ?? []) t.stop();
    for (const p of this.people.values()) p.audio?.remove();
    this.people.clear();
    setStatus(status);
    render(this);
  }
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

/** Redraws the people list and the buttons from the call's state. */
function render(call: DemoCall): void {
  const list = $('people');
  const me = document.createElement('li');
  me.dataset.userId = call.grant.user_id;
  me.textContent = `${call.grant.user_id} (you)${call.muted ? ' — muted' : ''}${call.deafened ? ' — deafened' : ''}`;
  list.replaceChildren(
    ...(call.phase === 'closed' ? [] : [me]),
    ...[...call.people.values()].map((p) => {
      const li = document.createElement('li');
      const speaking = p.level > 0.01 || (p.flags & 1) === 1;
      li.dataset.userId = p.userId;
      li.className = speaking ? 'speaking' : '';
      li.textContent = `${p.userId}${speaking ? ' — speaking' : ''}`;
      return li;
    }),
  );
  const live = call.phase === 'connected' || call.phase === 'joining';
  $<HTMLButtonElement>('join').disabled = live;
  $<HTMLButtonElement>('leave').disabled = !live;
  $<HTMLButtonElement>('mute').disabled = !live;
  $<HTMLButtonElement>('deafen').disabled = !live;
  $('mute').textContent = call.muted ? 'Unmute' : 'Mute';
  $('deafen').textContent = call.deafened ? 'Undeafen' : 'Deafen';
  if (call.phase === 'connected') setStatus(`in channel ${call.grant.channel_id} as ${call.grant.user_id}`);
  document.body.dataset.phase = call.phase;
}

let call: DemoCall | null = null;
let joins = 0;
let rejoinTimes: number[] = [];

async function join(muted = false, deafened = false): Promise<void> {
  const channel = $<HTMLInputElement>('channel').value.trim();
  call?.leave();
  setStatus('joining…');
  const res = await fetch('/demo/join', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel_id: channel }),
  });
  const body = (await res.json()) as JoinGrant & { error?: { message: string } };
  if (!res.ok) return setStatus(body.error?.message ?? `join refused (${res.status})`);
  call = new DemoCall(body);
  call.muted = muted;
  call.deafened = deafened;
  joins++;
  Object.assign(window, { resoundDemo: call, resoundJoins: joins });
  call.start();
  render(call);
}

$('join').addEventListener('click', () => void join());
$('leave').addEventListener('click', () => call?.leave());
$('mute').addEventListener('click', () => call?.setMuted(!call.muted));
$('deafen').addEventListener('click', () => call?.setDeafened(!call.deafened));
