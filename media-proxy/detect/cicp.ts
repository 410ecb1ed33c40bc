import type { Cicp, HdrInfo, Primaries, Transfer } from '../types.ts';

/** ITU-T H.273 code points to names; anything unlisted is `other` so callers never guess. */
export function transferName(tc: number): Transfer {
  switch (tc) {
    case 1:
    case 6:
    case 14:
    case 15:
      return 'bt709';
    case 13:
      return 'srgb';
    case 8:
      return 'linear';
    case 16:
      return 'pq';
    case 18:
      return 'hlg';
    case 4:
      return 'gamma22';
    case 5:
      return 'gamma28';
    case 2:
      return 'unspecified';
    default:
      return 'other';
  }
}

export function primariesName(cp: number): Primaries {
  switch (cp) {
    case 1:
      return 'bt709';
    case 9:
      return 'bt2020';
    case 12:
      return 'p3';
    case 11:
      return 'dci-p3';
    case 5:
    case 6:
      return 'bt601';
    case 2:
      return 'unspecified';
    default:
      return 'other';
  }
}

export const NO_HDR: HdrInfo = { isHdr: false, transfer: 'unspecified', primaries: 'unspecified', source: 'none' };

export function hdrFromCicp(cicp: Cicp, source: HdrInfo['source']): HdrInfo {
  const transfer = transferName(cicp.transfer);
  return {
    isHdr: transfer === 'pq' || transfer === 'hlg',
    transfer,
    primaries: primariesName(cicp.primaries),
    source,
    cicp,
  };
}

/** Light-level facts are optional extras on top of whichever colour signalling was found. */
export function withLightLevels(
  hdr: HdrInfo,
  clli?: { maxCll: number; maxFall: number },
  mdcv?: { max: number; min: number },
): HdrInfo {
  const out: HdrInfo = { ...hdr };
  if (clli && clli.maxCll > 0) {
    out.maxCll = clli.maxCll;
    out.maxFall = clli.maxFall;
  }
  if (mdcv && mdcv.max > 0) {
    out.masteringMaxLuminance = mdcv.max;
    out.masteringMinLuminance = mdcv.min;
  }
  return out;
}
