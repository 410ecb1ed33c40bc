/** Scale-out of the gateway: the Redis dispatch bus (and, with it, cross-node session hand-off). */
export { RedisDispatchBus, busShardOf, type RedisDispatchBusOptions } from './redis-bus.ts';
export { dispatchDataJson, busIdOf, type BusEvent } from './wire.ts';
export { encodeWire, decodeWire } from './wire.ts';
export { GatewayNodes, type GatewayNodeInfo, type GatewayNodesOptions } from './nodes.ts';
export { GatewayFront, type GatewayFrontOptions } from './front.ts';
