/** Push notifications for mentioned users who are offline (collector, pushers, sinks). */
export { PushService, type PushServiceOptions } from './service.ts';
export { PushCollector } from './collector.ts';
export { Pushers } from './pushers.ts';
export { WebhookSink, signPush, verifyPush, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-sink.ts';
export { RedisPresence } from './presence.ts';
export { mentionNotifications } from './mentions.ts';
export { pushMetrics, type PushMetrics } from './metrics.ts';
export { pushShape, loadPushConfig, type PushConfig } from './config.ts';
export type { PushNotification, PushSink, PresenceLookup } from './types.ts';
export { BusPresence } from './bus-presence.ts';
