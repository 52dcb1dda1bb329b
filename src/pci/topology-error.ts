// SPDX-License-Identifier: GPL-2.0-only
/**
 * Errors in a PCI topology description: an InputError whose `where` is the
 * JSON path of the offending field ("functions[3].secondary") and whose
 * problem says what is wrong in terms of the PCI hierarchy. Every problem
 * found is listed in `issues`; the message names them all.
 */
import { InputError } from '../input/input-error.js';

export interface PciTopologyIssue {
  /** "functions[3].secondary", "root", "" for the whole document. */
  readonly path: string;
  readonly message: string;
}

export class PciTopologyError extends InputError {
  /** The first issue's path (the same as `where`). */
  readonly path: string;

  constructor(
    readonly issues: readonly PciTopologyIssue[],
    file = '<pci topology>',
  ) {
    const [first, ...rest] = issues;
    const more = rest.map((i) => `; ${i.path ? `${i.path}: ` : ''}${i.message}`).join('');
    super(file, first?.path ?? '', `${first?.message ?? 'invalid topology'}${more}`);
    this.name = 'PciTopologyError';
    this.path = first?.path ?? '';
  }
}

/** The same issues with a prefix on every path ("pci" + "functions[3]" -> "pci.functions[3]"). */
export function prefixIssues(issues: readonly PciTopologyIssue[], field: string): PciTopologyIssue[] {
  if (!field) return [...issues];
  return issues.map((i) => ({ path: i.path ? `${field}.${i.path}` : field, message: i.message }));
}
