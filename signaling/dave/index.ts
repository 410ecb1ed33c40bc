/** DAVE (end-to-end encryption) delivery service: the voice server as MLS external sender. */
export { DaveGroup, type DaveGroupOptions } from './group.ts';
export { ExternalSender, groupIdFor } from './external-sender.ts';
export { createDaveMetrics } from './metrics.ts';
export { isDaveFrame, isSilenceFrame } from './frames.ts';
export * from './types.ts';
export { daveChannelExtension, DaveMediaGate, type DaveServerContext } from './extension.ts';
