/**
 * Discord voice IP discovery: a 74-byte datagram, type 1 request / type 2 response, length 70, SSRC, the
 * NUL-terminated address the server saw, and its port in the last two bytes.
 */
export const IP_DISCOVERY_LENGTH = 74;
export const IP_DISCOVERY_REQUEST = 1;
export const IP_DISCOVERY_RESPONSE = 2;
const BODY_LENGTH = 70;
const ADDRESS_OFFSET = 8;
const ADDRESS_BYTES = 64;

/** True for a well-formed request; anything else of this length is dropped by the classifier. */
export function isIpDiscoveryRequest(buf: Uint8Array, length: number): boolean {
  return (
    length === IP_DISCOVERY_LENGTH &&
    ((buf[0] << 8) | buf[1]) === IP_DISCOVERY_REQUEST &&
    ((buf[2] << 8) | buf[3]) === BODY_LENGTH
  );
}

export function ipDiscoverySsrc(buf: Uint8Array): number {
  return ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
}

/** Writes the response for `ssrc` into `out` (≥ 74 bytes). `address` must be an IPv4 literal (the client checks). */
export function writeIpDiscoveryResponse(out: Uint8Array, ssrc: number, address: string, port: number): number {
  writeDiscoveryHeader(out, IP_DISCOVERY_RESPONSE, ssrc);
  const n = Math.min(address.length, ADDRESS_BYTES - 1);
  for (let i = 0; i < n; i++) out[ADDRESS_OFFSET + i] = address.charCodeAt(i) & 0x7f;
  out[72] = (port >>> 8) & 0xff;
  out[73] = port & 0xff;
  return IP_DISCOVERY_LENGTH;
}

/** Builds a request (clients and tests). */
export function writeIpDiscoveryRequest(out: Uint8Array, ssrc: number): number {
  writeDiscoveryHeader(out, IP_DISCOVERY_REQUEST, ssrc);
  return IP_DISCOVERY_LENGTH;
}

/** Zeroes the 74 bytes and writes type, length 70 and the SSRC, the part requests and responses share. */
function writeDiscoveryHeader(out: Uint8Array, type: number, ssrc: number): void {
  out.fill(0, 0, IP_DISCOVERY_LENGTH);
  out[1] = type;
  out[3] = BODY_LENGTH;
  out[4] = ssrc >>> 24;
  out[5] = (ssrc >>> 16) & 0xff;
  out[6] = (ssrc >>> 8) & 0xff;
  out[7] = ssrc & 0xff;
}

/** Reads a response (clients and tests); null when it is not one. */
export function readIpDiscoveryResponse(buf: Uint8Array): { ssrc: number; address: string; port: number } | null {
  if (buf.length < IP_DISCOVERY_LENGTH || ((buf[0] << 8) | buf[1]) !== IP_DISCOVERY_RESPONSE) return null;
  let end = ADDRESS_OFFSET;
  while (end < ADDRESS_OFFSET + ADDRESS_BYTES && buf[end] !== 0) end++;
  const address = Buffer.from(buf.buffer, buf.byteOffset + ADDRESS_OFFSET, end - ADDRESS_OFFSET).toString('ascii');
  return { ssrc: ipDiscoverySsrc(buf), address, port: (buf[72] << 8) | buf[73] };
}

/** Client keepalives are 8 bytes (u32 LE counter + 4 zero bytes); told apart by length because the counter can look like RTP. */
export const KEEPALIVE_LENGTH = 8;
