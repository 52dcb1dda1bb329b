// SPDX-License-Identifier: GPL-2.0-only
/**
 * What changes between two runs (two kernel profiles, two command lines, a
 * what-if): group membership, types, attached domains and DMA ownership
 * compared by members, not by group numbers
 * (which follow probe order), each device's IOMMU and probe path, step
 * results, WARNs and leaks.
 */
import type { Snapshot } from './snapshot.js';
import type { Leak } from '../checker/teardown.js';

export interface DiffInput extends Snapshot {
  readonly leaks: Leak[];
  readonly steps?: readonly { op: string; result: string; target: string }[];
}

export interface DiffEntry {
  /** What differs: "group", "device", "step", "warning", "leak", "iommu". */
  readonly kind: string;
  readonly subject: string;
  readonly a: string;
  readonly b: string;
}

/** Each group by its members: its type, the domain attached when not the default one, and its DMA owner. */
function groupKey(s: Snapshot): Map<string, string> {
  const m = new Map<string, string>();
  for (const g of s.groups) {
    const parts = [g.type];
    if (g.domain) parts.push(`domain ${g.domain}`);
    // group->owner_cnt: kernel drivers using the default domain, or the user-space owner's claims.
    if (g.owner.count)
      parts.push(
        g.owner.claimed
          ? `claimed for user space (owner count ${g.owner.count})`
          : `in use by ${g.owner.count} kernel driver${g.owner.count > 1 ? 's' : ''}`,
      );
    m.set([...g.devices].sort().join(' '), parts.join(', '));
  }
  return m;
}

function multiset(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

function diffMultisets(kind: string, a: string[], b: string[], out: DiffEntry[]): void {
  const ma = multiset(a);
  const mb = multiset(b);
  for (const key of new Set([...ma.keys(), ...mb.keys()])) {
    const na = ma.get(key) ?? 0;
    const nb = mb.get(key) ?? 0;
    if (na !== nb) out.push({ kind, subject: key, a: na ? `${na}×` : '-', b: nb ? `${nb}×` : '-' });
  }
}

export function diffRuns(a: DiffInput, b: DiffInput): DiffEntry[] {
  const out: DiffEntry[] = [];
  diffMultisets(
    'iommu',
    a.iommus.map((i) => `${i.name} (${i.driver})`),
    b.iommus.map((i) => `${i.name} (${i.driver})`),
    out,
  );
  const ga = groupKey(a);
  const gb = groupKey(b);
  for (const members of new Set([...ga.keys(), ...gb.keys()])) {
    const ta = ga.get(members);
    const tb = gb.get(members);
    if (ta !== tb) out.push({ kind: 'group', subject: `{${members}}`, a: ta ?? '-', b: tb ?? '-' });
  }
  const da = new Map(a.devices.map((d) => [d.name, d]));
  const db = new Map(b.devices.map((d) => [d.name, d]));
  for (const name of new Set([...da.keys(), ...db.keys()])) {
    const x = da.get(name);
    const y = db.get(name);
    const show = (d: typeof x) =>
      d
        ? `iommu ${d.iommu ?? '-'}, ${d.group === null ? 'no group' : 'grouped'}, driver ${d.driver ?? '-'}, probed at ${d.probedAt ?? '-'}`
        : 'absent';
    if (show(x) !== show(y)) out.push({ kind: 'device', subject: name, a: show(x), b: show(y) });
  }
  const sa = a.steps ?? [];
  const sb = b.steps ?? [];
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    if (sa[i]?.result !== sb[i]?.result) {
      out.push({
        kind: 'step',
        subject: `${i} ${sa[i]?.op ?? sb[i]?.op} ${sa[i]?.target ?? sb[i]?.target ?? ''}`.trim(),
        a: sa[i]?.result ?? '-',
        b: sb[i]?.result ?? '-',
      });
    }
  }
  diffMultisets(
    'warning',
    a.warnings.map((w) => `${w.site}: ${w.message}`),
    b.warnings.map((w) => `${w.site}: ${w.message}`),
    out,
  );
  diffMultisets(
    'leak',
    a.leaks.map((l) => `${l.type} from ${l.origin}`),
    b.leaks.map((l) => `${l.type} from ${l.origin}`),
    out,
  );
  return out;
}
