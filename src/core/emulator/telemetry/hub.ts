import type { TelemetryEnvelope } from './subscription-request.js';
import type { Queued, TelemetrySubscriber } from './subscriber.js';

/**
 * Fans records out to subscribers. Lambda delivers the Init phase's events
 * to extensions that subscribe during that phase (they subscribe after
 * platform.initStart has happened), so the hub keeps the environment's
 * history and replays it to each new subscriber. Subscriptions close with
 * Init, and so does the history (`endHistory`). Until then it holds at
 * most `historyLimitBytes`, the size of one subscriber's buffer: a replay
 * beyond that would be dropped by the subscriber anyway, and an extension
 * printing during Init would otherwise hold ext dev's memory.
 */
export class TelemetryHub {
  readonly subscribers: TelemetrySubscriber[] = [];
  private history: Queued[] | undefined = [];
  private historyBytes = 0;
  private historyFull = false;

  constructor(private readonly historyLimitBytes: number) {}

  publish(type: string, record: unknown, time = new Date()): void {
    const envelope: TelemetryEnvelope = { time: time.toISOString(), type, record };
    const keep = this.history !== undefined && !this.historyFull;
    const subscribers = this.subscribers.filter((subscriber) => subscriber.accepts(type));
    // Sized only when someone keeps it: a line nobody keeps costs no serialisation.
    if (!keep && subscribers.length === 0) return;
    const bytes = Buffer.byteLength(JSON.stringify(envelope)) + 1;
    if (keep) {
      if (this.historyBytes + bytes <= this.historyLimitBytes) {
        this.history!.push({ envelope, bytes });
        this.historyBytes += bytes;
      } else {
        // Full: the replay is the first records of the environment, as far as they fit.
        this.historyFull = true;
      }
    }
    for (const subscriber of subscribers) subscriber.push(envelope, bytes);
  }

  /** The environment is frozen: deliveries wait until `resume`. */
  pause(): void {
    for (const subscriber of this.subscribers) subscriber.pause();
  }

  resume(): void {
    for (const subscriber of this.subscribers) subscriber.resume();
  }

  /** No subscriber can come any more (Init has ended): the history is of no use. */
  endHistory(): void {
    this.history = undefined;
    this.historyBytes = 0;
  }

  /** A new subscriber replaces an earlier one of the same extension. */
  subscribe(subscriber: TelemetrySubscriber): void {
    const earlier = this.subscribers.findIndex((existing) => existing.extension === subscriber.extension);
    if (earlier >= 0) {
      this.subscribers[earlier]!.close();
      this.subscribers.splice(earlier, 1);
    }
    for (const { envelope, bytes } of this.history ?? []) {
      if (subscriber.accepts(envelope.type)) subscriber.push(envelope, bytes);
    }
    this.subscribers.push(subscriber);
  }

  /** A new execution environment (after a reset) starts with a clean history. */
  resetHistory(): void {
    this.history = [];
    this.historyBytes = 0;
    this.historyFull = false;
  }

  /** Resolves true when every subscriber has delivered everything, false at the deadline. */
  async flush(deadline: number): Promise<boolean> {
    const results = await Promise.all(this.subscribers.map((subscriber) => subscriber.flush(deadline)));
    return results.every(Boolean);
  }

  close(): void {
    for (const subscriber of this.subscribers) subscriber.close();
  }
}
