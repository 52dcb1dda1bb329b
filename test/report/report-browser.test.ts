// SPDX-License-Identifier: GPL-2.0-only
// `iommu-lab report` pages opened in real headless Chromium (Debian's
// chromium, driven by playwright-core): each loads with no console error and
// no request beyond its own file, the graph draws every group as a cluster
// with its devices, clicking a device (in the graph or the table) shows its
// explanation, and a snapshot's and a what-if's pages show their sections.
// CI installs chromium (.ci/run); elsewhere the test is skipped without it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { bootByName } from '../../src/api.js';
import { scratchDir } from '../support/scratch.js';
import { groundTruthSysroot } from '../support/sysroot.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`CI needs ${CHROMIUM} (.ci/run installs Debian's chromium)`);

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const script = fileURLToPath(new URL('../../snapshot/iommu-snapshot.sh', import.meta.url));
const gtRoot = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));

/** Writes a report with the CLI; its path. */
function report(name: string, ...args: string[]): string {
  const out = join(scratchDir('iommu-lab-report-'), `${name}.html`);
  const r = spawnSync(process.execPath, [cli, 'report', ...args, '-o', out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return out;
}

/** Opens a page, recording console errors and every request. */
async function open(browser: Browser, file: string) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  return { page, errors, requests };
}

const storyOf = (page: Page) => page.locator('#story li').allTextContents();

describe.skipIf(!haveChromium)('the report page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the built-in platform: every group drawn with its devices; a click shows why', async () => {
    const file = report('vtd-switch', 'x86-q35-vtd-switch', '--profile', 'v6.12');
    const r = bootByName('x86-q35-vtd-switch', { profile: 'v6.12' });
    const { page, errors, requests } = await open(browser, file);
    expect(await page.title()).toBe('iommu-lab: x86-q35-vtd-switch under v6.12');
    // One cluster per group, with its members' names drawn inside.
    const clusters = page.locator('#graph g.cluster');
    expect(await clusters.count()).toBe(r.groups.length);
    for (const g of r.groups) {
      const box = await page.locator(`#graph g.cluster[id="group-${g.id}"]`).boundingBox();
      expect(box, `group ${g.id}`).not.toBeNull();
      for (const d of g.devices) {
        const node = page
          .locator('#graph g.node.device', { has: page.locator('title') })
          .filter({ hasText: d });
        const nb = await node.first().boundingBox();
        expect(nb, d).not.toBeNull();
        // Inside the cluster's box.
        expect(nb!.x >= box!.x && nb!.y >= box!.y && nb!.x + nb!.width <= box!.x + box!.width + 1).toBe(true);
      }
    }
    // Click the e1000e in the graph: its story says which group and why.
    await page.locator('#graph g.node.device').filter({ hasText: '0000:03:00.0' }).first().click();
    expect(await page.textContent('#details h2')).toBe('0000:03:00.0');
    const story = await storyOf(page);
    expect(story[0]).toBe(
      '0000:03:00.0 is translated by dmar0 (intel-iommu), probed at registration of dmar0: a global driver, which finds its devices in its own firmware tables.',
    );
    expect(story).toContain(
      'Group 1 has 6 devices: 0000:00:03.0, 0000:01:00.0, 0000:02:00.0, 0000:02:01.0, 0000:03:00.0, 0000:04:00.0. User space must take them all, and no kernel driver may use any of them.',
    );
    expect(await page.locator('#graph g.node.selected').count()).toBe(1);
    // The table's buttons do the same.
    await page.click('#groups button.dev:text("0000:05:00.0")');
    expect(await page.textContent('#details h2')).toBe('0000:05:00.0');
    expect(await page.textContent('#warnings')).toContain('none');
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
  });

  it('a what-if page lists what changes; a snapshot page says whether the model agrees', async () => {
    const whatIf = report('acs', 'x86-q35-vtd-switch', '--profile', 'v6.12', '--acs', '0000:00:03.0');
    const a = await open(browser, whatIf);
    expect(await a.page.textContent('#diff h2')).toBe('What changes: v6.12 → v6.12 --acs 0000:00:03.0');
    expect(await a.page.locator('#diff tr').count()).toBe(6); // a header and five groups
    expect(a.errors).toEqual([]);

    const dir = scratchDir('iommu-lab-report-');
    groundTruthSysroot(join(gtRoot, 'arm64-virt-smmuv3-acpi-switch'), join(dir, 'root'));
    const snap = join(dir, 'snap.tar.gz');
    execFileSync('sh', [script, snap], {
      env: { ...process.env, SYSROOT: join(dir, 'root') },
      stdio: 'ignore',
    });
    const b = await open(browser, report('snap', snap));
    expect(await b.page.textContent('#agreement h2')).toBe(
      "Compared with the machine's live groups: the model agrees",
    );
    expect(await b.page.locator('#graph g.cluster').count()).toBe(3);
    await b.page.locator('#graph g.node.device').filter({ hasText: 'arm-smmu-v3.0.auto' }).first().click();
    expect(await b.page.textContent('#details h2')).toBe('arm-smmu-v3.0.auto');
    expect(b.errors).toEqual([]);
  });
});
