/** One push notification: a user was mentioned while no gateway session of theirs was live. */
export interface PushNotification {
  user_id: string;
  guild_id: string | null;
  channel_id: string;
  message_id: string;
  author_id: string;
  /** The first characters of the message (a lock-screen preview). */
  preview: string;
  /** ms since epoch when the collector took it. */
  at: number;
}

/** Where pushers hand batches (FCM/APNs in production; a signed webhook by default). Rejecting = batch failed. */
export interface PushSink {
  deliver(batch: PushNotification[]): Promise<void>;
  close?(): Promise<void>;
}

/** Who has a live gateway session right now; the collector only buffers for users who do not. */
export interface PresenceLookup {
  /** The subset of `userIds` with no live session anywhere. */
  offline(userIds: string[]): Promise<string[]>;
}
