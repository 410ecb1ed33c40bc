import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config.ts';
import { loadGatewayLiteConfig } from '../../gateway-lite/index.ts';

const common = { RESOUND_DATA_DIR: '/tmp/resound-cfg', RESOUND_BIND: '127.0.0.1' };

describe('gateway-lite configuration', () => {
  it('defaults: SQLite under the data dir, Discord-like limits, one local node', () => {
    const c = loadGatewayLiteConfig({}, common);
    expect(c.storage).toEqual({ kind: 'sqlite', dataDir: '/tmp/resound-cfg/gateway-lite', synchronous: 'full' });
    expect(c.rateLimits.globalPerSecond).toBe(50);
    expect(c.rateLimits.invalidMax).toBe(10_000);
    expect(c.rateLimits.invalidWindowMs).toBe(600_000);
    expect(c.rateLimits.routes['POST /channels/:id/messages']).toEqual({ limit: 5, windowMs: 5000 });
    expect(c.placement).toBe('local');
    expect(c.mediaProxy).toBeUndefined();
  });

  it('postgres and a media proxy from the environment', () => {
    const c = loadGatewayLiteConfig(
      {
        GATEWAY_LITE_STORAGE: 'postgres',
        GATEWAY_LITE_PG_SCHEMA: 'chat',
        DATABASE_URL: 'postgres://x@h/db',
        GATEWAY_LITE_MEDIA_PROXY_URL: 'http://127.0.0.1:8081/',
      },
      common,
    );
    expect(c.storage).toEqual({ kind: 'postgres', databaseUrl: 'postgres://x@h/db', schema: 'chat' });
    expect(c.mediaProxy).toEqual({ url: 'http://127.0.0.1:8081', token: undefined });
  });

  it('a bad variable stops start-up naming it', () => {
    const bad = () =>
      loadGatewayLiteConfig({ GATEWAY_LITE_RL_MESSAGE_POST: 'five', GATEWAY_LITE_STORAGE: 'mongo' }, common);
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/GATEWAY_LITE_RL_MESSAGE_POST="five": must be REQUESTS\/WINDOW_MS/);
    expect(bad).toThrow(/GATEWAY_LITE_STORAGE="mongo"/);
  });
});
