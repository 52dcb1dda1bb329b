// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel command line, as the IOMMU code reads it: early_param()s are
 * parsed before any initcall, each parameter's last occurrence wins, and
 * booleans follow kstrtobool() (lib/kstrtox.c).
 */

export interface Cmdline {
  readonly raw: string;
  /** Every `name=value` (or bare `name`, value ''), last one wins. */
  readonly params: ReadonlyMap<string, string>;
  /**
   * Every value of each parameter, in order: an early_param()'s handler runs
   * once per occurrence, so what one occurrence sets a later one may not undo.
   */
  readonly all: ReadonlyMap<string, readonly string[]>;
}

export function parseCmdline(raw: string): Cmdline {
  const params = new Map<string, string>();
  const all = new Map<string, string[]>();
  // Quoted values ("a b") are kept whole, as next_arg() does.
  const re = /([^\s=]+)(?:=("[^"]*"|\S*))?/g;
  for (const m of raw.matchAll(re)) {
    const value = m[2] === undefined ? '' : m[2].replace(/^"(.*)"$/, '$1');
    params.set(m[1], value);
    const seen = all.get(m[1]);
    if (seen) seen.push(value);
    else all.set(m[1], [value]);
  }
  return { raw, params, all };
}

/** kstrtobool(): 1/y/Y/t/T/on and 0/n/N/f/F/off; undefined (-EINVAL) otherwise. */
export function kstrtobool(s: string): boolean | undefined {
  if (!s) return undefined;
  const c = s[0];
  if ('1yYtT'.includes(c)) return true;
  if ('0nNfF'.includes(c)) return false;
  if (c === 'o' || c === 'O') {
    const d = s[1];
    if (d === 'n' || d === 'N') return true;
    if (d === 'f' || d === 'F') return false;
  }
  return undefined;
}
