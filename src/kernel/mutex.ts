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

export function mutex_lock(printk: Printk, m: Mutex, site: string): void {
  printk.warn(m.held, site, `possible recursive locking detected: ${m.name}`);
  m.held = true;
}

export function mutex_unlock(printk: Printk, m: Mutex, site: string): void {
  printk.warn(!m.held, site, `unlock of unheld mutex ${m.name}`);
  m.held = false;
}

export function lockdep_assert_held(printk: Printk, m: Mutex, site: string): void {
  printk.warn(!m.held, site, `lockdep_assert_held(${m.name}) failed`);
}
