import type { types as ms } from 'mediasoup';

/** Opus's payload type on the mediasoup side: Chromium's default, so browser SDPs need no remapping. */
export const WEBRTC_OPUS_PT = 111;
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/** Every channel's mediasoup router speaks exactly one codec: Opus, 48 kHz, stereo (what Discord clients send). */
export const ROUTER_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: WEBRTC_OPUS_PT },
];

/** Opus as every consumer receives it (browsers and the bridge); no header extensions, no RTX for audio. */
export const CONSUMER_CAPABILITIES: ms.RtpCapabilities = {
  codecs: [
    {
      kind: 'audio',
      mimeType: 'audio/opus',
      clockRate: 48000,
      channels: 2,
      preferredPayloadType: WEBRTC_OPUS_PT,
      parameters: {},
      rtcpFeedback: [],
    },
  ],
  headerExtensions: [],
};

/** RTP parameters of one plain Opus stream with a fixed SSRC (a native speaker entering through the bridge). */
export function plainOpusParameters(ssrc: number, cname: string): ms.RtpParameters {
  return {
    codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: WEBRTC_OPUS_PT, parameters: {} }],
    encodings: [{ ssrc }],
    headerExtensions: [],
    rtcp: { cname, reducedSize: true },
  };
}
