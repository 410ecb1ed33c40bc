import { z } from 'zod';

/** Hex bytes per DTLS fingerprint algorithm (RFC 8122 hash names as SDP writes them). */
const FINGERPRINT_BYTES: Record<string, number> = {
  'sha-1': 20,
  'sha-224': 28,
  'sha-256': 32,
  'sha-384': 48,
  'sha-512': 64,
};

/** Op 1 with `protocol: "webrtc"`: the browser names the channel it believes it joined (its token decides). */
export const WebRtcSelectSchema = z.object({
  protocol: z.literal('webrtc'),
  data: z.object({ channel_id: z.string().regex(/^\d{1,20}$/, 'must be a snowflake string') }),
});

/** Op 40. A fingerprint must be the hash its algorithm names: colon-separated hex bytes of the right count. */
export const WebRtcConnectSchema = z
  .object({
    role: z.enum(['client', 'server']),
    fingerprint: z.object({ algorithm: z.string().max(16), value: z.string().max(200) }),
  })
  .superRefine((d, ctx) => {
    const bytes = FINGERPRINT_BYTES[d.fingerprint.algorithm.toLowerCase()];
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['fingerprint', 'algorithm'],
        message: `unknown hash; use one of ${Object.keys(FINGERPRINT_BYTES).join(', ')}`,
      });
      return;
    }
    const re = new RegExp(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){${bytes - 1}}$`);
    if (!re.test(d.fingerprint.value))
      ctx.addIssue({
        code: 'custom',
        path: ['fingerprint', 'value'],
        message: `must be ${bytes} colon-separated hex bytes for ${d.fingerprint.algorithm}`,
      });
  });

/** Op 41: the microphone's SSRC, from the browser's answer. */
export const WebRtcProduceSchema = z.object({ ssrc: z.number().int().min(1).max(0xffffffff) });
