// SPDX-License-Identifier: GPL-2.0-only
/**
 * The bench's native baseline (bench/native/pgtable-baseline.c through
 * src/bench/native.ts): compiled and run at a tiny size when a C compiler
 * exists, its output read back, its descriptors compared bit for bit with the
 * JS engine's for the same map, its self-checks shown to fire, and the output
 * parser shown to refuse incomplete output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeBaseline, NativeParams } from '../../src/bench/native.js';
import {
  NATIVE_FORMAT,
  NATIVE_OPS,
  baselineArgs,
  compileBaseline,
  compilerVersion,
  parseBaselineOutput,
  runNativeBaseline,
} from '../../src/bench/native.js';
import { IOMMU_READ, IOMMU_WRITE, createPageTable } from '../../src/pgtable/index.js';

const hasCc = compilerVersion('cc') !== null;

/** Tiny sizes and one timed round with no warm-up time: time() then runs each phase 3 + 1 + 1 times. */
const TINY: NativeParams = {
  pages: 1536,
  batches: 3,
  blocks: 5,
  ops: 700,
  scales: [64, 300],
  rounds: 1,
  roundNs: 0,
  warmupNs: 0,
};
const RUNS = 5;

describe.skipIf(!hasCc)('native baseline, compiled with cc', () => {
  let run: NativeBaseline = { ok: false, note: 'not run' };
  beforeAll(() => {
    run = runNativeBaseline(TINY);
  });

  it('runs and reports every figure for the sizes it was given', () => {
    expect(run.note).toMatch(/^native baseline: bench\/native\/pgtable-baseline\.c, cc -O2 /);
    if (!run.ok) throw new Error(run.note);
    const r = run.result;
    expect(r.params).toEqual(TINY);
    expect(Object.keys(r.ops).sort()).toEqual([...NATIVE_OPS].sort());
    for (const op of NATIVE_OPS) expect(r.ops[op]).toBeGreaterThan(0);
    expect(r.scaling).toHaveLength(TINY.scales.length);
    for (const figures of r.scaling) {
      expect(figures).toHaveLength(4);
      for (const ns of figures) expect(ns).toBeGreaterThan(0);
    }
  });

  it('verified exactly the operations the bench sections do', () => {
    if (!run.ok) throw new Error(run.note);
    const { pages, batches, blocks, ops, scales } = TINY;
    // Timed: 4K map/unmap, batches of 256, 2M blocks, each RUNS times; then one untimed map and unmap of
    // the pages around iova_to_phys; per scale, the live pages, then map+unmap of a hole, random and
    // consecutive, RUNS times each.
    const sectionMaps = RUNS * (pages + 256 * batches + blocks) + pages;
    const live = scales.reduce((a, b) => a + b, 0);
    expect(run.result.verified).toEqual({
      maps: sectionMaps + live + scales.length * 2 * RUNS * ops,
      unmaps: sectionMaps + scales.length * 2 * RUNS * ops,
      translations: RUNS * pages + scales.length * 2 * RUNS * ops,
    });
  });

  it('writes the same descriptors as the JS engine for the same map', () => {
    if (!run.ok) throw new Error(run.note);
    const t = createPageTable(NATIVE_FORMAT);
    const out = { mapped: 0 };
    expect(t.mapPagesTo(out, 0x1000, 0x80_0000_1000, 4096, 1, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    const steps = t.walkTrace(0x1000).steps;
    expect(steps.map((s) => s.pte)).toEqual(run.result.descriptors.walk);
    expect(run.result.descriptors.root).toBe(BigInt(t.cfg.ttbr));
    // The leaf: output address 0x8000001000 | nG | AF | SH outer | AP unprivileged | page.
    expect(run.result.descriptors.walk[3]).toBe(0x80_0000_1e43n);
    t.free();
  });
});

describe.skipIf(!hasCc)('native baseline checks its own results', () => {
  let dir = '';
  let exe = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'native-baseline-test-'));
    // Warnings are errors here, so that the source stays clean.
    exe = compileBaseline('cc', dir, ['-O2', '-Wall', '-Wextra', '-Werror']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('aborts with a message when a translation is wrong', () => {
    const r = spawnSync(exe, [...baselineArgs(TINY), '--inject-fault'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^pgtable-baseline: iova_to_phys\(0x[0-9a-f]+\) = 0x[0-9a-f]+, expected 0x[0-9a-f]+\n$/,
    );
    // The sections before it ran, and nothing after it was reported.
    expect(r.stdout).toContain('"op":"block_unmap"');
    expect(r.stdout).not.toContain('"op":"iova_to_phys"');
    expect(() => parseBaselineOutput(r.stdout)).toThrow(/no figure for iova_to_phys/);
  });

  it('refuses bad arguments', () => {
    const r = spawnSync(exe, ['--pages', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bad value '0' for --pages");
  });
});

describe('native baseline output and fallbacks', () => {
  const header = JSON.stringify({
    baseline: 'pgtable-native',
    format: NATIVE_FORMAT,
    pages: 1,
    batches: 1,
    blocks: 1,
    ops: 1,
    rounds: 1,
    round_ns: 0,
    warmup_ns: 0,
    scales: [10],
  });
  const body = [
    header,
    '{"check":"descriptors","iova":"0x1000","root":"0x40000000","walk":["0x1","0x2","0x3","0x4"]}',
    ...NATIVE_OPS.map((op, i) => JSON.stringify({ op, ns: i + 1 })),
    '{"scaling":10,"ns":[1,2,3,4]}',
  ];
  const verified = '{"verified":{"maps":3,"unmaps":2,"translations":1},"checksum":"0x0"}';

  it('reads complete output', () => {
    const r = parseBaselineOutput([...body, verified].join('\n'));
    expect(r.ops.iova_to_phys).toBe(NATIVE_OPS.length);
    expect(r.scaling).toEqual([[1, 2, 3, 4]]);
    expect(r.descriptors.walk).toEqual([1n, 2n, 3n, 4n]);
    expect(r.verified).toEqual({ maps: 3, unmaps: 2, translations: 1 });
  });

  it('refuses output that did not verify anything or stopped early', () => {
    expect(() => parseBaselineOutput(body.join('\n'))).toThrow(/before its results were verified/);
    expect(() =>
      parseBaselineOutput(
        [...body, '{"verified":{"maps":3,"unmaps":2,"translations":0},"checksum":"0x0"}'].join('\n'),
      ),
    ).toThrow(/before its results were verified/);
    expect(() =>
      parseBaselineOutput([...body.filter((l) => !l.includes('scaling')), verified].join('\n')),
    ).toThrow(/no scaling figures for 10/);
    expect(() => parseBaselineOutput(body.slice(1).join('\n'))).toThrow(/no header line/);
  });

  it('skips with a one-line note when there is no compiler', () => {
    const r = runNativeBaseline(TINY, 'no-such-c-compiler-iommu-lab');
    expect(r).toEqual({
      ok: false,
      note: "native baseline skipped: no C compiler ('no-such-c-compiler-iommu-lab') found",
    });
  });
});
