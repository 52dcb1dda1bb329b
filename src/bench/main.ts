// SPDX-License-Identifier: GPL-2.0-only
/**
 * `npm run bench`: page-table operation costs per format (every registered
 * one: ARM LPAE and v7s, Intel VT-d, AMD v1/v2, the iommufd mock), and how they scale
 * with the number of live mappings, next to a plain JS Map doing the same
 * inserts and deletes, so that ratios compare within one run on one machine.
 * Not a test: it prints numbers, and checks only that each operation did
 * what it should. The kernel's own figures for comparison: ~55 ns per 4K map
 * and ~70 ns per unmap. For arm-64-lpae-s1-4k each figure also has a native
 * one, from the C program of bench/native (native.ts), and the JS/native ratio.
 * Then the IOVA allocator (iova.ts), iommufd (iommufd.ts), and boots of
 * generated platforms of ~8k, ~100k and ~1M PCI functions (scale.ts).
 */
import { parseArgs } from 'node:util';
import type { PageTable, PgtableFormatName } from '../pgtable/index.js';
import {
  IOMMU_READ,
  IOMMU_WRITE,
  TableMemory,
  createPageTable,
  pgtableFormatNames,
} from '../pgtable/index.js';
import { allocPerCall, allocPerCallAlone, allocText, paFor, probeOffset } from './alloc.js';
import { runIommufdBench } from './iommufd.js';
import { runIovaBench } from './iova.js';
import { randomIndices } from './random.js';
import { SCALE_ROUNDS, runScaleBench } from './scale.js';
import type { NativeResult } from './native.js';
import { NATIVE_FORMAT, runNativeBaseline, vsNative } from './native.js';

const RW = IOMMU_READ | IOMMU_WRITE;
/** A physical address above 2^32, as real ones often are. */
const PA = 0x80_0000_0000;
const SCALES = [1_000, 10_000, 100_000, 1_000_000];
const ROUNDS = 7;
const ROUND_NS = 10e6;
const WARMUP_NS = 100e6;

/**
 * Every table the bench makes comes from one pool, as the modelled kernel's
 * domains all come from its one pool (mm/table-memory.ts): each format then
 * has one WebAssembly instance, as in a program that uses iommu-lab.
 */
const memory = new TableMemory();
const newTable = (name: PgtableFormatName, fastPath?: boolean | 'js' | 'wasm') =>
  createPageTable(name, { memory, fastPath });

const now = () => Number(process.hrtime.bigint());

/**
 * Times the phases of body (each phase a function doing `ops` operations,
 * the phases together leaving the state as they found it): warms up, then
 * runs rounds of at least ROUND_NS and returns each phase's median ns/op.
 */
function time(ops: number, ...phases: (() => void)[]): number[] {
  const runAll = () => phases.forEach((p) => p());
  for (let t0 = now(), i = 0; i < 3 || now() - t0 < WARMUP_NS; i++) runAll();
  const t0 = now();
  runAll();
  const reps = Math.max(1, Math.ceil(ROUND_NS / Math.max(1, now() - t0)));
  const samples: number[][] = phases.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    const spent = phases.map(() => 0);
    for (let k = 0; k < reps; k++)
      phases.forEach((p, i) => {
        const s = now();
        p();
        spent[i] += now() - s;
      });
    spent.forEach((ns, i) => samples[i].push(ns / (reps * ops)));
  }
  return samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]);
}

function fail(what: string): never {
  throw new Error(`bench: ${what} did not do what it should`);
}

const sizeName = (b: number) =>
  b >= 2 ** 30 ? `${b / 2 ** 30}G` : b >= 2 ** 20 ? `${b / 2 ** 20}M` : `${b / 1024}K`;
const countName = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
const row = (label: string, ns: number, note = '', native?: number) =>
  console.log(`  ${label.padEnd(34)}${ns.toFixed(1).padStart(8)} ns${note}${vsNative(ns, native)}`);

/** The smallest size above the granule that is a whole level's (a block, section or superpage), if any. */
const blockSize = (t: PageTable) =>
  t.layout.pgsizes.find((s) => s > t.cfg.granule && t.layout.levels.some((l) => 2 ** l.shift === s));

/**
 * The three fast-path operations of NATIVE_FORMAT on each path a table can
 * take (the engine alone, the generated JavaScript, the generated
 * WebAssembly), with their ratios to native C: what each layer costs.
 */
