/**
 * Real-client harness: a Resound voice server on ephemeral ports plus @discordjs/voice connections that reach it
 * through a test gateway adapter (VOICE_STATE_UPDATE, then VOICE_SERVER_UPDATE pointing at our wss endpoint), and the
 * lean native client joined the same way. No test runner here: benchmarks use it too.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import {
  AudioPlayerStatus,
  createAudioPlayer,
  createAudioResource,
  EndBehaviorType,
  entersState,
  joinVoiceChannel,
  StreamType,
  VoiceConnectionStatus,
  type DiscordGatewayAdapterCreator,
  type VoiceConnection,
} from '@discordjs/voice';
import opus from '@discordjs/opus';
import { pino } from 'pino';
import { SnowflakeGenerator } from '../common/snowflake.ts';
import {
  loadSignalingConfig,
  startVoiceGateway,
  type VoiceGateway,
  type VoiceGatewayOptions,
} from '../signaling/index.ts';
import { isOpusSilence, type TransportMode } from '../sfu/index.ts';
import { waitFor } from './process.ts';
import { VoiceClient } from './voice-client.ts';

const ids = new SnowflakeGenerator(1, (process.pid + Number(process.env.VITEST_POOL_ID ?? 0)) & 31);
export const newId = (): string => ids.next();

export async function startTestGateway(
  env: Record<string, string> = {},
  extra: Partial<VoiceGatewayOptions> = {},
): Promise<VoiceGateway> {
  const dataDir = process.env.RESOUND_TEST_DATA_DIR!;
  const config = loadSignalingConfig({
    SIGNALING_WSS_PORT: '0',
    SIGNALING_WS_PORT: '0',
    SIGNALING_INTERNAL_PORT: '0',
    SFU_UDP_PORT: '0',
    SIGNALING_RESUME_GRACE_MS: '5000',
    // The `sfu-workers` test project runs the real-client suites again with the media in worker processes.
    ...(process.env.SFU_WORKERS ? { SFU_WORKERS: process.env.SFU_WORKERS } : {}),
    ...env,
  });
  return startVoiceGateway({
    config,
    dataDir,
    bind: '127.0.0.1',
    logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    ...extra,
  });
}

export interface TestClient {
  userId: string;
  connection: VoiceConnection;
  /** How many times the adapter answered a join (1 + re-joins after non-resumable closes). */
  joins: () => number;
  destroy(): void;
}

/** Joins `channelId` as a real @discordjs/voice client and waits for Ready. */
export async function joinClient(
  gw: VoiceGateway,
  guildId: string,
  channelId: string,
  opts: { userId?: string; daveEncryption?: boolean; waitReady?: boolean; endpoint?: string } = {},
): Promise<TestClient> {
  const userId = opts.userId ?? newId();
  let joins = 0;
  const adapterCreator: DiscordGatewayAdapterCreator = (methods) => ({
    sendPayload(payload: { op: number; d: { channel_id: string | null; self_deaf: boolean; self_mute: boolean } }) {
      if (payload.op !== 4 || payload.d.channel_id === null) return true;
      joins++;
      const grant = gw.server.grantJoin(guildId, channelId, userId);
      // The library registers its handlers after calling the adapter creator: answer asynchronously, state first.
      setImmediate(() => {
        methods.onVoiceStateUpdate({
          guild_id: guildId,
          channel_id: channelId,
          user_id: userId,
          session_id: grant.session_id,
          deaf: false,
          mute: false,
          self_deaf: payload.d.self_deaf,
          self_mute: payload.d.self_mute,
          self_video: false,
          suppress: false,
          request_to_speak_timestamp: null,
        } as never);
        methods.onVoiceServerUpdate({ token: grant.token, guild_id: guildId, endpoint: opts.endpoint ?? gw.endpoint });
      });
      return true;
    },
    destroy() {},
  });
  const connection = joinVoiceChannel({
    channelId,
    guildId,
    group: `client-${userId}`,
    selfDeaf: false,
    selfMute: false,
    daveEncryption: opts.daveEncryption ?? false,
    adapterCreator,
  });
  connection.on('error', () => {});
  if (opts.waitReady !== false) await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
  return { userId, connection, joins: () => joins, destroy: () => connection.destroy() };
}

