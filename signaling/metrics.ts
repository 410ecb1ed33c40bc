import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class SignalingMetrics {
  readonly connections: Gauge;
  readonly sessions: Gauge;
  readonly messagesIn: Counter<'op'>;
  readonly messagesOut: Counter<'op'>;
  readonly closes: Counter<'code'>;
  readonly rejected: Counter<'reason'>;
  readonly resumes: Counter<'result'>;
  readonly joins: Counter;
  readonly workerEvictions: Counter;
  readonly identifyToReady: Histogram;
  readonly webrtcSessions: Gauge;

  constructor(registry: Registry) {
    const r = [registry];
    this.connections = new Gauge({
      name: 'resound_signaling_connections',
      help: 'Open voice gateway WebSockets',
      registers: r,
    });
    this.sessions = new Gauge({
      name: 'resound_signaling_sessions',
      help: 'Voice sessions (attached or awaiting resume)',
      registers: r,
    });
    this.messagesIn = new Counter({
      name: 'resound_signaling_messages_in_total',
      help: 'Client messages by opcode',
      labelNames: ['op'],
      registers: r,
    });
    this.messagesOut = new Counter({
      name: 'resound_signaling_messages_out_total',
      help: 'Server messages by opcode',
      labelNames: ['op'],
      registers: r,
    });
    this.closes = new Counter({
      name: 'resound_signaling_closes_total',
      help: 'Connections closed by the server, by close code',
      labelNames: ['code'],
      registers: r,
    });
    this.rejected = new Counter({
      name: 'resound_signaling_rejected_total',
      help: 'Client input rejected, by reason',
      labelNames: ['reason'],
      registers: r,
    });
    this.resumes = new Counter({
      name: 'resound_signaling_resumes_total',
      help: 'Resume attempts by result',
      labelNames: ['result'],
      registers: r,
    });
    this.joins = new Counter({
      name: 'resound_signaling_joins_total',
      help: 'Join tokens issued by the admin API',
      registers: r,
    });
    this.workerEvictions = new Counter({
      name: 'resound_signaling_worker_evictions_total',
      help: 'Sessions closed with 4006 because the SFU worker hosting their channel died (clients join again)',
      registers: r,
    });
    this.webrtcSessions = new Gauge({
      name: 'resound_signaling_webrtc_sessions',
      help: 'Browser voice sessions holding a WebRTC transport',
      registers: r,
    });
    this.identifyToReady = new Histogram({
      name: 'resound_signaling_identify_to_session_description_seconds',
      help: 'Time from Identify to Session Description (includes the client IP discovery round trip)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
  }
}
