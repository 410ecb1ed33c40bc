/** The gateway under test (filled in once the v10 gateway core is merged). */
import type { FanoutServer } from './_gateway-fanout.ts';

export const ZSTD_LEVEL = 6;

export async function gatewayServer(_compress: 'none' | 'zlib-stream'): Promise<FanoutServer> {
  throw new Error('the v10 gateway core is not merged yet');
}
