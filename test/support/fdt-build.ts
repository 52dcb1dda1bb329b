// SPDX-License-Identifier: GPL-2.0-only
// A minimal flattened-device-tree writer for tests: the simple oracle the
// parser's property tests round-trip through. It lays a blob out as dtc
// does (v17 header, reservation map, structure block, strings block, each
// name stored once).

export interface TreeSpec {
  name: string;
  props: [string, Uint8Array][];
  children: TreeSpec[];
}

export function buildFdt(root: TreeSpec, memReserve: [bigint, bigint][] = []): Uint8Array {
  const strings: number[] = [];
  const strOff = new Map<string, number>();
  const struct: number[] = [];
  const u32 = (arr: number[], v: number) =>
    arr.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const pad = (arr: number[]) => {
    while (arr.length % 4) arr.push(0);
  };
  const bytes = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
  const walk = (n: TreeSpec) => {
    u32(struct, 1);
    struct.push(...bytes(n.name), 0);
    pad(struct);
    for (const [name, value] of n.props) {
      let off = strOff.get(name);
      if (off === undefined) {
        off = strings.length;
        strOff.set(name, off);
        strings.push(...bytes(name), 0);
      }
      u32(struct, 3);
      u32(struct, value.length);
      u32(struct, off);
      struct.push(...value);
      pad(struct);
    }
    n.children.forEach(walk);
    u32(struct, 2);
  };
  walk(root);
  u32(struct, 9);
  const rsv: number[] = [];
  for (const [a, s] of [...memReserve, [0n, 0n] as [bigint, bigint]]) {
    u32(rsv, Number(a >> 32n));
    u32(rsv, Number(a & 0xffffffffn));
    u32(rsv, Number(s >> 32n));
    u32(rsv, Number(s & 0xffffffffn));
  }
  const offRsv = 40;
  const offStruct = offRsv + rsv.length;
  const offStrings = offStruct + struct.length;
  const total = offStrings + strings.length;
  const h: number[] = [];
  for (const v of [
    0xd00dfeed,
    total,
    offStruct,
    offStrings,
    offRsv,
    17,
    16,
    0,
    strings.length,
    struct.length,
  ])
    u32(h, v);
  return Uint8Array.from([...h, ...rsv, ...struct, ...strings]);
}
