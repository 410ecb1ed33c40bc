import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createHttpServer, listenExplained, listenHttp, logListening } from '../common/http.ts';
import { isLoopbackHost } from '../common/config.ts';
import { PerIpCounter, type HttpLimits } from '../common/connection-guard.ts';
import { RateLimitedLog } from '../common/logger.ts';
import { secretFromConfigOrDataDir } from '../common/secrets.ts';
import { loadTls } from '../common/tls.ts';
import {
  describeCryptoBackends,
  preferredModes,
  type Sfu,
  type SfuWorkerPool,
  TRANSPORT_MODES,
  isLegacyMode,
  isTransportMode,
  type TransportMode,
  WebRtcEngine,
} from '../sfu/index.ts';
import { BrowserVoice } from './webrtc/browser-voice.ts';
import { demoRoutes } from './demo/routes.ts';
import { adminApi } from './admin-api.ts';
import type { ChannelExtension, VoiceChannel } from './channel.ts';
import { plainListenerPort, voiceTokenSecret, type SignalingConfig } from './config.ts';
import { GatewayConnection } from './connection.ts';
import { SignalingMetrics } from './metrics.ts';
import { Close } from './opcodes.ts';
import { VoiceTokenSigner } from './tokens.ts';
import { VoiceServer } from './voice-server.ts';
import { openMediaPlane } from './media-plane.ts';
import { VoicePlacement } from './placement.ts';
import { createRedis, watchRedis, type Redis } from '../common/redis.ts';
import { createDaveMetrics, daveChannelExtension, ExternalSender, type E2eeMode } from './dave/index.ts';

export interface VoiceGatewayOptions {
  config: SignalingConfig;
  dataDir: string;
  bind: string;
  logger: Logger;
  channelExtensions?: (channel: VoiceChannel, server: VoiceServer) => ChannelExtension[];
  /** Redis for fleet placement (needed when VOICE_PLACEMENT=redis). */
  redisUrl?: string;
  /** HTTP timeouts and connection caps of the listeners (RESOUND_HTTP_*). */
  httpLimits?: HttpLimits;
  /** Interface of the internal listener (admin API, /metrics); RESOUND_INTERNAL_BIND, loopback by default. */
  internalBind?: string;
}

/** A running voice server: TLS and plain listeners (WebSocket + /healthz), the internal listener and its SFU. */
export interface VoiceGateway {
  server: VoiceServer;
  /** The in-process SFU (SFU_WORKERS=0), else null. */
  sfu: Sfu | null;
  /** The SFU worker processes (SFU_WORKERS ≥ 1), else null. */
  sfuPool: SfuWorkerPool | null;
  /** host:port of the wss listener, as a VOICE_SERVER_UPDATE endpoint. */
  endpoint: string;
  wssUrl: string;
  wsUrl: string | null;
  httpsUrl: string;
  httpUrl: string | null;
  /** The internal listener: admin API, /metrics, /healthz. */
  internalUrl: string;
  certPath: string;
  adminToken: string;
  registry: Registry;
  placement: VoicePlacement | null;
  /** Browser voice's media engine (started by the first browser), or null with VOICE_WEBRTC=off. */
  webrtc: WebRtcEngine | null;
  /** The demo page's URL on the TLS listener, or null when VOICE_DEMO keeps it off. */
  demoUrl: string | null;
  close(): Promise<void>;
}

function parseModes(spec: string | undefined, legacy: boolean): TransportMode[] {
  if (!spec) return preferredModes().filter((m) => legacy || !isLegacyMode(m));
  const modes = spec
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const bad = modes.filter((m) => !isTransportMode(m));
  if (bad.length)
    throw new Error(`SFU_MODES has unknown mode(s) ${bad.join(', ')}; known: ${TRANSPORT_MODES.join(', ')}`);
  const retired = (modes as TransportMode[]).filter(isLegacyMode);
  if (retired.length > 0 && !legacy)
    throw new Error(`SFU_MODES lists retired mode(s) ${retired.join(', ')}; set SFU_LEGACY_MODES=true to offer them`);
  return modes as TransportMode[];
}

