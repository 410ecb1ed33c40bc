/** Scale-out of the gateway: the Redis dispatch bus (and, with it, cross-node session hand-off). */
export { RedisDispatchBus, busShardOf, type RedisDispatchBusOptions } from './redis-bus.ts';
export { dispatchDataJson, originOf } from './wire.ts';
export { encodeWire, decodeWire } from './wire.ts';
export { GatewayNodes, type GatewayNodeInfo, type GatewayNodesOptions } from './nodes.ts';
export { GatewayFront, type GatewayFrontOptions } from './front.ts';
export { RedisSessionStore } from './redis-session-store.ts';
export { RecentDispatches } from '../recent-dispatches.ts';
export { startFanout, startFrontFromEnv, fanoutShape, type Fanout } from './cluster.ts';
