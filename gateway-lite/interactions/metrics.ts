import { Counter, Histogram, type Registry } from 'prom-client';

export interface InteractionMetrics {
  /** Invocations by delivery (gateway/http) and outcome (acknowledged/failed). */
  invocations: Counter<'delivery' | 'outcome'>;
  /** Failed invocations by reason (no_ack, endpoint_status, endpoint_timeout, endpoint_blocked, endpoint_body, …). */
  failures: Counter<'reason'>;
  /** Refused invocations, callbacks and webhook calls by Discord code (10062, 40060, 50013, 50027, 50035, …). */
  refused: Counter<'code'>;
  /** Invocation → first acknowledgement. */
  ackSeconds: Histogram<'delivery'>;
  /** Endpoint URL saves by result (saved/refused). */
  endpointChecks: Counter<'result'>;
}

export function createInteractionMetrics(registry: Registry): InteractionMetrics {
  return {
    invocations: new Counter({
      name: 'resound_interactions_total',
      help: 'Interactions invoked, by delivery (gateway or http) and outcome',
      labelNames: ['delivery', 'outcome'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'resound_interactions_failed_total',
      help: 'Interactions the invoking user was told failed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'resound_interactions_refused_total',
      help: 'Interaction invocations, callbacks and webhook calls refused, by Discord error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'resound_interactions_ack_seconds',
      help: 'Time from invocation to the first acknowledgement',
      labelNames: ['delivery'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
      registers: [registry],
    }),
    endpointChecks: new Counter({
      name: 'resound_interactions_endpoint_checks_total',
      help: 'Interactions endpoint URL validations at save time, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
