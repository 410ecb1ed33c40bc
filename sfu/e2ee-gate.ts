import type { Participant } from './participant.ts';
import type { MediaGate } from './router.ts';

/**
 * Who may receive end-to-end encrypted frames: the channel's E2EE group as the media plane needs it. The DAVE group
 * is one (in the signaling process); a worker process holds a mirror of it kept current over IPC.
 */
export interface E2eeMembership {
  isMember(userId: string): boolean;
  /** A member's first E2EE frame reached the SFU (a metric); called at most once per sender run, not per receiver. */
  noteE2eeFrame(userId: string): void;
}

/**
 * The SFU's E2EE gate for one channel. The SFU holds no media keys; it tells a member's DAVE frames apart by their
 * trailing 0xFAFA marker: marker frames reach only group members (nobody else could decrypt them, and
 * @discordjs/voice would feed the ciphertext to its Opus decoder); plain non-silence frames never reach members,
 * whose decryptors would count them as failures and eventually reset the group. Opus silence is never encrypted and
 * always passes. One set of rules wherever the router runs.
 */
export class E2eeGate implements MediaGate {
  /** The router asks once per receiver for the same frame: note each sender's E2EE frames once, not per receiver. */
  private lastNoted: Participant | null = null;

  constructor(private readonly group: E2eeMembership) {}

  allow(sender: Participant, receiver: Participant, payload: Uint8Array, offset: number, length: number): boolean {
    if (length === 3 && payload[offset] === 0xf8 && payload[offset + 1] === 0xff && payload[offset + 2] === 0xfe)
      return true;
    const toMember = this.group.isMember(receiver.userId);
    // Only members encrypt, so a non-member's frame is plain Opus even when its last two bytes happen to be FA FA
    // (about one frame in 65,536): judge by the sender first, the marker second.
    if (!this.group.isMember(sender.userId)) return !toMember;
    if (length >= 2 && payload[offset + length - 1] === 0xfa && payload[offset + length - 2] === 0xfa) {
      if (sender !== this.lastNoted) {
        this.lastNoted = sender;
        this.group.noteE2eeFrame(sender.userId);
      }
      return toMember;
    }
    return !toMember;
  }
}

/**
 * The group's membership as a worker process holds it: a set the signaling process keeps current, and first-frame
 * notes sent back once per member (the group itself only wants the first).
 */
export class MirroredMembership implements E2eeMembership {
  private readonly members = new Set<string>();
  private readonly noted = new Set<string>();

  constructor(private readonly onFirstFrame: (userId: string) => void) {}

  set(userId: string, member: boolean): void {
    if (member) this.members.add(userId);
    else {
      this.members.delete(userId);
      this.noted.delete(userId);
    }
  }

  isMember(userId: string): boolean {
    return this.members.has(userId);
  }

  noteE2eeFrame(userId: string): void {
    if (this.noted.has(userId)) return;
    this.noted.add(userId);
    this.onFirstFrame(userId);
  }
}
