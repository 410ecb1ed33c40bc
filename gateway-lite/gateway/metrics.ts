import { Counter, Gauge, type Registry } from 'prom-client';

/** The gateway's series in gateway-lite's registry (served on the internal listener's /metrics). */
export interface GatewayMetrics {
  sessions: Gauge<'state'>;
  /** Read when /metrics is scraped (the hub installs its own); avoids recounting sessions on every change. */
  sessionCounts: () => { attached: number; detached: number };
  connections: Gauge;
  dispatches: Counter<'t'>;
  shed: Counter<'t'>;
  closes: Counter<'code' | 'by'>;
  commands: Counter<'op'>;
  identifies: Counter<'result'>;
  resumes: Counter<'result'>;
  replayed: Counter;
  compressionIn: Counter<'compress'>;
  compressionOut: Counter<'compress'>;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const p = 'resound_gateway_lite_ws_';
  const m: GatewayMetrics = {
    sessionCounts: () => ({ attached: 0, detached: 0 }),
    sessions: new Gauge({
      name: `${p}sessions`,
      help: 'Gateway sessions on this node by state (attached to a socket, detached waiting for a Resume)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const c = m.sessionCounts();
        this.set({ state: 'attached' }, c.attached);
        this.set({ state: 'detached' }, c.detached);
      },
    }),
    connections: new Gauge({ name: `${p}connections`, help: 'Open gateway sockets', registers: [registry] }),
    dispatches: new Counter({
      name: `${p}dispatches_total`,
      help: 'Dispatches numbered for a session (sent, or buffered for Resume), by event name',
      labelNames: ['t'],
      registers: [registry],
    }),
    shed: new Counter({
      name: `${p}shed_total`,
      help: 'Sheddable dispatches (typing, presence) dropped for a congested or detached session, by event name',
      labelNames: ['t'],
      registers: [registry],
    }),
    closes: new Counter({
      name: `${p}closes_total`,
      help: 'Gateway sockets closed, by close code and side that closed (server, client)',
      labelNames: ['code', 'by'],
      registers: [registry],
    }),
    commands: new Counter({
      name: `${p}commands_total`,
      help: 'Client commands received, by opcode',
      labelNames: ['op'],
      registers: [registry],
    }),
    identifies: new Counter({
      name: `${p}identifies_total`,
      help: 'Identify outcomes (ready, throttled, refused)',
      labelNames: ['result'],
      registers: [registry],
    }),
    resumes: new Counter({
      name: `${p}resumes_total`,
      help: 'Resume outcomes (local, taken = from the session store, invalid, gap, ahead, unavailable)',
      labelNames: ['result'],
      registers: [registry],
    }),
    replayed: new Counter({
      name: `${p}replayed_total`,
      help: 'Dispatches re-sent from replay buffers on Resume',
      registers: [registry],
    }),
    compressionIn: new Counter({
      name: `${p}compression_in_bytes_total`,
      help: 'Uncompressed bytes of gateway messages sent, by transport compression',
      labelNames: ['compress'],
      registers: [registry],
    }),
    compressionOut: new Counter({
      name: `${p}compression_out_bytes_total`,
      help: 'Bytes put on the wire for gateway messages, by transport compression',
      labelNames: ['compress'],
      registers: [registry],
    }),
  };
  return m;
}
