/**
 * Cross-node resume through the SessionStore contract: two nodes share one dispatch bus and one session store (the
 * in-process stand-ins for Redis). Node A drains (op 7); the client resumes on node B, which takes the record A kept
 * current while detached; every dispatch arrives exactly once and A lets the session go. Also when A's append of the
 * newest event is still in flight as B takes the record: B replays it from its ring of recent bus events.
 */
import { GatewayIntentBits as I } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDispatchBus, MemorySessionStore, messageDispatch, type ReplayEntry } from '../../gateway-lite/index.ts';
import type { TestNode } from './rest-helpers.ts';
import { RawClient, startGatewayTestNode, until, type Frame } from './gateway-helpers.ts';

/** Publishes MESSAGE_CREATEs by the guild owner in `node`'s #general, with ids counting up from `firstId`. */
function publisher(bus: LocalDispatchBus, node: TestNode, firstId: number): (content: string) => Promise<void> {
  let id = firstId;
  return (content) =>
    bus.publish(
      messageDispatch(
        'MESSAGE_CREATE',
        { id: String(id++), channel_id: node.seed.textChannelId, content, author: { id: node.seed.ownerId } },
        node.seed.guildId,
      ),
    );
}

const messages = (frames: Frame[]) =>
  frames.filter((f) => f.t === 'MESSAGE_CREATE').map((f) => (f.d as { content: string }).content);

describe('session takeover between nodes', () => {
  const bus = new LocalDispatchBus();
  const sessionStore = new MemorySessionStore();
  let a: TestNode;
  let b: TestNode;
  beforeAll(async () => {
    a = await startGatewayTestNode({ GATEWAY_LITE_HEARTBEAT_MS: '60000' }, { bus, sessionStore });
    b = await startGatewayTestNode({ GATEWAY_LITE_HEARTBEAT_MS: '60000' }, { bus, sessionStore });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('drain on A, resume on B: no dispatch lost or doubled, A forgets the session', async () => {
    const publish = publisher(bus, a, 5000);
    const c1 = new RawClient(a.node.gatewayUrl);
    const ready = await c1.identify(a.seed.token, { intents: I.Guilds | I.GuildMessages | I.MessageContent });
    const sessionId = (ready.d as { session_id: string }).session_id;
    await publish('on A');
    await c1.next((f) => f.t === 'MESSAGE_CREATE', 'on A');
    const drained = a.node.hub.drain(5000, 60_000);
    await c1.next((f) => f.op === 7, 'op 7');
    c1.close(4200);
    expect(await drained).toEqual({ moved: 1, attached: 0 });
    for (const i of [1, 2, 3]) await publish(`while moving ${i}`);
    const seq = Math.max(...c1.frames.filter((f) => f.op === 0).map((f) => f.s!));
    const c2 = new RawClient(b.node.gatewayUrl);
    await c2.next((f) => f.op === 10, 'hello');
    c2.send(6, { token: a.seed.token, session_id: sessionId, seq });
    await c2.next((f) => f.t === 'RESUMED', 'RESUMED on B');
    await publish('on B');
    await c2.next((f) => (f.d as { content?: string } | null)?.content === 'on B', 'on B');
    expect([...messages(c1.frames), ...messages(c2.frames)]).toEqual([
      'on A',
      'while moving 1',
      'while moving 2',
      'while moving 3',
      'on B',
    ]);
    const seqs = c2.frames.filter((f) => f.op === 0).map((f) => f.s!);
    expect(seqs).toEqual([...seqs.keys()].map((i) => seq + 1 + i));
    await until(() => a.node.hub.session(sessionId) === undefined, 'A let the session go');
    expect(b.node.hub.session(sessionId)?.state.kind).toBe('attached');
    c2.close();
  });

  it('an append still in flight at the take: B replays the missing event from its recent ring, once', async () => {
    const slow = new StalledAppends();
    const bus2 = new LocalDispatchBus();
    const a2 = await startGatewayTestNode({ GATEWAY_LITE_HEARTBEAT_MS: '60000' }, { bus: bus2, sessionStore: slow });
    const b2 = await startGatewayTestNode({ GATEWAY_LITE_HEARTBEAT_MS: '60000' }, { bus: bus2, sessionStore: slow });
    try {
      const publish = publisher(bus2, a2, 7000);
      const c1 = new RawClient(a2.node.gatewayUrl);
      const ready = await c1.identify(a2.seed.token, { intents: I.Guilds | I.GuildMessages | I.MessageContent });
      const sessionId = (ready.d as { session_id: string }).session_id;
      const drained = a2.node.hub.drain(5000, 60_000);
      await c1.next((f) => f.op === 7, 'op 7');
      c1.close(4200);
      await drained;
      await publish('stored');
      await until(() => slow.appended.includes('stored'), 'stored appended');
      slow.stall = true;
      await publish('in flight'); // A's append of this one is held until after B has taken the record
      const seq = Math.max(0, ...c1.frames.filter((f) => f.op === 0).map((f) => f.s!));
      const c2 = new RawClient(b2.node.gatewayUrl);
      await c2.next((f) => f.op === 10, 'hello');
      c2.send(6, { token: a2.seed.token, session_id: sessionId, seq });
      await c2.next((f) => f.t === 'RESUMED', 'RESUMED on B');
      slow.release();
      await publish('after');
      await c2.next((f) => (f.d as { content?: string } | null)?.content === 'after', 'after');
      expect(messages(c2.frames)).toEqual(['stored', 'in flight', 'after']);
      c2.close();
    } finally {
      await a2.close();
      await b2.close();
    }
  });
});

/** A session store whose appends can be held back, as a slow Redis round trip would. */
class StalledAppends extends MemorySessionStore {
  stall = false;
  readonly appended: string[] = [];
  private held: Array<() => void> = [];

  override async append(sessionId: string, entry: ReplayEntry, maxReplay: number): Promise<boolean> {
    if (this.stall) await new Promise<void>((resolve) => this.held.push(resolve));
    const ok = await super.append(sessionId, entry, maxReplay);
    if (ok) this.appended.push((JSON.parse(entry.d) as { content?: string }).content ?? entry.t);
    return ok;
  }

  release(): void {
    this.stall = false;
    for (const r of this.held.splice(0)) r();
  }
}
