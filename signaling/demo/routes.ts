import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../common/http.ts';
import { snowflake } from '../../common/snowflake.ts';
import type { VoiceServer } from '../voice-server.ts';
import { bundleBrowserModule } from './bundle.ts';

export interface DemoRouteOptions {
  server: VoiceServer;
  /** The only guild demo joins go to. */
  guildId: string;
  /** Why browser voice cannot work here (engine unavailable), or null when it can (checked per join). */
  unavailable: () => Promise<string | null>;
}

const PAGE = new URL('./index.html', import.meta.url);
const SCRIPT = new URL('./page.browser.ts', import.meta.url);
/** Only what the page does: its own script and styles, WebSockets and fetches to this origin, microphone. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data:";

/**
 * The voice demo: GET /demo (the page), GET /demo/page.js (its client, compiled once on first request) and
 * POST /demo/join, which places a fresh demo user in a channel of the demo guild through the same grant as the admin
 * API's /voice/join. Registered only where VOICE_DEMO allows (loopback binds by default): it hands out join tokens
 * without authentication.
 */
export async function demoRoutes(app: FastifyInstance, opts: DemoRouteOptions): Promise<void> {
  let script: Promise<string> | null = null;
  app.get('/demo', async (_req, reply) => {
    reply.header('content-security-policy', CSP).type('text/html; charset=utf-8');
    return fs.promises.readFile(PAGE, 'utf8');
  });
  app.get('/demo/page.js', async (_req, reply) => {
    script ??= bundleBrowserModule(SCRIPT.pathname).catch((err: Error) => {
      script = null;
      throw new HttpError(500, 'demo_build_failed', `the demo client failed to compile: ${err.message}`);
    });
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache');
    return script;
  });
  app.post<{ Body: { channel_id?: unknown } }>('/demo/join', async (req) => {
    const channelId = req.body?.channel_id;
    if (typeof channelId !== 'string' || !/^[1-9]\d{0,18}$/.test(channelId))
      throw new HttpError(400, 'invalid_channel', 'channel_id must be a snowflake as a decimal string, e.g. "1000"');
    const why = await opts.unavailable();
    if (why) throw new HttpError(503, 'webrtc_unavailable', `browser voice unavailable: ${why}`);
    const userId = snowflake();
    const grant = opts.server.grantJoin(opts.guildId, channelId, userId);
    return {
      guild_id: opts.guildId,
      channel_id: channelId,
      user_id: userId,
      session_id: grant.session_id,
      token: grant.token,
    };
  });
}
