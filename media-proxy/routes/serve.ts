import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSnowflake } from '../../common/snowflake.ts';
import { MediaError } from '../errors.ts';
import type { OriginRef } from '../origin-store.ts';
import type { MediaService, Rendered } from '../service.ts';
import type { Refuse } from './index.ts';
import { parseQuery, wantsOriginal, type RouteKind } from './params.ts';
import { readQuery, type Query } from './query.ts';
import { ResolveMemo, type Resolution } from './resolve-memo.ts';

const FILENAME = /^[A-Za-z0-9._-]{1,128}$/;
const AVATAR_HASH = /^(a_)?[0-9a-f]{32}$/;
/** URLs whose resolution is kept (a few hundred bytes each). */
const RESOLVE_MEMO = 10_000;

interface AttachmentParams {
  channelId: string;
  attachmentId: string;
  filename: string;
}

interface Located {
  ref: OriginRef;
  kind: RouteKind;
  ext?: string;
  /** When the signature that admitted the request expires (ms since the epoch). */
  expiresAtMs?: number;
}

/** A found asset's cached answer: bytes, facts and `X-Resound-Image`, from memory, disk or a fresh render. */
type Answer = Pick<Rendered, 'data' | 'meta' | 'image'>;

/**
 * GET/HEAD for the three Discord-shaped paths. Order: read the query (one bounded value per parameter), find the
 * asset, check the signature (attachments), parse the parameters and resolve them to the canonical request and its key
 * (a repeated URL reuses its resolution, see ResolveMemo), answer 304 from the key alone when the client has it, then
 * render (cache → miss limiter → transform), charging misses to the peer address.
 *
 * A repeated URL whose asset and result are both in memory is answered without awaiting anything (the handler is not
 * async: each await would cost the hit a promise and a trip through the microtask queue); everything else continues
 * on promises.
 */
