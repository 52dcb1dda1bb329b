// SPDX-License-Identifier: GPL-2.0-only
/**
 * The bench's native baseline: bench/native/pgtable-baseline.c, a plain C
 * page table doing what the bench's arm-64-lpae-s1-4k section does (the same
 * maps, unmaps, batches, blocks, random iova_to_phys and live-mapping
 * scaling, with the same index sequences and the same timing harness),
 * compiled with `cc -O2` into a temporary directory at bench time and run, so
 * that `npm run bench` prints each JS figure's ratio to native code measured
 * on the same machine in the same run (issue 5's target: within 2x per
 * operation).
 *
 * The program checks every result (a wrong map, unmap or translation aborts
 * it), and its last line counts what it verified; parseBaselineOutput()
 * accepts only complete output. Without a C compiler the baseline is skipped
 * with a note, never failing the bench.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The registered format the C program implements. */
export const NATIVE_FORMAT = 'arm-64-lpae-s1-4k';

/** The C source; src/bench and dist/bench are both two levels below the repository. */
export const NATIVE_SOURCE = fileURLToPath(new URL('../../bench/native/pgtable-baseline.c', import.meta.url));

export const NATIVE_OPS = [
  'map',
  'unmap',
  'batch_map',
  'batch_unmap',
  'block_map',
  'block_unmap',
  'iova_to_phys',
] as const;
export type NativeOp = (typeof NATIVE_OPS)[number];

/** The sizes of each section (the C program's defaults are the JS bench's). */
export interface NativeParams {
  /** Consecutive 4K pages mapped and unmapped one per call (formatOps' n). */
  readonly pages: number;
  /** Calls of 256 pages each. */
  readonly batches: number;
  /** 2M blocks. */
  readonly blocks: number;
  /** Operations per scaling measurement. */
  readonly ops: number;
  /** Live mappings of the scaling section. */
  readonly scales: readonly number[];
  /** time(): rounds, the minimum ns of a round and of the warm-up. */
  readonly rounds: number;
  readonly roundNs: number;
  readonly warmupNs: number;
}

export const NATIVE_DEFAULTS: NativeParams = {
  pages: 100_000,
  batches: 400,
  blocks: 2_000,
  ops: 100_000,
  scales: [1_000, 10_000, 100_000, 1_000_000],
  rounds: 7,
  roundNs: 10e6,
  warmupNs: 100e6,
};

export interface NativeResult {
  readonly params: NativeParams;
  /** The descriptors one map of IOVA 0x1000 to 0x8000001000 (read+write) wrote: root table address, and levels 0 to 3. */
  readonly descriptors: { readonly root: bigint; readonly walk: readonly bigint[] };
  /** Median ns per operation (per page for the batches). */
  readonly ops: Readonly<Record<NativeOp, number>>;
  /** Per scale, in params.scales order: map+unmap and iova_to_phys, random then consecutive (the JS scaling() order). */
  readonly scaling: readonly (readonly number[])[];
  /** What the program checked: every one of these was the expected result. */
  readonly verified: { readonly maps: number; readonly unmaps: number; readonly translations: number };
}

export type NativeBaseline =
  | { readonly ok: true; readonly result: NativeResult; readonly note: string }
  | { readonly ok: false; readonly note: string };

/** The compiler's first `--version` line, or null when there is none to run. */
export function compilerVersion(cc: string): string | null {
  const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return null;
  return r.stdout.split('\n')[0].trim();
}

/** Compiles the C program into dir; returns the executable's path, or throws with the compiler's messages. */
export function compileBaseline(cc: string, dir: string, flags: readonly string[] = ['-O2']): string {
  const exe = join(dir, 'pgtable-baseline');
  const r = spawnSync(cc, [...flags, '-o', exe, NATIVE_SOURCE], { encoding: 'utf8' });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`${cc} failed: ${r.stderr.trim()}`);
  return exe;
}