export async function startVoiceGateway(opts: VoiceGatewayOptions): Promise<VoiceGateway> {
  const { config, logger } = opts;
  const log = logger.child({ part: 'voice' });
  const registry = new Registry();
  const metrics = new SignalingMetrics(registry);
  const tls = await loadTls({
    certPath: config.SIGNALING_TLS_CERT,
    keyPath: config.SIGNALING_TLS_KEY,
    dataDir: opts.dataDir,
  });
  const tokenSecret = voiceTokenSecret(config, opts.dataDir);
  const adminToken = secretFromConfigOrDataDir(config.ADMIN_TOKEN, opts.dataDir, 'admin-token', 'ADMIN_TOKEN');
  const modes = parseModes(config.SFU_MODES, config.SFU_LEGACY_MODES);

  const media = await openMediaPlane(config, opts.bind, log, registry);
  const sfu = media.plane;
  // One MLS external-sender key per voice server; every channel's DAVE group names it in op 25.
  const dave = {
    sender: new ExternalSender(),
    metrics: createDaveMetrics(registry),
    logger: log.child({ component: 'dave' }),
    mode: config.VOICE_E2EE as E2eeMode,
    transitionTimeoutMs: config.DAVE_TRANSITION_TIMEOUT_MS,
  };
  // Browser voice: the engine costs nothing until the first browser selects "webrtc" (mediasoup workers start then).
  const webrtc =
    config.VOICE_WEBRTC === 'on'
      ? new WebRtcEngine(
          {
            listenIp: opts.bind,
            announcedAddress: config.RESOUND_PUBLIC_IP,
            port: config.SFU_WEBRTC_PORT,
            workers: config.SFU_WEBRTC_WORKERS,
            registry,
          },
          log.child({ component: 'webrtc' }),
        )
      : null;
  const server = new VoiceServer({
    sfu,
    signer: new VoiceTokenSigner(tokenSecret),
    metrics,
    logger: log,
    modes,
    tokenTtlMs: config.VOICE_TOKEN_TTL_S * 1000,
    resumeGraceMs: config.SIGNALING_RESUME_GRACE_MS,
    e2ee: config.VOICE_E2EE,
    udpPeerMatch: config.SFU_UDP_PEER_MATCH,
    channelExtensions:
      opts.channelExtensions ?? ((ch) => (dave.mode === 'off' ? [] : [daveChannelExtension(ch, dave)])),
    webrtc: webrtc
      ? (reject) =>
          new BrowserVoice({
            engine: webrtc,
            metrics,
            logger: log.child({ component: 'browser-voice' }),
            maxPerIp: config.VOICE_WEBRTC_MAX_PER_IP,
            reject,
          })
      : undefined,
  });
  const demo = config.VOICE_DEMO === 'on' || (config.VOICE_DEMO === 'auto' && isLoopbackHost(opts.bind));
  if (demo && !isLoopbackHost(opts.bind))
    log.warn(
      { bind: opts.bind },
      'VOICE_DEMO=on beyond loopback: anyone reaching this server can get a voice token for the demo guild',
    );

  const limits = {
    heartbeatIntervalMs: config.SIGNALING_HEARTBEAT_INTERVAL_MS,
    identifyTimeoutMs: config.SIGNALING_IDENTIFY_TIMEOUT_MS,
    maxFrameBytes: config.SIGNALING_MAX_FRAME_BYTES,
    rateBurst: config.SIGNALING_RATE_BURST,
    ratePerS: config.SIGNALING_RATE_PER_S,
  };
  const badLog = new RateLimitedLog(log);
  // ws enforces its own hard cap well above ours so oversized frames reach our 4002 path instead of a bare 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(limits.maxFrameBytes * 4, 1 << 20) });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const peerIp = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    new GatewayConnection(ws, remote, peerIp, server, limits, metrics, log, badLog);
  });
  // Caps across both listeners, taken before the handshake so a flood of sockets costs no WebSocket state.
  const wsSlots = new PerIpCounter(config.SIGNALING_MAX_CONNECTIONS, config.SIGNALING_MAX_CONNECTIONS_PER_IP);
  const admitUpgrade = (req: IncomingMessage, socket: Duplex): boolean => {
    const ip = req.socket.remoteAddress ?? '?';
    const refused = wsSlots.take(ip);
    if (!refused) {
      socket.once('close', () => wsSlots.release(ip));
      return true;
    }
    const reason = refused === 'total' ? 'ws_cap_total' : 'ws_cap_per_ip';
    metrics.rejected.inc({ reason });
    badLog.warn(`reject:${reason}`, { reason, ip }, 'voice WebSocket refused: connection cap reached');
    socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n');
    return false;
  };

  let endpoint = '';
  const apps: FastifyInstance[] = [];
  let placementRedis: Redis | null = null;
  let placement: VoicePlacement | null = null;
  if (config.VOICE_PLACEMENT === 'redis') {
    if (!opts.redisUrl) throw new Error('VOICE_PLACEMENT=redis needs REDIS_URL');
    placementRedis = createRedis(opts.redisUrl, { maxRetriesPerRequest: 2 });
    watchRedis(placementRedis, log, 'voice-placement');
    placement = new VoicePlacement({ redis: placementRedis, prefix: config.VOICE_PLACEMENT_PREFIX });
  }
  const health = () => ({ sessions: server.sessions.size, channels: server.channels.size, ...media.health() });
  const makeApp = async (https: boolean): Promise<FastifyInstance> => {
    const app = createHttpServer({
      part: 'voice',
      logger: log,
      registry,
      health,
      https: https ? { key: tls.key, cert: tls.cert } : undefined,
      limits: opts.httpLimits,
      metrics: false,
    });
    if (demo)
      await app.register(demoRoutes, {
        server,
        guildId: config.VOICE_DEMO_GUILD_ID,
        unavailable: async () => {
          if (!webrtc) return 'VOICE_WEBRTC=off on this server';
          const status = await webrtc.start();
          return status.available ? null : status.reason;
        },
      });
    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!admitUpgrade(req, socket)) return;
      const url = new URL(req.url ?? '/', 'http://x');
      const v = Number(url.searchParams.get('v') ?? '8');
      wss.handleUpgrade(req, socket, head, (ws) => {
        // Discord refuses gateway versions below 4; this server speaks v8 and is compatible with 4–8.
        if (!Number.isInteger(v) || v < 4 || v > 8) {
          metrics.rejected.inc({ reason: 'bad_version' });
          ws.close(Close.BadRequest, `unsupported voice gateway version ${url.searchParams.get('v')}; use v=8`);
          return;
        }
        wss.emit('connection', ws, req);
      });
    });
    apps.push(app);
    return app;
  };

  const tlsApp = await makeApp(true);
  await listenExplained(
    { listener: 'voice wss', variable: 'SIGNALING_WSS_PORT', host: opts.bind, port: config.SIGNALING_WSS_PORT },
    () => tlsApp.listen({ host: opts.bind, port: config.SIGNALING_WSS_PORT }),
  ).catch(async (err: unknown) => {
    await sfu.close();
    throw err;
  });
  const wssPort = (tlsApp.server.address() as AddressInfo).port;
  endpoint = config.SIGNALING_PUBLIC_ENDPOINT ?? `${config.RESOUND_PUBLIC_IP}:${wssPort}`;
  const wssUrl = `wss://${opts.bind}:${wssPort}/?v=8`;
  logListening(logger, 'voice', wssUrl, { proto: 'wss', cert: tls.certPath, selfSigned: tls.selfSigned });

  let wsUrl: string | null = null;
  let httpUrl: string | null = null;
  const plainPort = plainListenerPort(config, opts.bind);
  if (plainPort >= 0 && !isLoopbackHost(opts.bind))
    log.warn(
      { bind: opts.bind, port: plainPort },
      'plain ws:// listener open beyond loopback: join tokens and secret_key travel in clear; set SIGNALING_WS_PORT=-1 unless a TLS proxy fronts it',
    );
  if (plainPort >= 0) {
    const plainApp = await makeApp(false);
    await listenExplained(
      { listener: 'voice ws', variable: 'SIGNALING_WS_PORT', host: opts.bind, port: plainPort },
      () => plainApp.listen({ host: opts.bind, port: plainPort }),
    ).catch(async (err: unknown) => {
      await Promise.all([tlsApp.close(), sfu.close()]);
      throw err;
    });
    const port = (plainApp.server.address() as AddressInfo).port;
    wsUrl = `ws://${opts.bind}:${port}/?v=8`;
    httpUrl = `http://${opts.bind}:${port}`;
    logListening(logger, 'voice', wsUrl, { proto: 'ws' });
  }

  // Admin API and /metrics listen apart from the public listeners, on loopback unless configured otherwise.
  const internalApp = createHttpServer({
    part: 'voice',
    logger: log,
    registry,
    health,
    limits: opts.httpLimits,
    extraMetrics: () => media.extraMetrics(),
  });
  await internalApp.register(adminApi, {
    server,
    adminToken,
    endpoint: (g, c) => (placement ? placement.assign(g, c, endpoint) : endpoint),
    onReject: (field, message) => {
      metrics.rejected.inc({ reason: 'admin_invalid_id' });
      badLog.warn('admin_invalid_id', { field }, message);
    },
  });
  apps.push(internalApp);
  const internalBind = opts.internalBind ?? '127.0.0.1';
  const internalUrl = await listenHttp(internalApp, {
    listener: 'voice internal',
    variable: 'SIGNALING_INTERNAL_PORT',
    host: internalBind,
    port: config.SIGNALING_INTERNAL_PORT,
  });
  logListening(logger, 'voice', internalUrl, { proto: 'http', internal: true, serves: ['admin API', '/metrics'] });

  const crypto = describeCryptoBackends();
  logListening(
    logger,
    'sfu',
    media
      .ports()
      .map((p) => `udp://${opts.bind}:${p}`)
      .join(' '),
    {
      publicIp: sfu.publicIp,
      workers: config.SFU_WORKERS ?? 0,
      modes,
      backends: crypto.backends,
    },
  );
  if (crypto.aeadGcmAddonError) {
    log.warn(
      { reason: crypto.aeadGcmAddonError },
      'AES-GCM runs on node:crypto (about 10x slower); rebuild the addon with `npm rebuild` or `node native/aead-gcm/install.mjs` (needs g++ and make)',
    );
  }

  let reporter: NodeJS.Timeout | null = null;
  if (placement) {
    const p = placement;
    const report = async () => {
      await p.report({ endpoint, sessions: server.sessions.size, channels: server.channels.size });
      for (const ch of server.channels.values()) await p.touchChannel(ch.guildId, ch.channelId, endpoint);
    };
    await report();
    reporter = setInterval(
      () => void report().catch((err: Error) => log.warn({ err: err.message }, 'placement report failed')),
      5000,
    );
    reporter.unref();
  }

  return {
    server,
    sfu: media.sfu,
    sfuPool: media.pool,
    endpoint,
    wssUrl,
    wsUrl,
    httpsUrl: `https://${opts.bind}:${wssPort}`,
    httpUrl,
    internalUrl,
    certPath: tls.certPath,
    adminToken,
    registry,
    placement,
    webrtc,
    demoUrl: demo ? `https://${opts.bind}:${wssPort}/demo` : null,
    async close() {
      if (reporter) clearInterval(reporter);
      if (placement) await placement.withdraw(endpoint).catch(() => undefined);
      placementRedis?.disconnect();
      server.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      await Promise.all(apps.map((a) => a.close()));
      await webrtc?.close();
      await sfu.close();
    },
  };
}
