// SPDX-License-Identifier: GPL-2.0-only
// Bad platform and scenario files get an InputError naming the file, where
// and what, never a crash; random junk gets the same (property).
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, parseJsonText } from '../../src/input/input-error.js';
import { loadPlatform, parsePlatform } from '../../src/platform/load.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { scenario as run } from '../../src/api.js';
import { inputError } from '../support/input-error.js';

const dir = scratchDir('iommu-lab-');
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('platform files', () => {
  it('a JSON syntax error names the line and column', () => {
    const p = file('syntax.json', '{\n  "name": "x",\n  "arch": }\n');
    const e = inputError(() => loadPlatform(p));
    expect(e.file).toBe(p);
    expect(e.where).toBe('line 3, column 11');
    expect(e.problem).toMatch(/^not valid JSON/);
  });

  it('a wrong field names its path', () => {
    const e = inputError(() => parsePlatform({ name: 'x', devices: [{ name: 'a', bus: 'usb' }] }, 'p.json'));
    expect(e.message).toMatch(/^p\.json: devices\[0\]\.bus: /);
  });

  it('an unknown field is named, so typos show', () => {
    const e = inputError(() => parsePlatform({ name: 'x', drviers: [] }, 'p.json'));
    expect(e.message).toBe('p.json: drviers: unknown field');
  });

  it('a reference to a node that does not exist is named', () => {
    const desc = parsePlatform(
      { name: 'x', of: [{ path: '/a', props: { iommus: ['&nope', 1] } }] },
      'p.json',
    );
    const e = inputError(() => bootPlatform(desc, { file: 'p.json' }));
    expect(e.message).toBe('p.json: of[0].props.iommus[0]: reference &nope names no node');
  });

  it('PCI topology problems come back under "pci."', () => {
    const desc = parsePlatform(
      {
        name: 'x',
        pci: {
          root: 0,
          functions: [{ bdf: '00:01.0', type: 'endpoint', vendor: '8086', device: '1', bogus: 1 }],
        },
      },
      'p.json',
    );
    const e = inputError(() => bootPlatform(desc, { file: 'p.json' }));
    expect(e.where).toMatch(/^pci\.functions\[0\]/);
  });

  it('an unknown built-in name lists the built-in platforms', () => {
    const e = inputError(() => loadPlatform('no-such-machine'));
    expect(e.problem).toMatch(/x86-q35-vtd-switch/);
  });

  it('random JSON values give InputError or a platform, never another exception (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          const desc = parsePlatform(v, 'fuzz.json');
          bootPlatform(desc, { file: 'fuzz.json' });
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('prototype keys in JSON are dropped', () => {
    const v = parseJsonText('x.json', '{"__proto__": {"polluted": 1}, "name": "a"}') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('scenario files', () => {
  it('an unknown step op is named', () => {
    const e = inputError(() =>
      parseScenario({ name: 's', platform: 'x86-q35-vtd-switch', steps: [{ op: 'reboot' }] }, 's.json'),
    );
    expect(e.where).toBe('steps[0].op');
  });

  it('a step naming a device nobody declares is bad input, naming the step', () => {
    const sc = parseScenario(
      {
        name: 's',
        platform: 'x86-q35-vtd-switch',
        steps: [{ op: 'load-mock' }, { op: 'device-del', dev: 'typo' }],
      },
      's.json',
    );
    const e = inputError(() => run(sc, { file: 's.json' }));
    expect(e.message).toMatch(/^s\.json: steps\[1\]\.dev: no device "typo"/);
  });

  it('a missing file says so', () => {
    const e = inputError(() => loadScenario(join(dir, 'missing.json')));
    expect(e.problem).toBe('no such file');
  });
});

describe('typos that used to pass silently', () => {
  it('an expectation for a profile that does not exist is named', () => {
    const e = inputError(() =>
      parseScenario(
        { name: 's', platform: 'x86-q35-vtd-switch', steps: [], expect: { 'v6.13': {} } },
        's.json',
      ),
    );
    expect(e.where).toBe('expect.v6.13');
  });

  it('a driver probe result that is not a known errno is named', () => {
    const e = inputError(() =>
      parsePlatform({ name: 'x', drivers: [{ name: 'd', bus: 'platform', probe: '-EFOO' }] }, 'p.json'),
    );
    expect(e.where).toBe('drivers[0].probe');
  });

  it('undoing a step that failed returns -ENOENT instead of stopping the run', () => {
    const sc = parseScenario(
      {
        name: 's',
        platform: 'x86-q35-vtd-switch',
        steps: [
          { op: 'load-mock' },
          { op: 'mock-dev-create', as: 'm' },
          { op: 'iommufd-bind', dev: 'm', as: 'b' },
          { op: 'iommufd-unbind', bind: 'b' },
        ],
      },
      's.json',
    );
    expect(run(sc, { profile: 'v6.12' }).steps.map((s) => s.result)).toEqual([
      '0',
      '0',
      '-EINVAL',
      '-ENOENT',
    ]);
    expect(run(sc, { profile: 'v6.18' }).steps.map((s) => s.result)).toEqual(['0', '0', '0', '0']);
  });
});