/** The command line for params. */
export function baselineArgs(p: NativeParams): string[] {
  return [
    ['--pages', p.pages],
    ['--batches', p.batches],
    ['--blocks', p.blocks],
    ['--ops', p.ops],
    ['--scales', p.scales.join(',')],
    ['--rounds', p.rounds],
    ['--round-ns', p.roundNs],
    ['--warmup-ns', p.warmupNs],
  ].flatMap(([k, v]) => [String(k), String(v)]);
}

const isNs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Reads the program's JSON lines; throws unless every section is there, the
 * figures are numbers, and the closing `verified` line says it checked at
 * least one map, unmap and translation.
 */
export function parseBaselineOutput(text: string): NativeResult {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const head = lines.find((l) => l.baseline === 'pgtable-native');
  if (head === undefined || head.format !== NATIVE_FORMAT) throw new Error('native baseline: no header line');
  const scales = head.scales as number[];
  const params: NativeParams = {
    pages: head.pages as number,
    batches: head.batches as number,
    blocks: head.blocks as number,
    ops: head.ops as number,
    scales,
    rounds: head.rounds as number,
    roundNs: head.round_ns as number,
    warmupNs: head.warmup_ns as number,
  };
  const desc = lines.find((l) => l.check === 'descriptors');
  if (desc === undefined || !Array.isArray(desc.walk) || desc.walk.length !== 4)
    throw new Error('native baseline: no descriptor check');
  const ops = {} as Record<NativeOp, number>;
  for (const op of NATIVE_OPS) {
    const ns = lines.find((l) => l.op === op)?.ns;
    if (!isNs(ns)) throw new Error(`native baseline: no figure for ${op}`);
    ops[op] = ns;
  }
  const scaling = scales.map((live) => {
    const ns = lines.find((l) => l.scaling === live)?.ns;
    if (!Array.isArray(ns) || ns.length !== 4 || !ns.every(isNs))
      throw new Error(`native baseline: no scaling figures for ${live}`);
    return ns as number[];
  });
  const last = lines[lines.length - 1] as { verified?: NativeResult['verified'] };
  const v = last.verified;
  if (v === undefined || !(v.maps > 0 && v.unmaps > 0 && v.translations > 0))
    throw new Error('native baseline: output ends before its results were verified');
  return {
    params,
    descriptors: { root: BigInt(desc.root as string), walk: (desc.walk as string[]).map((w) => BigInt(w)) },
    ops,
    scaling,
    verified: { maps: v.maps, unmaps: v.unmaps, translations: v.translations },
  };
}

/**
 * Compiles and runs the baseline in a temporary directory (removed after);
 * never throws: when there is no compiler, or something fails, the result
 * says so in a one-line note.
 */
export function runNativeBaseline(params: Partial<NativeParams> = {}, cc = 'cc'): NativeBaseline {
  const version = compilerVersion(cc);
  if (version === null) return { ok: false, note: `native baseline skipped: no C compiler ('${cc}') found` };
  const p = { ...NATIVE_DEFAULTS, ...params };
  const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-native-'));
  try {
    const t0 = Date.now();
    const exe = compileBaseline(cc, dir);
    const r = spawnSync(exe, baselineArgs(p), { encoding: 'utf8', timeout: 600_000 });
    if (r.error !== undefined) throw r.error;
    if (r.status !== 0) throw new Error(r.stderr.trim() || `exit status ${r.status}`);
    const result = parseBaselineOutput(r.stdout);
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    return {
      ok: true,
      result,
      note: `native baseline: bench/native/pgtable-baseline.c, ${cc} -O2 (${version}), ${s} s, ${result.verified.translations} translations verified`,
    };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, note: `native baseline failed: ${why.split('\n').join(' | ')}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The text after a JS figure: the native figure and the JS/native ratio, if there is a native figure. */
export function vsNative(js: number, native: number | undefined): string {
  return native === undefined
    ? ''
    : `   native ${native.toFixed(1)} ns, JS/native ×${(js / native).toFixed(2)}`;
}