function fastPathOps(native?: NativeResult['ops']): void {
  const n = 100_000;
  const r = randomIndices(n, n);
  for (const [label, fastPath] of [
    ['engine only', false],
    ['generated JavaScript', 'js'],
    ['generated WebAssembly (default)', 'wasm'],
  ] as const) {
    const t = newTable(NATIVE_FORMAT, fastPath);
    const out = { mapped: 0 };
    const [mapNs, unmapNs] = time(
      n,
      () => {
        for (let i = 0; i < n; i++)
          if (t.mapPagesTo(out, i * 4096, PA + i * 4096, 4096, 1, RW) !== 0) fail('map');
      },
      () => {
        for (let i = 0; i < n; i++) if (t.unmapPages(i * 4096, 4096, 1) !== 4096) fail('unmap');
      },
    );
    for (let i = 0; i < n; i++)
      if (t.mapPagesTo(out, i * 4096, PA + i * 4096, 4096, 1, RW) !== 0) fail('map');
    const [walkNs] = time(n, () => {
      for (let i = 0; i < n; i++)
        if (t.iovaToPhys(r[i] * 4096 + 8) !== PA + r[i] * 4096 + 8) fail('iova_to_phys');
    });
    t.free();
    console.log(`  ${label}`);
    row('  map 4K', mapNs, '/op', native?.map);
    row('  unmap 4K', unmapNs, '/op', native?.unmap);
    row('  iova_to_phys (random 4K page)', walkNs, '/op', native?.iova_to_phys);
  }
}

/** native: the C baseline's figures for this format, if any. */
function formatOps(t: PageTable, native?: NativeResult['ops']): void {
  const g = t.cfg.granule;
  const n = 100_000;
  const PA = paFor(t);
  const out = { mapped: 0 };
  const map = () => {
    for (let i = 0; i < n; i++) if (t.mapPagesTo(out, i * g, PA + i * g, g, 1, RW) !== 0) fail('map');
  };
  const unmap = () => {
    for (let i = 0; i < n; i++) if (t.unmapPages(i * g, g, 1) !== g) fail('unmap');
  };
  const [mapNs, unmapNs] = time(n, map, unmap);
  row(`map ${sizeName(g)}`, mapNs, '/op', native?.map);
  row(`unmap ${sizeName(g)}`, unmapNs, '/op', native?.unmap);

  const [objNs] = time(
    n,
    () => {
      for (let i = 0; i < n; i++) if (t.mapPages(i * g, PA + i * g, g, 1, RW).errno !== 0) fail('mapPages');
    },
    unmap,
  );
  row(`map ${sizeName(g)}, mapPages() object`, objNs, '/op', native?.map);

  const batches = 400;
  // A family that maps one page per call whatever the count (the SoC drivers' own tables) is
  // called again for the rest, as __iommu_map() and __iommu_unmap() do.
  const [bMap, bUnmap] = time(
    batches * 256,
    () => {
      for (let b = 0; b < batches; b++)
        for (let done = 0; done < 256;) {
          const before = out.mapped;
          if (t.mapPagesTo(out, (b * 256 + done) * g, PA, g, 256 - done, RW) !== 0) fail('batch map');
          done += (out.mapped - before) / g;
        }
    },
    () => {
      for (let b = 0; b < batches; b++)
        for (let done = 0; done < 256;) {
          const n = t.unmapPages((b * 256 + done) * g, g, 256 - done);
          if (n === 0) fail('batch unmap');
          done += n / g;
        }
    },
  );
  const perCall = (ns: number) => `/page (${(ns * 256).toFixed(0)} ns/call)`;
  row(`map ${sizeName(g)} ×256 per call`, bMap, perCall(bMap), native?.batch_map);
  row(`unmap ${sizeName(g)} ×256 per call`, bUnmap, perCall(bUnmap), native?.batch_unmap);

  const blk = blockSize(t);
  // As many as the IOVA space holds (a 32-bit Rockchip table has 1024 of its 4M).
  const nb = blk === undefined ? 0 : Math.min(2_000, Math.floor(2 ** t.cfg.ias / blk));
  if (blk !== undefined) {
    const [blkMap, blkUnmap] = time(
      nb,
      () => {
        for (let i = 0; i < nb; i++)
          if (t.mapPagesTo(out, i * blk, i * blk, blk, 1, RW) !== 0) fail('block map');
      },
      () => {
        for (let i = 0; i < nb; i++) if (t.unmapPages(i * blk, blk, 1) !== blk) fail('block unmap');
      },
    );
    row(`map ${sizeName(blk)} block`, blkMap, '/op', native?.block_map);
    row(`unmap ${sizeName(blk)} block`, blkUnmap, '/op', native?.block_unmap);
  }

  map();
  const r = randomIndices(n, n);
  const o = probeOffset(t);
  const [walk] = time(n, () => {
    for (let i = 0; i < n; i++) if (t.iovaToPhys(r[i] * g + o) !== PA + r[i] * g + o) fail('iova_to_phys');
  });
  row(`iova_to_phys (random ${sizeName(g)} page)`, walk, '/op', native?.iova_to_phys);
  unmap();
}

