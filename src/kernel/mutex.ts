// SPDX-License-Identifier: GPL-2.0-only
/**
 * Mutexes as lockdep sees them. The model is single-threaded and
 * deterministic, so a mutex never blocks; what matters is who holds it. Taking
 * a held mutex again is the deadlock lockdep reports as recursive locking, and
 * lockdep_assert_held() on a free mutex is a WARN: both are recorded, so a core
 * change that gets locking wrong shows up in the WARN list.
 */
import type { Printk } from './printk.js';

export class Mutex {
  held = false;
  constructor(readonly name: string) {}
}

// Each report's text is made only when there is something to report: these
// run on every probe, attach and walk.

export function mutex_lock(printk: Printk, m: Mutex, site: string): void {
  if (m.held) printk.warn(true, site, `possible recursive locking detected: ${m.name}`);
  m.held = true;
}

export function mutex_unlock(printk: Printk, m: Mutex, site: string): void {
  if (!m.held) printk.warn(true, site, `unlock of unheld mutex ${m.name}`);
  m.held = false;
}

export function lockdep_assert_held(printk: Printk, m: Mutex, site: string): void {
  if (!m.held) printk.warn(true, site, `lockdep_assert_held(${m.name}) failed`);
}
