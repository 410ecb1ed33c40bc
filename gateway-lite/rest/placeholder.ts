/**
 * Attachment placeholders: a ThumbHash (Discord's `placeholder`, `placeholder_version: 1`) from a thumbnail of at most
 * 100 px a side, decoded with sharp (first frame of animated images, EXIF orientation applied). Run by the
 * placeholder job after the message is stored (placeholder-job.ts).
 */
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

export const PLACEHOLDER_MAX_SIDE = 100;
export const PLACEHOLDER_VERSION = 1;
/** Bigger inputs are refused before decoding (the media proxy refuses them too); 40 MP covers any camera photo. */
const MAX_INPUT_PIXELS = 40_000_000;

/** Base64 ThumbHash of an image, or null when the bytes are not an image sharp can decode. */
export async function computePlaceholder(data: Buffer): Promise<string | null> {
  try {
    const { data: rgba, info } = await sharp(data, { pages: 1, limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize(PLACEHOLDER_MAX_SIDE, PLACEHOLDER_MAX_SIDE, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return Buffer.from(rgbaToThumbHash(info.width, info.height, rgba)).toString('base64');
  } catch {
    return null;
  }
}