/**
 * With `live` pages mapped (every other page of a range), the ns/op of:
 * map+unmap of a hole and iova_to_phys of a live page, at random positions
 * and at consecutive ones (wrapping around the live range).
 */
function scaling(name: PgtableFormatName, live: number): number[] {
  const t = newTable(name);
  const g = t.cfg.granule;
  const PA = paFor(t);
  // ARM v7s's 32-bit IOVAs hold 512k pages every other one: no 1M row.
  if (2 * live * g > 2 ** t.cfg.ias) {
    t.free();
    return [NaN, NaN, NaN, NaN];
  }
  const out = { mapped: 0 };
  for (let i = 0; i < live; i++) if (t.mapPagesTo(out, 2 * i * g, PA, g, 1, RW) !== 0) fail('populate');
  const ops = 100_000;
  const r = randomIndices(live, ops);
  const seq = new Float64Array(ops).map((_, i) => ((live >> 1) + i) % live);
  const res = [r, seq].flatMap((idx) =>
    time(
      ops,
      () => {
        for (let i = 0; i < ops; i++) {
          const iova = (2 * idx[i] + 1) * g;
          if (t.mapPagesTo(out, iova, PA, g, 1, RW) !== 0 || t.unmapPages(iova, g, 1) !== g)
            fail('map+unmap');
        }
      },
      () => {
        for (let i = 0; i < ops; i++) if (t.iovaToPhys(2 * idx[i] * g) !== PA) fail('iova_to_phys');
      },
    ),
  );
  t.free();
  return res;
}

/** The same on a Map<number, number>: set+delete of an absent key, get of a present one. */
function mapScaling(live: number): number[] {
  const m = new Map<number, number>();
  for (let i = 0; i < live; i++) m.set(2 * i * 4096, PA);
  const ops = 100_000;
  const r = randomIndices(live, ops);
  const seq = new Float64Array(ops).map((_, i) => ((live >> 1) + i) % live);
  return [r, seq].flatMap((idx) =>
    time(
      ops,
      () => {
        for (let i = 0; i < ops; i++) {
          const k = (2 * idx[i] + 1) * 4096;
          m.set(k, PA);
          if (!m.delete(k)) fail('Map delete');
        }
      },
      () => {
        for (let i = 0; i < ops; i++) if (m.get(2 * idx[i] * 4096) !== PA) fail('Map get');
      },
    ),
  );
}

const SCALING_NAMES = [
  'map+unmap, random',
  'iova_to_phys, random',
  'map+unmap, consecutive',
  'iova_to_phys, consecutive',
];

function printScaling(label: string, results: readonly (readonly number[])[]): void {
  SCALING_NAMES.forEach((what, k) => {
    const base = results[0][k];
    const cells = results.map((r, i) =>
      Number.isNaN(r[k])
        ? `${countName(SCALES[i])} n/a`
        : `${countName(SCALES[i])} ${r[k].toFixed(1)} ×${(r[k] / base).toFixed(2)}`,
    );
    console.log(`  ${`${label}: ${what}`.padEnd(48)}${cells.map((c) => c.padEnd(18)).join('')}`);
  });
}

/** The JS/native ratio of each scaling figure. */
function printNativeRatios(label: string, js: number[][], native: NativeResult['scaling']): void {
  SCALING_NAMES.forEach((what, k) => {
    const cells = js.map((r, i) => `${countName(SCALES[i])} ×${(r[k] / native[i][k]).toFixed(2)}`);
    console.log(`  ${`${label}: ${what}`.padEnd(48)}${cells.map((c) => c.padEnd(18)).join('')}`);
  });
}

const SECTIONS = ['pgtable', 'iova', 'iommufd', 'scale'] as const;

