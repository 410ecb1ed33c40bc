import { Counter, type Registry } from '../../common/metrics.ts';

/** The voice bridge's counters (on the gateway-lite registry, served at its internal /metrics). */
export function createVoiceBridgeMetrics(registry: Registry) {
  return {
    updates: new Counter({
      name: 'resound_gateway_lite_voice_state_updates_total',
      help: 'voice state changes: op 4 (join, move, rejoin, update, leave) and session_ended (gateway session gone)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'resound_gateway_lite_voice_rejected_total',
      help: 'op 4 refused: malformed (4002), flood (4008), not_member and not_voice_channel (ignored, as Discord does)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    serverUpdates: new Counter({
      name: 'resound_gateway_lite_voice_server_updates_total',
      help: 'VOICE_SERVER_UPDATE sent, by cause (join, server_gone) and whether a voice server was live',
      labelNames: ['cause', 'endpoint'] as const,
      registers: [registry],
    }),
    voiceSessionsEnded: new Counter({
      name: 'resound_gateway_lite_voice_sessions_ended_total',
      help: 'voice-server session ends seen, by effect: cleared (gateway voice state removed), kept, stale',
      labelNames: ['effect'] as const,
      registers: [registry],
    }),
  };
}

export type VoiceBridgeMetrics = ReturnType<typeof createVoiceBridgeMetrics>;
