// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel log (printk/dev_printk) and WARN()s. A WARN is recorded with the
 * function that raised it and never throws: the kernel carries on after a
 * WARN, and so does the model.
 */

export type LogLevel = 'err' | 'warn' | 'info' | 'debug';

export interface LogLine {
  readonly level: LogLevel;
  /** Device name for dev_*() messages, or the pr_fmt prefix ("iommu"). */
  readonly source: string;
  readonly message: string;
}

export interface Warning {
  /** The kernel function the WARN sits in, e.g. '__iommu_group_free_device'. */
  readonly site: string;
  /** The condition or dev_WARN text. */
  readonly message: string;
  /** The device concerned, when there is one. */
  readonly device?: string;
}

export class Printk {
  readonly lines: LogLine[] = [];
  readonly warnings: Warning[] = [];
  private readonly onceSites = new Set<string>();

  log(level: LogLevel, source: string, message: string): void {
    this.lines.push({ level, source, message });
  }

  /** WARN_ON(cond) / WARN(cond, fmt): records and returns cond. */
  warn(cond: boolean, site: string, message: string, device?: string): boolean {
    if (!cond) return false;
    const w: Warning = device === undefined ? { site, message } : { site, message, device };
    this.warnings.push(w);
    this.lines.push({
      level: 'warn',
      source: device ?? 'kernel',
      message: `WARNING: at ${site}: ${message}`,
    });
    return true;
  }

  /** WARN_ON_ONCE(): only the first hit at a site is recorded. */
  warnOnce(cond: boolean, site: string, message: string, device?: string): boolean {
    if (!cond) return false;
    const key = `${site}\0${message}`;
    if (this.onceSites.has(key)) return true;
    this.onceSites.add(key);
    return this.warn(true, site, message, device);
  }
}
