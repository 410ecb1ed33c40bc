import type { DispatchName, GatewayDispatch } from '../events.ts';

/**
 * The bus's wire form: `<header JSON>\n<d JSON>`. The header is a few short fields; `d` is stringified exactly once,
 * on the publishing node, and its text travels as is, so a receiving node can splice it into every session's frame
 * (`{"op":0,"s":N,"t":…,"d":<this text>}`) without stringifying the payload again.
 */
export interface WireHeader {
  /** The event's unique id (`GatewayDispatch.id`: the producer's, or stamped by the bus). */
  id: string;
  /** `<origin>:<counter>`: origin = node id + boot nonce, counter +1 per publish on that origin (dedupe, gaps). */
  q: string;
  t: DispatchName;
  g: string | null;
  i: number;
  u?: string[];
  x?: 1;
}

const dataText = new WeakMap<GatewayDispatch, string>();
const origins = new WeakMap<GatewayDispatch, string>();

/** The JSON text of `event.d`, computed once per event object (the bus fills it in from the wire for free). */
export function dispatchDataJson(event: GatewayDispatch): string {
  let text = dataText.get(event);
  if (text === undefined) {
    text = JSON.stringify(event.d ?? null);
    dataText.set(event, text);
  }
  return text;
}

/** The bus origin (publishing node + boot) of an event delivered by a `RedisDispatchBus`; undefined otherwise. */
export function originOf(event: GatewayDispatch): string | undefined {
  return origins.get(event);
}

/** `q` = `<origin>:<counter>`; the event must carry its id already. */
export function encodeWire(q: string, event: GatewayDispatch & { id: string }): string {
  const h: WireHeader = { id: event.id, q, t: event.t, g: event.guildId, i: event.intent };
  if (event.userIds) h.u = event.userIds;
  if (event.sheddable) h.x = 1;
  return `${JSON.stringify(h)}\n${dispatchDataJson(event)}`;
}

export type Decoded =
  { ok: true; event: GatewayDispatch; origin: string; counter: number } | { ok: false; reason: string };

/** Total parser: a malformed message (another writer on our channel, a truncated publish) is a typed error. */
export function decodeWire(message: string): Decoded {
  const nl = message.indexOf('\n');
  if (nl < 0) return { ok: false, reason: 'no header separator' };
  let h: unknown;
  let d: unknown;
  try {
    h = JSON.parse(message.slice(0, nl));
    d = JSON.parse(message.slice(nl + 1));
  } catch {
    return { ok: false, reason: 'bad JSON' };
  }
  if (!isHeader(h)) return { ok: false, reason: 'bad header' };
  const colon = h.q.lastIndexOf(':');
  const counter = Number(h.q.slice(colon + 1));
  if (colon <= 0 || !Number.isSafeInteger(counter)) return { ok: false, reason: 'bad sequence' };
  const origin = h.q.slice(0, colon);
  const event: GatewayDispatch = { id: h.id, t: h.t, d, guildId: h.g, intent: h.i };
  if (h.u) event.userIds = h.u;
  if (h.x) event.sheddable = true;
  dataText.set(event, message.slice(nl + 1));
  origins.set(event, origin);
  return { ok: true, event, origin, counter };
}

function isHeader(v: unknown): v is WireHeader {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  return (
    typeof h.id === 'string' &&
    typeof h.q === 'string' &&
    typeof h.t === 'string' &&
    (h.g === null || typeof h.g === 'string') &&
    typeof h.i === 'number' &&
    (h.u === undefined || (Array.isArray(h.u) && h.u.every((x) => typeof x === 'string'))) &&
    (h.x === undefined || h.x === 1)
  );
}
