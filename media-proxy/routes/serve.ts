import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSnowflake } from '../../common/snowflake.ts';
import { MediaError } from '../errors.ts';
import type { OriginRef } from '../origin-store.ts';
import type { MediaService, Rendered } from '../service.ts';
import type { Refuse } from './index.ts';
import { parseQuery, type RouteKind } from './params.ts';
import { readQuery, type Query } from './query.ts';
import { ResolveMemo, type Resolution } from './resolve-memo.ts';

const FILENAME = /^[A-Za-z0-9._-]{1,128}$/;
const AVATAR_HASH = /^(a_)?[0-9a-f]{32}$/;
/** URLs whose resolution is kept (a few hundred bytes each). */
const RESOLVE_MEMO = 10_000;

interface Located {
  ref: OriginRef;
  kind: RouteKind;
  ext?: string;
  /** When the signature that admitted the request expires (ms since the epoch). */
  expiresAtMs?: number;
}

/**
 * GET/HEAD for the three Discord-shaped paths. Order: read the query (one bounded value per parameter), find the
 * asset, check the signature (attachments), parse the parameters and resolve them to the canonical request and its key
 * (a repeated URL reuses its resolution, see ResolveMemo), answer 304 from the key alone when the client has it, then
 * render (cache → miss limiter → transform), charging misses to the peer address.
 */
export async function serveRoutes(
  app: FastifyInstance,
  opts: { service: MediaService; refuse: Refuse },
): Promise<void> {
  const { service, refuse } = opts;
  const memo = new ResolveMemo(RESOLVE_MEMO);
  const serve =
    (kind: RouteKind, locate: (req: FastifyRequest, q: Query) => Promise<Located>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const memoKey = ResolveMemo.keyOf(req.url, req.headers.accept);
        const seen = memo.get(memoKey);
        const q = seen?.q ?? readQuery(req.query);
        const { ref, ext, expiresAtMs } = await locate(req, q);
        const r = seen?.ref === ref ? seen : resolveFresh(kind, q, ref, ext, req.headers.accept);
        if (r !== seen) memo.set(memoKey, r);
        reply.header('etag', r.etag);
        reply.header('cache-control', service.cacheControl(expiresAtMs));
        if (r.negotiated) reply.header('vary', 'Accept');
        if (etagMatches(req.headers['if-none-match'], r.etag)) {
          service.countRequest(kind, 'not_modified');
          return reply.code(304).send();
        }
        const out = await service.render(ref.hash, ref.detect, r.request, r.key, req.ip);
        service.countRequest(kind, out.cache);
        return send(reply, out);
      } catch (err) {
        throw refuse(err, { route: kind, url: req.url.split('?')[0] });
      }
    };

  /** Parses the parameters and resolves them to the canonical request and its key (ETag), for the memo. */
  const resolveFresh = (
    kind: RouteKind,
    q: Query,
    ref: OriginRef,
    ext: string | undefined,
    accept: string | undefined,
  ): Resolution => {
    const { req: wanted, negotiated } = parseQuery(kind, q, ref.detect, ext, accept, service.maxOutputDimension);
    const { request, key } = service.resolve(ref.hash, ref.detect, wanted);
    return { ref, q, request, key, etag: `"${key}"`, negotiated };
  };

  app.get(
    '/attachments/:channelId/:attachmentId/:filename',
    serve('attachment', async (req, q) => {
      const p = req.params as { channelId: string; attachmentId: string; filename: string };
      if (!isSnowflake(p.channelId) || !isSnowflake(p.attachmentId) || !FILENAME.test(p.filename)) throw notFound();
      const ref = await service.findAsset(`attachments/${p.channelId}/${p.attachmentId}`);
      if (!ref || ref.filename !== p.filename) throw notFound();
      const pathname = `/attachments/${p.channelId}/${p.attachmentId}/${p.filename}`;
      const expiresAtMs = service.verifyAttachment(pathname, q);
      return { ref, kind: 'attachment', expiresAtMs };
    }),
  );

  app.get(
    '/emojis/:file',
    serve('emoji', async (req) => {
      const { id, ext } = splitExt((req.params as { file: string }).file);
      if (!isSnowflake(id)) throw notFound();
      const ref = await service.findAsset(`emojis/${id}`);
      if (!ref) throw notFound();
      return { ref, kind: 'emoji', ext };
    }),
  );

  app.get(
    '/avatars/:userId/:file',
    serve('avatar', async (req) => {
      const p = req.params as { userId: string; file: string };
      const { id: hash, ext } = splitExt(p.file);
      if (!isSnowflake(p.userId) || !AVATAR_HASH.test(hash)) throw notFound();
      const ref = await service.findAsset(`avatars/${p.userId}/${hash}`);
      if (!ref) throw notFound();
      return { ref, kind: 'avatar', ext };
    }),
  );
}

function notFound(): MediaError {
  return new MediaError('not_found', 'no such asset');
}

function splitExt(file: string): { id: string; ext: string } {
  const dot = file.lastIndexOf('.');
  if (dot <= 0)
    throw new MediaError('bad_request', 'the path must end in an extension: .png, .jpg, .webp, .gif or .avif');
  return { id: file.slice(0, dot), ext: file.slice(dot + 1) };
}

/** Strong comparison per RFC 9110 for If-None-Match; `*` matches any current representation. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function send(reply: FastifyReply, r: Rendered): FastifyReply {
  return reply
    .header('content-type', r.meta.contentType)
    .header('content-length', String(r.data.length))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('x-resound-cache', r.cache)
    .header('x-resound-image', r.image)
    .send(r.data);
}
