/** The voice bridge: op 4 → guild voice state + a voice server for the client (VOICE_SERVER_UPDATE). */
export { VoiceBridge, type VoiceBridgeOptions } from './bridge.ts';
export { loadVoiceBridgeConfig, voiceBridgeShape, type VoiceBridgeConfig } from './config.ts';
export type { VoiceFleet, VoiceFleetEvent, VoiceJoinRequest, VoiceJoinTicket, VoiceReleaseRequest } from './fleet.ts';