const USAGE = `usage: npm run bench [-- [--only SECTION]... [--format NAME]...]
  --only SECTION   run only these sections: ${SECTIONS.join(', ')} (default: all)
  --format NAME    page-table formats to measure (default: every registered one)
  --rounds N       for the scale section: boot each size N times and take the medians (default: ${SCALE_ROUNDS})`;

/** The command line: sections and formats to run; exits with the usage on anything else. */
function options(): { sections: Set<string>; formats: PgtableFormatName[]; rounds: number } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        only: { type: 'string', multiple: true },
        format: { type: 'string', multiple: true },
        rounds: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = values.only ?? [...SECTIONS];
  const formats = values.format ?? [...pgtableFormatNames];
  const bad = [
    ...only.filter((o) => !(SECTIONS as readonly string[]).includes(o)).map((o) => `section '${o}'`),
    ...formats
      .filter((f) => !(pgtableFormatNames as readonly string[]).includes(f))
      .map((f) => `format '${f}'`),
  ];
  if (bad.length > 0) {
    console.error(`unknown ${bad.join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  const rounds = values.rounds === undefined ? SCALE_ROUNDS : Number(values.rounds);
  if (values.rounds !== undefined && !/^[1-9]\d*$/.test(values.rounds)) {
    console.error(`--rounds wants a whole number from 1, not '${values.rounds}'\n${USAGE}`);
    process.exit(2);
  }
  return { sections: new Set(only), formats: formats as PgtableFormatName[], rounds };
}

async function main(): Promise<void> {
  const { sections, formats, rounds } = options();
  if (sections.has('pgtable')) await pgtableSections(formats);
  if (sections.has('iova')) {
    console.log('');
    runIovaBench((line) => console.log(line));
  }
  if (sections.has('iommufd')) {
    console.log('');
    runIommufdBench((line) => console.log(line));
  }
  if (sections.has('scale')) {
    console.log('');
    runScaleBench((line) => console.log(line), rounds);
  }
}

async function pgtableSections(formats: readonly PgtableFormatName[]): Promise<void> {
  console.log(
    `iommu-lab page-table benchmarks (node ${process.version}; median of ${ROUNDS} rounds; PA ${'0x' + PA.toString(16)})`,
  );
  console.log('kernel reference: ~55 ns per 4K map, ~70 ns per 4K unmap');
  // Run first, alone: the C program's figures go next to the JS ones of its format.
  const native = runNativeBaseline({
    scales: SCALES,
    rounds: ROUNDS,
    roundNs: ROUND_NS,
    warmupNs: WARMUP_NS,
  });
  console.log(`${native.note}\n`);
  const nativeOf = (name: string) => (native.ok && name === NATIVE_FORMAT ? native.result : undefined);

  console.log('JS Map<number, number> baseline, 100k keys');
  const n = 100_000;
  const m = new Map<number, number>();
  const [setNs, delNs] = time(
    n,
    () => {
      for (let i = 0; i < n; i++) m.set(i * 4096, PA + i * 4096);
    },
    () => {
      for (let i = 0; i < n; i++) if (!m.delete(i * 4096)) fail('Map delete');
    },
  );
  row('set', setNs, '/op');
  row('delete', delNs, '/op');

  console.log(`\n${NATIVE_FORMAT}: each fast path`);
  fastPathOps(native.ok ? native.result.ops : undefined);

  for (const name of formats) {
    console.log(`\n${name}`);
    const t = newTable(name);
    formatOps(t, nativeOf(name)?.ops);
    t.free();
  }

  console.log('\nHeap allocated per call, 1M map + iova_to_phys + unmap calls each (alloc.ts)');
  console.log(`  ${''.padEnd(34)}${'alone (fresh worker)'.padEnd(28)}in this process`);
  for (const name of formats) {
    const alone = allocText(await allocPerCallAlone(name));
    console.log(`  ${name.padEnd(34)}${alone.padEnd(28)}${allocText(await allocPerCall(name, memory))}`);
  }

  console.log('\nScaling with live mappings: ns/op and ratio to 1k');
  printScaling('Map', SCALES.map(mapScaling));
  for (const name of formats) {
    const results = SCALES.map((live) => scaling(name, live));
    printScaling(name, results);
    const nat = nativeOf(name);
    if (nat !== undefined) {
      printScaling('native (C -O2)', nat.scaling);
      printNativeRatios('JS/native', results, nat.scaling);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
