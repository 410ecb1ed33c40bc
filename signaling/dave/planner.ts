import type { DaveClient } from './client.ts';
import { appendPayload, type ExternalSender } from './external-sender.ts';
import type { InFlight, ProposalLedger } from './ledger.ts';

export interface ProposalSend {
  to: string;
  payload: Buffer;
}

/**
 * Decides which signed proposals go to whom. The one rule behind both flows: a client gets at most one op 27
 * append batch per epoch while it still holds live proposals of that epoch (see ProposalLedger.holdsLive).
 */
export class ProposalPlanner {
  constructor(
    private readonly sender: ExternalSender,
    private readonly groupId: Buffer,
    private readonly ledger: ProposalLedger,
  ) {}

  /** Flows B and C: Removes for dead leaves and Adds for pending clients, one identical batch to every live member. */
  established(
    epoch: bigint,
    live: DaveClient[],
    dead: { leaf: number; userId: string }[],
    pending: DaveClient[],
  ): ProposalSend[] {
    if (live.some((m) => this.ledger.holdsLive(m.userId))) return [];
    const fresh: InFlight[] = [];
    for (const d of dead) {
      const p = this.sender.propose(this.groupId, epoch, { type: 'remove', leafIndex: d.leaf });
      fresh.push(this.ledger.add(p, 'remove', d.userId, d.leaf, null));
    }
    for (const c of pending) {
      const kp = c.keyPackage!.raw;
      fresh.push(
        this.ledger.add(
          this.sender.propose(this.groupId, epoch, { type: 'add', keyPackage: kp }),
          'add',
          c.userId,
          -1,
          kp,
        ),
      );
    }
    if (fresh.length === 0) return [];
    const payload = appendPayload(fresh.map((f) => f.message));
    return live.map((m) => {
      for (const f of fresh) f.recipients.add(m.userId);
      return { to: m.userId, payload };
    });
  }

  /** Flow A: each pending client gets epoch-0 Adds for all the others (so any of them may create the group). */
  initial(ready: DaveClient[]): ProposalSend[] {
    if (ready.length < 2) return [];
    const out: ProposalSend[] = [];
    for (const to of ready) {
      if (this.ledger.holdsLive(to.userId)) continue;
      const batch: InFlight[] = [];
      for (const o of ready) {
        if (o === to) continue;
        let e = this.ledger.addFor(o.userId);
        if (!e) {
          const kp = o.keyPackage!.raw;
          e = this.ledger.add(
            this.sender.propose(this.groupId, 0n, { type: 'add', keyPackage: kp }),
            'add',
            o.userId,
            -1,
            kp,
          );
        }
        batch.push(e);
      }
      for (const e of batch) e.recipients.add(to.userId);
      to.heldRound = true;
      out.push({ to: to.userId, payload: appendPayload(batch.map((e) => e.message)) });
    }
    return out;
  }
}
