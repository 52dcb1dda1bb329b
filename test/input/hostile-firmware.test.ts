// SPDX-License-Identifier: GPL-2.0-only
// Names from untrusted firmware through every output, end to end: a real
// device tree (Juno r1) whose node is renamed in the blob to carry markup and
// terminal escape sequences, booted by the CLI as a user would. The
// terminal text (boot, explain, a diff) carries the control characters only
// escaped; the JSON carries the name exactly (escaped by JSON itself); the
// HTML report holds it only as text, never as markup.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const juno = fileURLToPath(new URL('../../../shared/fixtures/dtb/arm64-6.12-juno-r1.dtb', import.meta.url));
const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);
/** 14 bytes, as long as "dma-controller", so the blob's layout stays valid. */
const EVIL = `<script>${ESC}]0;x${BEL}`;
const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

/** The Juno blob with its node dma-controller@7ff00000 renamed in place. */
function evilDtb(): string {
  const blob = readFileSync(juno);
  const at = blob.indexOf('dma-controller@7ff00000\0');
  expect(at).toBeGreaterThan(0);
  expect(EVIL.length).toBe('dma-controller'.length);
  blob.write(EVIL, at, 'latin1');
  const file = join(scratchDir('hostile-fw-'), 'evil.dtb');
  writeFileSync(file, blob);
  return file;
}

describe('a device tree node named with markup and terminal escapes', () => {
  const dtb = evilDtb();
  const device = `7ff00000.${EVIL}`;

  it('boots, and the terminal text shows the name with its control characters escaped', () => {
    const r = run('boot', dtb);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).not.toContain(BEL);
    expect(r.stdout).toContain('dev  7ff00000.<script>\\x1b]0;x\\x07');
  });

  it('the JSON carries the name exactly', () => {
    const r = run('boot', dtb, '--json');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    const devices = (JSON.parse(r.stdout) as { devices: { name: string }[] }).devices.map((d) => d.name);
    expect(devices).toContain(device);
  });

  it('explain names it escaped', () => {
    const r = run('explain', device, dtb);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(ESC);
    expect(r.stdout).toContain('7ff00000.<script>\\x1b]0;x\\x07');
  });

  it('the HTML report holds it as text only', () => {
    const out = join(scratchDir('hostile-fw-'), 'r.html');
    const r = run('report', dtb, '-o', out);
    expect(r.status).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toContain(ESC);
    // One <script> of the page's own data and one of its code: none from the name.
    expect(html.match(/<script/g)!.length).toBe(2);
    expect(html).toContain('&lt;script&gt;');
  });
});
