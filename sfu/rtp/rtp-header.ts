/**
 * RTP fixed header (RFC 3550 §5.1) as Discord voice uses it: V=2, PT 120 for Opus, optional CSRCs and a one-byte
 * header extension (RFC 8285, profile 0xBEDE). Parsing fills a reusable object so the packet path allocates nothing.
 */
export const RTP_VERSION = 2;
export const OPUS_PAYLOAD_TYPE = 120;
export const RTP_FIXED_HEADER = 12;
export const ONE_BYTE_EXTENSION_PROFILE = 0xbede;
/** 20 ms of 48 kHz audio: the timestamp step between consecutive Opus frames. */
export const OPUS_FRAME_TICKS = 960;

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  padding: boolean;
  csrcCount: number;
  /** True when the X bit is set; the preamble sits at `extensionOffset`. */
  extension: boolean;
  extensionOffset: number;
  extensionProfile: number;
  /** Extension body length in 32-bit words (from the preamble). */
  extensionWords: number;
  /** Bytes an SRTP-style ("rtpsize") header keeps in the clear: 12 + 4·CC (+ 4 preamble if X). */
  rtpsizeHeaderLength: number;
}

export function createRtpHeader(): RtpHeader {
  return {
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    padding: false,
    csrcCount: 0,
    extension: false,
    extensionOffset: 0,
    extensionProfile: 0,
    extensionWords: 0,
    rtpsizeHeaderLength: RTP_FIXED_HEADER,
  };
}

/** Cheap test used by the packet classifier: version 2 and long enough for a fixed header. */
export function looksLikeRtp(buf: Uint8Array, length: number): boolean {
  return length >= RTP_FIXED_HEADER && buf[0] >> 6 === RTP_VERSION;
}

/**
 * Parses the clear part of an RTP header into `out`. Returns false when the packet is too short for the header it
 * declares or is not version 2. The extension preamble is read only when it lies in the clear (rtpsize modes).
 */
export function parseRtpHeader(buf: Uint8Array, length: number, out: RtpHeader): boolean {
  if (length < RTP_FIXED_HEADER) return false;
  const b0 = buf[0];
  if (b0 >> 6 !== RTP_VERSION) return false;
  out.padding = (b0 & 0x20) !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.csrcCount = b0 & 0x0f;
  out.marker = (buf[1] & 0x80) !== 0;
  out.payloadType = buf[1] & 0x7f;
  out.sequence = (buf[2] << 8) | buf[3];
  out.timestamp = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  out.ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
  let end = RTP_FIXED_HEADER + 4 * out.csrcCount;
  if (length < end) return false;
  out.extensionOffset = end;
  out.extensionProfile = 0;
  out.extensionWords = 0;
  if (out.extension) {
    if (length < end + 4) return false;
    out.extensionProfile = (buf[end] << 8) | buf[end + 1];
    out.extensionWords = (buf[end + 2] << 8) | buf[end + 3];
    end += 4;
  }
  out.rtpsizeHeaderLength = end;
  return true;
}

/**
 * Writes a fixed 12-byte header (CC=0) into `out` at 0 and returns 12. Outgoing packets never carry CSRCs: the
 * @discordjs/voice 0.19 receiver assumes CC=0 when it computes the header size.
 */
export function writeRtpHeader(
  out: Uint8Array,
  payloadType: number,
  marker: boolean,
  sequence: number,
  timestamp: number,
  ssrc: number,
  extension = false,
): number {
  out[0] = 0x80 | (extension ? 0x10 : 0);
  out[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  out[2] = (sequence >>> 8) & 0xff;
  out[3] = sequence & 0xff;
  out[4] = timestamp >>> 24;
  out[5] = (timestamp >>> 16) & 0xff;
  out[6] = (timestamp >>> 8) & 0xff;
  out[7] = timestamp & 0xff;
  out[8] = ssrc >>> 24;
  out[9] = (ssrc >>> 16) & 0xff;
  out[10] = (ssrc >>> 8) & 0xff;
  out[11] = ssrc & 0xff;
  return RTP_FIXED_HEADER;
}

/** Writes the 4-byte extension preamble (profile, length in words) at `offset`. */
export function writeExtensionPreamble(out: Uint8Array, offset: number, profile: number, words: number): number {
  out[offset] = profile >>> 8;
  out[offset + 1] = profile & 0xff;
  out[offset + 2] = words >>> 8;
  out[offset + 3] = words & 0xff;
  return offset + 4;
}
