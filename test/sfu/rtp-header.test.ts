import { describe, expect, it } from 'vitest';
import {
  createRtpHeader,
  IP_DISCOVERY_LENGTH,
  ipDiscoverySsrc,
  isIpDiscoveryRequest,
  parseRtpHeader,
  readIpDiscoveryResponse,
  writeExtensionPreamble,
  writeIpDiscoveryRequest,
  writeIpDiscoveryResponse,
  writeRtpHeader,
} from '../../sfu/index.ts';

describe('RTP header', () => {
  it('round-trips the fixed header at the edges of every field', () => {
    const buf = new Uint8Array(12);
    const h = createRtpHeader();
    for (const [seq, ts, ssrc, marker] of [
      [0, 0, 1, false],
      [65535, 0xffffffff, 0xffffffff, true],
      [0x8000, 0x80000000, 0x80000001, false],
    ] as const) {
      writeRtpHeader(buf, 120, marker, seq, ts, ssrc);
      expect(parseRtpHeader(buf, 12, h)).toBe(true);
      expect([h.sequence, h.timestamp, h.ssrc, h.marker, h.payloadType, h.csrcCount, h.extension]).toEqual([
        seq,
        ts,
        ssrc,
        marker,
        120,
        0,
        false,
      ]);
      expect(h.rtpsizeHeaderLength).toBe(12);
    }
  });

  it('matches the byte layout @discordjs/voice sends', () => {
    const buf = new Uint8Array(12);
    writeRtpHeader(buf, 120, false, 0x1234, 0x01020304, 0xa0b0c0d0);
    expect(Buffer.from(buf).toString('hex')).toBe('8078123401020304a0b0c0d0');
  });

  it('reads CSRCs and the 0xBEDE extension preamble into the rtpsize header length', () => {
    const buf = new Uint8Array(40);
    writeRtpHeader(buf, 120, false, 5, 960, 77, true);
    buf[0] = (buf[0] & 0xf0) | 2; // CC = 2
    writeExtensionPreamble(buf, 12 + 8, 0xbede, 3);
    const h = createRtpHeader();
    expect(parseRtpHeader(buf, 40, h)).toBe(true);
    expect(h.csrcCount).toBe(2);
    expect(h.extension).toBe(true);
    expect(h.extensionOffset).toBe(20);
    expect(h.extensionProfile).toBe(0xbede);
    expect(h.extensionWords).toBe(3);
    expect(h.rtpsizeHeaderLength).toBe(24);
  });

  it('refuses packets shorter than the header they declare, and other versions', () => {
    const h = createRtpHeader();
    const buf = new Uint8Array(40);
    writeRtpHeader(buf, 120, false, 1, 1, 1, true);
    expect(parseRtpHeader(buf, 15, h)).toBe(false); // X set but no room for the preamble
    buf[0] = 0x8f; // CC = 15 → 72 bytes of header
    expect(parseRtpHeader(buf, 40, h)).toBe(false);
    buf[0] = 0x40;
    expect(parseRtpHeader(buf, 40, h)).toBe(false);
    expect(parseRtpHeader(buf, 11, h)).toBe(false);
  });
});

describe('IP discovery', () => {
  it('lays out a 74-byte request and response as the Discord docs describe', () => {
    const req = new Uint8Array(IP_DISCOVERY_LENGTH);
    writeIpDiscoveryRequest(req, 0xdeadbeef);
    expect(Buffer.from(req.subarray(0, 8)).toString('hex')).toBe('00010046deadbeef');
    expect(isIpDiscoveryRequest(req, 74)).toBe(true);
    expect(ipDiscoverySsrc(req)).toBe(0xdeadbeef);

    const res = Buffer.alloc(IP_DISCOVERY_LENGTH);
    writeIpDiscoveryResponse(res, 0xdeadbeef, '203.0.113.9', 50123);
    expect(res.readUInt16BE(0)).toBe(2);
    expect(res.readUInt16BE(2)).toBe(70);
    expect(res.subarray(8, 8 + 11).toString('ascii')).toBe('203.0.113.9');
    expect(res[8 + 11]).toBe(0);
    expect(res.readUInt16BE(72)).toBe(50123);
    expect(readIpDiscoveryResponse(res)).toEqual({ ssrc: 0xdeadbeef, address: '203.0.113.9', port: 50123 });
  });

  it('rejects look-alikes', () => {
    const req = new Uint8Array(IP_DISCOVERY_LENGTH);
    writeIpDiscoveryRequest(req, 1);
    expect(isIpDiscoveryRequest(req, 73)).toBe(false);
    req[1] = 2;
    expect(isIpDiscoveryRequest(req, 74)).toBe(false);
  });
});
