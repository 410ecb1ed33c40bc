/**
 * APNG frame compositing (dispose/blend rules) on raw RGBA: pure per-pixel work, run in a pixel worker thread.
 */

export interface FramePixels {
  /** The frame's own RGBA, `width × height × 4` bytes. */
  pixels: Uint8Array;
  width: number;
  height: number;
  x: number;
  y: number;
  /** 0 none, 1 background (clear), 2 previous (restore). */
  dispose: number;
  /** 0 source (replace), 1 over. */
  blend: number;
}

/** Composites frames onto a canvas and returns every displayed canvas, stacked top to bottom. */
export function compositeFrames(canvasW: number, canvasH: number, frames: FramePixels[]): Uint8Array {
  const size = canvasW * canvasH * 4;
  const canvas = new Uint8Array(size);
  const out = new Uint8Array(size * frames.length);
  for (let f = 0; f < frames.length; f++) {
    const fc = frames[f];
    const saved = fc.dispose === 2 ? canvas.slice() : undefined;
    blit(canvas, canvasW, fc, f === 0 ? 0 : fc.blend);
    out.set(canvas, f * size);
    if (fc.dispose === 1) clearRect(canvas, canvasW, fc);
    else if (saved) canvas.set(saved);
  }
  return out;
}

function blit(canvas: Uint8Array, cw: number, fc: FramePixels, blend: number): void {
  const src = fc.pixels;
  for (let y = 0; y < fc.height; y++) {
    for (let x = 0; x < fc.width; x++) {
      const s = (y * fc.width + x) * 4;
      const d = ((fc.y + y) * cw + fc.x + x) * 4;
      const a = src[s + 3];
      if (blend === 0 || a === 255) {
        canvas[d] = src[s];
        canvas[d + 1] = src[s + 1];
        canvas[d + 2] = src[s + 2];
        canvas[d + 3] = a;
      } else if (a !== 0) {
        // Porter-Duff "over" on straight alpha.
        const da = canvas[d + 3];
        const outA = a + (da * (255 - a)) / 255;
        for (let c = 0; c < 3; c++)
          canvas[d + c] = Math.round((src[s + c] * a + (canvas[d + c] * da * (255 - a)) / 255) / outA);
        canvas[d + 3] = Math.round(outA);
      }
    }
  }
}

function clearRect(canvas: Uint8Array, cw: number, fc: FramePixels): void {
  for (let y = 0; y < fc.height; y++)
    canvas.fill(0, ((fc.y + y) * cw + fc.x) * 4, ((fc.y + y) * cw + fc.x + fc.width) * 4);
}
