import { createHash } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isSnowflake, snowflake } from '../../common/snowflake.ts';
import { MediaError } from '../errors.ts';
import type { MediaService } from '../service.ts';
import type { DetectResult } from '../types.ts';
import type { Refuse } from './index.ts';

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

export async function uploadRoutes(
  app: FastifyInstance,
  opts: { service: MediaService; refuse: Refuse },
): Promise<void> {
  const { service, refuse } = opts;
  const maxBytes = service.maxUploadBytes;
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 4, parts: 5 } });

  const requestBase = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
  const baseUrl = (req: FastifyRequest) => service.publicBase(requestBase(req));

  /** Reads the single file part, detects it and checks limits; every refusal is a MediaError. */
  const receive = async (req: FastifyRequest, limit: number, tooLarge: 'input_too_large' | 'emoji_too_large') => {
    if (!service.uploadAllowed(req.headers.authorization))
      throw new MediaError('not_found', 'uploads need the upload token');
    if (!req.isMultipart()) throw new MediaError('bad_request', 'upload as multipart/form-data with one file field');
    let part: Awaited<ReturnType<FastifyRequest['file']>>;
    try {
      part = await req.file({ limits: { fileSize: limit } });
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
        throw new MediaError(tooLarge, `file exceeds ${limit} bytes`);
      throw new MediaError('bad_request', `upload failed: ${(err as Error).message}`);
    }
    return { data, d: service.inspect(data), filename: part.filename };
  };

  const guarded =
    <T>(route: string, fn: (req: FastifyRequest) => Promise<T>) =>
    async (req: FastifyRequest) => {
      try {
        return await fn(req);
      } catch (err) {
        throw refuse(err, { route });
      }
    };

  app.post(
    '/attachments/:channelId',
    guarded('upload-attachment', async (req) => {
      const { channelId } = req.params as { channelId: string };
      if (!isSnowflake(channelId)) throw new MediaError('bad_request', 'channelId must be a snowflake');
      const { data, d, filename: original } = await receive(req, maxBytes, 'input_too_large');
      const id = snowflake();
      const filename = (original || 'image').replace(SAFE_NAME, '_').slice(-100).replace(/^\.+/, '') || 'image';
      const ref = `attachments/${channelId}/${id}`;
      const { hash } = await service.storeOriginal('attachment', data, d, () => ref, filename);
      const signed = service.signAttachment(requestBase(req), `/attachments/${channelId}/${id}/${filename}`);
      // As Discord's: `url` is the file as uploaded, `proxy_url` the media proxy's (resizable, negotiated) rendition.
      return { id, filename, ...describe(d, hash), url: `${signed}&passthrough=true`, proxy_url: signed };
    }),
  );

  app.post(
    '/emojis',
    guarded('upload-emoji', async (req) => {
      const { data, d } = await receive(req, EMOJI_MAX_BYTES, 'emoji_too_large');
      if (d.format === 'heic') throw new MediaError('unsupported_format', 'emoji must be JPEG, PNG, GIF, WebP or AVIF');
      const id = snowflake();
      const { hash } = await service.storeOriginal('emoji', data, d, () => `emojis/${id}`);
      const ext = d.isAnimated ? 'webp?animated=true' : 'webp';
      return { id, animated: d.isAnimated, ...describe(d, hash), url: `${baseUrl(req)}/emojis/${id}.${ext}` };
    }),
  );

  app.post(
    '/avatars/:userId',
    guarded('upload-avatar', async (req) => {
      const { userId } = req.params as { userId: string };
      if (!isSnowflake(userId)) throw new MediaError('bad_request', 'userId must be a snowflake');
      const { data, d } = await receive(req, maxBytes, 'input_too_large');
      // Discord avatar hashes are 32 hex digits, `a_`-prefixed when the asset is animated.
      const avatarOf = (hash: string) => `${d.isAnimated ? 'a_' : ''}${createHash('md5').update(hash).digest('hex')}`;
      const { hash } = await service.storeOriginal('avatar', data, d, (h) => `avatars/${userId}/${avatarOf(h)}`);
      const avatar = avatarOf(hash);
      const ext = d.isAnimated ? (d.format === 'gif' ? 'gif' : 'webp?animated=true') : 'png';
      return { avatar, ...describe(d, hash), url: `${baseUrl(req)}/avatars/${userId}/${avatar}.${ext}` };
    }),
  );
}
