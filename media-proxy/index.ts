/**
 * The media proxy's public face. Other parts (the workers' pre-render queue) import only from here.
 */
export { detectImage } from './detect/index.ts';
export { transformImage } from './transform/pipeline.ts';
export { toneMapToSdr, pqEotf, pqInverseEotf, hlgInverseOetf, eetf } from './transform/tone-map.ts';
export { MediaError, isMediaError, MEDIA_ERRORS, type MediaErrorCode } from './errors.ts';
export { DEFAULT_LIMITS, CONTENT_TYPES } from './types.ts';
export type { DetectResult, HdrInfo, Cicp, InputFormat, OutputFormat, Fit, Limits, TransformRequest, TransformResult } from './types.ts';
