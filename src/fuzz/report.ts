// SPDX-License-Identifier: GPL-2.0-only
/**
 * What `npm run fuzz` tells as it goes, so that a long run stopped half way
 * (a 40-minute sysfs run, a CI job's time limit) has still said how far it
 * got and left every finding on disk:
 *  - FuzzProgress: on a terminal one line redrawn in place; elsewhere (a log
 *    file, CI) a line each time another tenth of the inputs is done or a
 *    minute has passed, whichever comes first.
 *  - writeFinding(): a finding's input and message, written the moment the
 *    finding arrives from its worker, not when the target ends.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzFinding } from './fuzz.js';

/** Where progress goes: process.stderr, or a test's stand-in. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

const clock = (s: number): string => {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor(t / 60) % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
};

/** The progress of one target's run over all its workers. */
export class FuzzProgress {
  private readonly start: number;
  private lastLine: number;
  private lastTenth = 0;

  constructor(
    private readonly target: string,
    private readonly total: number,
    private readonly sink: ProgressSink,
    private readonly now: () => number = () => performance.now(),
    /** A non-terminal gets a line at least this often while inputs are being done. */
    private readonly everyMs = 60_000,
  ) {
    this.start = now();
    this.lastLine = this.start;
  }

  /** The line for `done` inputs and `found` findings so far. */
  line(done: number, found: number): string {
    const s = (this.now() - this.start) / 1000;
    const pct = Math.floor((done * 100) / this.total);
    const rate = s > 0 ? Math.round(done / s) : 0;
    const f = found === 1 ? '1 finding' : `${found} findings`;
    return `${this.target}: ${done}/${this.total} inputs (${pct}%), ${rate} inputs/s, ${f}, ${clock(s)}`;
  }

  update(done: number, found: number): void {
    if (this.sink.isTTY) {
      this.sink.write(`\r${this.line(done, found)}\x1b[K`);
      return;
    }
    // All done: the summary row says the rest.
    if (done >= this.total) return;
    const tenth = Math.floor((done * 10) / this.total);
    const t = this.now();
    if (tenth > this.lastTenth || t - this.lastLine >= this.everyMs) {
      this.lastTenth = Math.max(this.lastTenth, tenth);
      this.lastLine = t;
      this.sink.write(`${this.line(done, found)}\n`);
    }
  }

  /** The target is done: a terminal's line is cleared (the summary row follows). */
  end(): void {
    if (this.sink.isTTY) this.sink.write('\r\x1b[K');
  }
}

/** The file name a finding is kept under (without .bin/.txt): target, worker seed, input index. */
export const findingBase = (out: string, f: FuzzFinding): string =>
  join(out, `${f.target}-s${f.rngSeed}-${f.index}`);

/**
 * Writes a finding's input (.bin) and what happened (.txt) into `out`,
 * ready to become a regression fixture; returns the path of the .bin.
 */
export function writeFinding(out: string, f: FuzzFinding): string {
  mkdirSync(out, { recursive: true });
  const base = findingBase(out, f);
  writeFileSync(`${base}.bin`, f.input);
  writeFileSync(
    `${base}.txt`,
    `${f.kind} (${f.ms.toFixed(1)} ms), input ${f.index} of seed ${f.rngSeed}, mutated from ${f.seed}\n${f.message}\n`,
  );
  return `${base}.bin`;
}
