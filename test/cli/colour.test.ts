// SPDX-License-Identifier: GPL-2.0-only
// Colour only on a terminal (or FORCE_COLOR), never with NO_COLOR set, never
// in JSON; and then only the escapes the CLI adds (firmware text stays
// escaped by text.ts).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { colourEnabled, colourize } from '../../src/cli/colour.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ESC = String.fromCharCode(0x1b);
/** The CLI with exactly these colour variables (none inherited from the test runner). */
const run = (env: Record<string, string>, ...args: string[]) => {
  const base = { ...process.env };
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...base, ...env } }).stdout;
};

describe('colour', () => {
  it('is decided by the stream and NO_COLOR / FORCE_COLOR / TERM', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(colourEnabled(tty, {})).toBe(true);
    expect(colourEnabled(pipe, {})).toBe(false);
    expect(colourEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled(tty, { NO_COLOR: '' })).toBe(true); // set but empty: no effect, as no-color.org says
    expect(colourEnabled(tty, { TERM: 'dumb' })).toBe(false);
    expect(colourEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourEnabled(pipe, { FORCE_COLOR: '0' })).toBe(false);
    expect(colourEnabled(pipe, { FORCE_COLOR: '1', NO_COLOR: 'yes' })).toBe(false);
  });

  it('paints lines by their shape', () => {
    expect(colourize('group 3  type=DMA\n  dev  x\nWARNs: 2\nleaks: none')).toBe(
      `${ESC}[1mgroup 3  type=DMA${ESC}[0m\n  dev  x\n${ESC}[31mWARNs: 2${ESC}[0m\n${ESC}[32mleaks: none${ESC}[0m`,
    );
  });

  it('the CLI: plain through a pipe, coloured with FORCE_COLOR, plain again with NO_COLOR, JSON never', () => {
    expect(run({}, 'boot')).not.toContain(ESC);
    const forced = run({ FORCE_COLOR: '1' }, 'boot');
    expect(forced).toContain(`${ESC}[1mgroup 0  type=DMA-FQ${ESC}[0m`);
    expect(forced).toContain(`${ESC}[32mWARNs: none${ESC}[0m`);
    expect(run({ FORCE_COLOR: '1', NO_COLOR: '1' }, 'boot')).not.toContain(ESC);
    expect(run({ FORCE_COLOR: '1' }, 'boot', '--json')).not.toContain(ESC);
  });
});
