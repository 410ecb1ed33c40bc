import type { UploadEvent } from '../media-proxy/index.ts';
import type { Producers } from './producer.ts';
import type { PrerenderVariant } from './queues.ts';

/**
 * The common sizes a client asks for first, per kind of upload: chat previews for attachments, the 48/96 px emoji
 * renditions, and the avatar sizes of member lists and profiles. WebP because every current client takes it.
 */
export function defaultVariants(
  e: Pick<UploadEvent, 'kind' | 'detect'>,
  attachmentWidths: number[],
): PrerenderVariant[] {
  const animated = e.detect.isAnimated;
  const sizes = e.kind === 'attachment' ? attachmentWidths : e.kind === 'emoji' ? [48, 96] : [80, 128];
  const box = e.kind !== 'attachment';
  // Must match what the proxy's routes ask for, or the warmed keys are never hit: avatars are served with `cover`.
  const fit = e.kind === 'avatar' ? { fit: 'cover' as const } : {};
  const variants: PrerenderVariant[] = sizes
    .filter((s) => s < Math.max(e.detect.width, e.detect.height))
    .map((s) => ({ format: 'webp', width: s, ...(box ? { height: s } : {}), ...fit, animated }));
  variants.push({ format: 'webp', ...fit, animated });
  return variants;
}

/**
 * A listener for the media service's `upload` event (`bin/` wires it: `service.on('upload', prerenderOnUpload(…))`):
 * enqueue a pre-render job. The job id follows the original's hash and variants, so the same bytes uploaded twice are warmed once.
 */
export function prerenderOnUpload(producers: Producers, attachmentWidths: number[]): (e: UploadEvent) => Promise<void> {
  return async (e) => {
    await producers.addPrerender({ hash: e.hash, ref: e.ref, variants: defaultVariants(e, attachmentWidths) });
  };
}
