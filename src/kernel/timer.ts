// SPDX-License-Identifier: GPL-2.0-only
/**
 * Time, as far as the model needs it: a virtual clock in milliseconds that
 * only moves when a scenario advances it, and one-shot timers
 * (timer_setup()/mod_timer()/del_timer_sync() in kernel/time/timer.c) that
 * run, in expiry order, as the clock passes them. Nothing depends on the host
 * clock, so every run is deterministic.
 */

export class TimerList {
  readonly function: () => void;
  /** Expiry in virtual ms, or null when not pending. */
  expires: number | null = null;

  constructor(fn: () => void) {
    this.function = fn;
  }
}

export class Clock {
  /** Virtual milliseconds since boot. */
  now = 0;
  private readonly pending = new Set<TimerList>();

  /** mod_timer(): (re)arm to fire at `expires`. */
  mod_timer(t: TimerList, expires: number): void {
    t.expires = expires;
    this.pending.add(t);
  }

  /** del_timer_sync() */
  del_timer(t: TimerList): void {
    t.expires = null;
    this.pending.delete(t);
  }

  timer_pending(t: TimerList): boolean {
    return this.pending.has(t);
  }

  /** Move the clock forward, running every timer that expires on the way, earliest first. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    const end = this.now + ms;
    for (;;) {
      let next: TimerList | null = null;
      for (const t of this.pending)
        if (t.expires! <= end && (next === null || t.expires! < next.expires!)) next = t;
      if (next === null) break;
      this.now = Math.max(this.now, next.expires!);
      this.pending.delete(next);
      next.expires = null;
      next.function();
    }
    this.now = end;
  }
}
