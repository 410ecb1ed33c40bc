import { createHash } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerMatches } from '../../common/secrets.ts';
import { isSnowflake, snowflake } from '../../common/snowflake.ts';
import { detectImage } from '../detect/index.ts';
import { MediaError, isMediaError } from '../errors.ts';
import { checkDetected } from '../limits.ts';
import type { OriginRef } from '../origin-store.ts';
import type { MediaProxy } from '../server.ts';
import { signedUrl } from '../signing.ts';
import type { DetectResult } from '../types.ts';

/** Discord's emoji rule: at most 256 KiB per upload. */
export const EMOJI_MAX_BYTES = 256 * 1024;
const SAFE_NAME = /[^A-Za-z0-9._-]+/g;

/** The metadata every upload answers with (Discord's snake_case attachment shape plus what detection found). */
export function describe(d: DetectResult, hash: string): Record<string, unknown> {
  return {
    hash,
    content_type: d.contentType,
    size: d.bytes,
    width: d.width,
    height: d.height,
    frames: d.frames,
    is_animated: d.isAnimated,
    hdr: {
      is_hdr: d.hdr.isHdr,
      transfer: d.hdr.transfer,
      primaries: d.hdr.primaries,
      source: d.hdr.source,
      ...(d.hdr.maxCll !== undefined ? { max_cll: d.hdr.maxCll, max_fall: d.hdr.maxFall } : {}),
      ...(d.hdr.masteringMaxLuminance !== undefined ? { mastering_max_luminance: d.hdr.masteringMaxLuminance } : {}),
    },
  };
}

export function registerUploadRoutes(app: FastifyInstance, proxy: MediaProxy): void {
  const limits = proxy.config.limits;
  void app.register(multipart, { limits: { fileSize: limits.maxInputBytes, files: 1, fields: 4, parts: 5 } });

  const baseUrl = (req: FastifyRequest) => proxy.config.publicUrl ?? `${req.protocol}://${req.host}`;

  /** Reads the single file part, detects it and checks limits; every refusal is a MediaError. */
  const receive = async (req: FastifyRequest, maxBytes: number, tooLarge: 'input_too_large' | 'emoji_too_large') => {
    const token = proxy.config.uploadToken;
    if (token && !bearerMatches(req.headers.authorization, token))
      throw new MediaError('not_found', 'uploads need the upload token');
    if (!req.isMultipart()) throw new MediaError('bad_request', 'upload as multipart/form-data with one file field');
    let part: Awaited<ReturnType<FastifyRequest['file']>>;
    try {
      part = await req.file({ limits: { fileSize: maxBytes } });
    } catch (err) {
      // A body that is not well-formed multipart is the client's error, not ours.
      throw new MediaError('bad_request', `malformed multipart body: ${(err as Error).message}`);
    }
    if (!part) throw new MediaError('bad_request', 'the multipart body has no file');
    let data: Buffer;
    try {
      data = await part.toBuffer();
    } catch (err) {
      if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
        throw new MediaError(tooLarge, `file exceeds ${maxBytes} bytes`);
      throw new MediaError('bad_request', `upload failed: ${(err as Error).message}`);
    }
    const d = detectImage(data);
    checkDetected(d, limits);
    const hash = await proxy.store.put(data);
    return { data, d, hash, filename: part.filename };
  };

  const store = async (kind: OriginRef['kind'], key: string, hash: string, d: DetectResult, filename?: string) => {
    await proxy.store.putRef(key, {
      hash,
      kind,
      detect: d,
      uploadedAt: new Date().toISOString(),
      ...(filename ? { filename } : {}),
    });
    proxy.metrics.uploads.inc({ kind });
    await proxy.emitUpload({ kind, ref: key, hash, detect: d });
  };

  const guarded =
    <T>(route: string, fn: (req: FastifyRequest) => Promise<T>) =>
    async (req: FastifyRequest) => {
      try {
        return await fn(req);
      } catch (err) {
        if (isMediaError(err)) throw proxy.reject(err, { route });
        throw err;
      }
    };

  app.post(
    '/attachments/:channelId',
    guarded('upload-attachment', async (req) => {
      const { channelId } = req.params as { channelId: string };
      if (!isSnowflake(channelId)) throw new MediaError('bad_request', 'channelId must be a snowflake');
      const { d, hash, filename: original } = await receive(req, limits.maxInputBytes, 'input_too_large');
      const id = snowflake();
      const filename = (original || 'image').replace(SAFE_NAME, '_').slice(-100).replace(/^\.+/, '') || 'image';
      await store('attachment', `attachments/${channelId}/${id}`, hash, d, filename);
      const pathname = `/attachments/${channelId}/${id}/${filename}`;
      const url = signedUrl(proxy.config.signingSecret, baseUrl(req), pathname, proxy.config.signedUrlTtlS);
      return { id, filename, ...describe(d, hash), url, proxy_url: url };
    }),
  );

  app.post(
    '/emojis',
    guarded('upload-emoji', async (req) => {
      const { d, hash } = await receive(req, EMOJI_MAX_BYTES, 'emoji_too_large');
      if (d.format === 'heic') throw new MediaError('unsupported_format', 'emoji must be JPEG, PNG, GIF, WebP or AVIF');
      const id = snowflake();
      await store('emoji', `emojis/${id}`, hash, d);
      const ext = d.isAnimated ? 'webp?animated=true' : 'webp';
      return { id, animated: d.isAnimated, ...describe(d, hash), url: `${baseUrl(req)}/emojis/${id}.${ext}` };
    }),
  );

  app.post(
    '/avatars/:userId',
    guarded('upload-avatar', async (req) => {
      const { userId } = req.params as { userId: string };
      if (!isSnowflake(userId)) throw new MediaError('bad_request', 'userId must be a snowflake');
      const { d, hash } = await receive(req, limits.maxInputBytes, 'input_too_large');
      // Discord avatar hashes are 32 hex digits, `a_`-prefixed when the asset is animated.
      const short = createHash('md5').update(hash).digest('hex');
      const avatar = `${d.isAnimated ? 'a_' : ''}${short}`;
      await store('avatar', `avatars/${userId}/${avatar}`, hash, d);
      const ext = d.isAnimated ? (d.format === 'gif' ? 'gif' : 'webp?animated=true') : 'png';
      return { avatar, ...describe(d, hash), url: `${baseUrl(req)}/avatars/${userId}/${avatar}.${ext}` };
    }),
  );
}