/** Plays Opus frames through a real AudioPlayer on `client` and resolves when the player goes idle again. */
export async function play(client: TestClient, frames: Buffer[]): Promise<void> {
  const player = createAudioPlayer();
  client.connection.subscribe(player);
  const resource = createAudioResource(Readable.from(frames.map((f) => Buffer.from(f))), {
    inputType: StreamType.Opus,
  });
  player.play(resource);
  await entersState(player, AudioPlayerStatus.Playing, 5_000);
  await entersState(player, AudioPlayerStatus.Idle, 15_000);
  player.stop();
}

/** Collects the Opus frames `listener` receives from `speakerId` until `count` non-silence frames arrived. */
export function collectFrames(
  listener: TestClient,
  speakerId: string,
  count: number,
  timeoutMs = 15_000,
): Promise<Buffer[]> {
  const stream = listener.connection.receiver.subscribe(speakerId, { end: { behavior: EndBehaviorType.Manual } });
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`received ${got.length}/${count} frames from ${speakerId}`));
    }, timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      if (isOpusSilence(chunk, 0, chunk.length)) return;
      got.push(chunk);
      if (got.length >= count) {
        clearTimeout(timer);
        stream.destroy();
        resolve(got);
      }
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function decodeFrames(frames: Buffer[]): Int16Array {
  const dec = new opus.OpusEncoder(48000, 2);
  const parts = frames.map((f) => dec.decode(f));
  const all = Buffer.concat(parts);
  return new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.length));
}

/** Peak normalised cross-correlation between two PCM signals over lags up to ±maxLag samples (per channel frame). */
export function bestCorrelation(a: Int16Array, b: Int16Array, maxLag = 1200): number {
  let best = -1;
  for (let lag = 0; lag <= maxLag; lag += 2) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    const n = Math.min(a.length, b.length - lag);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = b[i + lag];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    const c = ab / Math.sqrt(aa * bb || 1);
    if (c > best) best = c;
  }
  return best;
}

/** The lean native client joined to (guild, channel) over ws:// (or wss://): for legacy modes and raw packets. */
export async function rawClient(
  gw: VoiceGateway,
  guildId: string,
  channelId: string,
  opts: { userId?: string; mode?: TransportMode; tls?: boolean } = {},
): Promise<VoiceClient> {
  const userId = opts.userId ?? newId();
  const grant = gw.server.grantJoin(guildId, channelId, userId);
  const url = opts.tls ? gw.wssUrl : gw.wsUrl!;
  const client = new VoiceClient({
    url,
    serverId: guildId,
    userId,
    sessionId: grant.session_id,
    token: grant.token,
    mode: opts.mode,
    ca: fs.readFileSync(gw.certPath),
  });
  return client.connect();
}

/** Current value of a counter series in a gateway's registry (0 when the label set has not been seen). */
export async function counterValue(
  gw: VoiceGateway,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = await gw.registry.getSingleMetric(name)!.get();
  const hit = m.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

/** Waits until a counter series of the gateway reads `target`: the positive signal that the gateway counted it. */
export async function waitForCounter(
  gw: VoiceGateway,
  name: string,
  labels: Record<string, string>,
  target: number,
  timeoutMs: number,
  what: string,
): Promise<void> {
  let value: number | undefined;
  await waitFor(
    () => value === target,
    timeoutMs,
    what,
    async () => {
      value = await counterValue(gw, name, labels);
    },
  );
}

export const hex = (frames: Buffer[]): string[] => frames.map((f) => f.toString('hex'));
