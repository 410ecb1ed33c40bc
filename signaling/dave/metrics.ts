import { Counter, Gauge, Histogram, type Registry } from '../../common/metrics.ts';
import type { DaveMetricsHooks } from './types.ts';

/** DAVE metrics on an instance registry: groups, epochs, transitions, races, op 31 reports, rejections, E2EE latency. */
export function createDaveMetrics(registry: Registry): DaveMetricsHooks {
  const groups = new Gauge({ name: 'resound_dave_groups', help: 'Established DAVE groups', registers: [registry] });
  const epochs = new Counter({
    name: 'resound_dave_epochs_total',
    help: 'Accepted commits (epoch advances)',
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'resound_dave_transitions_total',
    help: 'DAVE transitions started, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const races = new Counter({
    name: 'resound_dave_commit_races_lost_total',
    help: 'Commits dropped because another commit won the epoch',
    registers: [registry],
  });
  const invalid = new Counter({
    name: 'resound_dave_invalid_commit_welcome_total',
    help: 'op 31 reports (client failed a commit/welcome or decryption)',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'resound_dave_rejected_total',
    help: 'DAVE client input rejected, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const firstFrame = new Histogram({
    name: 'resound_dave_join_to_first_e2ee_frame_seconds',
    help: 'Time from a client joining to its first end-to-end encrypted frame',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  return {
    groupEstablished: (d) => groups.inc(d),
    epochAdvanced: () => epochs.inc(),
    transition: (kind) => transitions.inc({ kind }),
    commitRaceLost: () => races.inc(),
    invalidCommitWelcome: () => invalid.inc(),
    rejected: (reason) => rejected.inc({ reason }),
    joinToFirstE2eeFrame: (s) => firstFrame.observe(s),
  };
}