export async function serveRoutes(
  app: FastifyInstance,
  opts: { service: MediaService; refuse: Refuse },
): Promise<void> {
  const { service, refuse } = opts;
  const memo = new ResolveMemo(RESOLVE_MEMO);
  const serve =
    (kind: RouteKind, locate: (req: FastifyRequest, q: Query) => Located | Promise<Located>) =>
    (req: FastifyRequest, reply: FastifyReply): Promise<unknown> | undefined => {
      // No closure is made per request on the way to a hit: under tsx every closure also costs a __name() call.
      try {
        const memoKey = ResolveMemo.keyOf(req.url, req.headers.accept);
        const seen = memo.get(memoKey);
        const q = seen?.q ?? readQuery(req.query);
        const at = locate(req, q);
        if (!(at instanceof Promise)) return answer(kind, req, reply, memoKey, seen, q, at)?.catch(failed(kind, req));
        return at.then((found) => answer(kind, req, reply, memoKey, seen, q, found)).catch(failed(kind, req));
      } catch (err) {
        return failed(kind, req)(err);
      }
    };

  /** The counted, logged refusal for a request's error (thrown on into fastify's error handler). */
  const failed =
    (kind: RouteKind, req: FastifyRequest) =>
    (err: unknown): never => {
      throw refuse(err, { route: kind, url: req.url.split('?')[0] });
    };

  /** The found asset's answer: resolution (memoised), 304 from the key, then memory synchronously, else render. */
  const answer = (
    kind: RouteKind,
    req: FastifyRequest,
    reply: FastifyReply,
    memoKey: string,
    seen: Resolution | undefined,
    q: Query,
    { ref, ext, expiresAtMs }: Located,
  ): Promise<unknown> | undefined => {
    if (q.passthrough !== undefined && wantsOriginal(q)) return original(kind, req, reply, ref, expiresAtMs);
    const r = seen?.ref === ref ? seen : resolveFresh(kind, q, ref, ext, req.headers.accept);
    if (r !== seen) memo.set(memoKey, r);
    reply.header('etag', r.etag);
    reply.header('cache-control', service.cacheControl(expiresAtMs));
    if (r.negotiated) reply.header('vary', 'Accept');
    if (etagMatches(req.headers['if-none-match'], r.etag)) {
      service.countRequest(kind, 'not_modified');
      reply.code(304).send();
      return undefined;
    }
    const hot = service.peekResult(r.key);
    if (hot) {
      service.countRequest(kind, 'hit');
      send(reply, hot, 'hit');
      return undefined;
    }
    return service.render(ref.hash, ref.detect, r.request, r.key, req.ip).then((out) => {
      service.countRequest(kind, out.cache);
      send(reply, out, out.cache);
    });
  };

  /** `passthrough=true`: the stored original, unchanged, under its content hash as ETag (no transform, no Vary). */
  const original = async (
    kind: RouteKind,
    req: FastifyRequest,
    reply: FastifyReply,
    ref: OriginRef,
    expiresAtMs: number | undefined,
  ): Promise<FastifyReply | undefined> => {
    const etag = `"${ref.hash}"`;
    reply.header('etag', etag).header('cache-control', service.cacheControl(expiresAtMs));
    if (etagMatches(req.headers['if-none-match'], etag)) {
      service.countRequest(kind, 'not_modified');
      reply.code(304).send();
      return undefined;
    }
    const { data, size } = await service.original(ref.hash, ref.detect);
    service.countRequest(kind, 'original');
    reply
      .header('content-type', ref.detect.contentType)
      .header('content-length', String(size))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('x-resound-cache', 'original')
      .send(data);
    // Returned so fastify knows a stream is on its way (its headers are not written yet) and sends nothing else.
    return reply;
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

  /** The ref from memory when the store has it (no promise), else from the store; `check` throws when it is not usable. */
  const find = <P>(
    refKey: string,
    p: P,
    q: Query,
    check: (ref: OriginRef | undefined, p: P, q: Query) => Located,
  ): Located | Promise<Located> => {
    const ref = service.peekAsset(refKey);
    return ref ? check(ref, p, q) : service.findAsset(refKey).then((found) => check(found, p, q));
  };

  const attachmentFound = (ref: OriginRef | undefined, p: AttachmentParams, q: Query): Located => {
    if (!ref || ref.filename !== p.filename) throw notFound();
    const pathname = `/attachments/${p.channelId}/${p.attachmentId}/${p.filename}`;
    return { ref, kind: 'attachment', expiresAtMs: service.verifyAttachment(pathname, q) };
  };

  app.get(
    '/attachments/:channelId/:attachmentId/:filename',
    serve('attachment', (req, q) => {
      const p = req.params as AttachmentParams;
      if (!isSnowflake(p.channelId) || !isSnowflake(p.attachmentId) || !FILENAME.test(p.filename)) throw notFound();
      return find(`attachments/${p.channelId}/${p.attachmentId}`, p, q, attachmentFound);
    }),
  );

  app.get(
    '/emojis/:file',
    serve('emoji', (req, q) => {
      const { id, ext } = splitExt((req.params as { file: string }).file);
      if (!isSnowflake(id)) throw notFound();
      return find(`emojis/${id}`, ext, q, emojiFound);
    }),
  );

  app.get(
    '/avatars/:userId/:file',
    serve('avatar', (req, q) => {
      const p = req.params as { userId: string; file: string };
      const { id: hash, ext } = splitExt(p.file);
      if (!isSnowflake(p.userId) || !AVATAR_HASH.test(hash)) throw notFound();
      return find(`avatars/${p.userId}/${hash}`, ext, q, avatarFound);
    }),
  );
}

function notFound(): MediaError {
  return new MediaError('not_found', 'no such asset');
}

function emojiFound(ref: OriginRef | undefined, ext: string): Located {
  if (!ref) throw notFound();
  return { ref, kind: 'emoji', ext };
}

function avatarFound(ref: OriginRef | undefined, ext: string): Located {
  if (!ref) throw notFound();
  return { ref, kind: 'avatar', ext };
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

function send(reply: FastifyReply, r: Answer, cache: Rendered['cache']): void {
  reply
    .header('content-type', r.meta.contentType)
    .header('content-length', String(r.data.length))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('x-resound-cache', cache)
    .header('x-resound-image', r.image)
    .send(r.data);
}
