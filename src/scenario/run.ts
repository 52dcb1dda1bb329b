// SPDX-License-Identifier: GPL-2.0-only
/**
 * Running a scenario: boot its platform under a profile, carry out each step
 * through the modelled kernel's public entry points (recording the errno the
 * kernel returns), optionally check the invariants after every step, read the
 * final state, tear the model down and report leaks, then compare with the
 * scenario's expectations for that profile.
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDomain } from '../iommu/domain.js';
import type { IommufdDevice } from '../iommufd/device-bind.js';
import type { PlatformDesc } from '../platform/schema.js';
import type { ProfileName } from '../profile/profile.js';
import type { Scenario, ScenarioExpect, Step } from './schema.js';
import type { Snapshot } from '../report/snapshot.js';
import type { Leak } from '../checker/teardown.js';
import type { InvariantViolation } from '../checker/invariants.js';
import type { BootedPlatform } from '../platform/boot.js';
import { bootPlatform } from '../platform/boot.js';
import { snapshot } from '../report/snapshot.js';
import { teardown, leakReport } from '../checker/teardown.js';
import { checkInvariants } from '../checker/invariants.js';
import { EINVAL, ENODEV, ENOENT, EPROBE_DEFER, IS_ERR, PTR_ERR, errnoName } from '../kernel/errno.js';
import { device_add, device_unregister } from '../base/core.js';
import { device_attach, device_release_driver, driver_deferred_probe_trigger } from '../base/dd.js';
import { driver_register, driver_unregister } from '../base/driver.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { iommu_fwspec_add_ids, iommu_fwspec_init } from '../iommu/fwspec.js';
import { dev_iommu_free } from '../iommu/dev-iommu.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../iommu/ownership.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../iommu/domain-alloc.js';
import { iommu_attach_group, iommu_detach_group } from '../iommu/attach.js';
import { iommu_group_store_type } from '../iommu/default-domain.js';
import { iommufd_device_bind, iommufd_device_unbind } from '../iommufd/device-bind.js';
import { iommufd_test_exit, iommufd_test_init } from '../drivers/iommufd-selftest/mock.js';
import { mock_dev_create, mock_dev_destroy } from '../drivers/iommufd-selftest/mock-dev.js';
import { InputError } from '../input/input-error.js';
import { runRecord, type RunRecord } from '../report/run-record.js';
import { dmaStepOps, runDmaStep, type DmaCtx, type DmaStep } from './dma-steps.js';

export interface StepResult {
  readonly op: string;
  /** "0" or the errno name the kernel returned, such as "-ENODEV". */
  readonly result: string;
  /** What the step was about, in words ("iommufd_mock0", "smmu3.0x…"). */
  readonly target: string;
}

export interface ExpectationReport {
  readonly ok: boolean;
  readonly mismatches: string[];
}

export interface ScenarioResult extends Snapshot, RunRecord {
  readonly scenario: string;
  readonly steps: StepResult[];
  /** Scenario names for devices (`as`) mapped to their device names. */
  readonly aliases: Record<string, string>;
  readonly leaks: Leak[];
  readonly invariantViolations: (InvariantViolation & { readonly afterStep: number })[];
  readonly expectation: ExpectationReport | null;
}

export interface RunOptions {
  readonly profile: ProfileName;
  readonly failNth?: number;
  readonly checkInvariants?: boolean;
  readonly cmdline?: string;
  /** Resolves a built-in platform name. */
  readonly resolvePlatform: (name: string) => PlatformDesc;
  readonly file?: string;
}

interface Ctx {
  readonly bp: BootedPlatform;
  readonly k: Kernel;
  readonly refs: Map<string, Device>;
  readonly aliases: Record<string, string>;
  readonly domains: Map<string, IommuDomain>;
  readonly binds: Map<string, IommufdDevice>;
  readonly owners: Map<string, object>;
  readonly file: string;
  /** Device names the platform and the steps' `as` declare. */
  readonly declared: Set<string>;
  readonly dma: DmaCtx;
}

/**
 * A step's device. A name the scenario never declares is bad input; a name it
 * declares whose device does not exist now (its creation failed, say under
 * fail-nth) makes the step return -ENODEV, as looking it up would.
 */
class MissingDevice extends Error {}

function dev(ctx: Ctx, name: string, where: string): Device {
  const d =
    ctx.refs.get(name) ?? ctx.bp.devices.get(name) ?? [...ctx.k.base.devices].find((x) => x.name === name);
  if (d) return d;
  if (ctx.declared.has(name)) throw new MissingDevice(name);
  throw new InputError(
    ctx.file,
    where,
    `no device "${name}" (neither a platform device nor a name given with "as")`,
  );
}

function owner(ctx: Ctx, name: string): object {
  let o = ctx.owners.get(name);
  if (!o) ctx.owners.set(name, (o = { owner: name }));
  return o;
}

function runStep(ctx: Ctx, step: Step, i: number): { ret: number; target: string } {
  const k = ctx.k;
  const where = `steps[${i}]`;
  if (isDmaStep(step))
    return runDmaStep(
      {
        k,
        file: ctx.file,
        declared: ctx.declared,
        dev: (name, w) => dev(ctx, name, w),
        domain: (name) => ctx.domains.get(name),
        dma: ctx.dma,
      },
      step,
      where,
    );
  switch (step.op) {
    case 'load-mock':
      return { ret: iommufd_test_init(k), target: 'iommufd selftest' };
    case 'unload-mock':
      return { ret: iommufd_test_exit(k), target: 'iommufd selftest' };
    case 'mock-dev-create': {
      const d = mock_dev_create(k, step.flags);
      if (IS_ERR(d)) return { ret: PTR_ERR(d), target: step.as };
      ctx.refs.set(step.as, d);
      ctx.aliases[step.as] = d.name;
      return { ret: 0, target: d.name };
    }
    case 'mock-dev-destroy': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      mock_dev_destroy(k, d);
      return { ret: 0, target: d.name };
    }
    case 'device-add': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      const ret = device_add(k, d);
      // The scenario is the bus code here: a failed add undoes its own fwspec set-up, fully.
      if (ret && d.iommu) dev_iommu_free(k, d, 'bus code unwinding device_add()');
      return { ret, target: d.name };
    }
    case 'device-del': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      if (d.state !== 'registered') return { ret: -ENODEV, target: d.name };
      device_unregister(k, d);
      return { ret: 0, target: d.name };
    }
    case 'seed-fwspec': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      const inst = k.iommu.device_list.find((x) => x.name === step.iommu || x.fwnode?.name === step.iommu);
      const np = inst?.fwnode ?? ctx.bp.ofNodes.get(step.iommu) ?? null;
      if (!inst && !np)
        throw new InputError(ctx.file, `${where}.iommu`, `no IOMMU instance or node "${step.iommu}"`);
      mutex_lock(k.printk, k.iommu.probe_device_lock, 'seed-fwspec');
      let ret = iommu_fwspec_init(k, d, np, inst?.ops ?? null);
      if (!ret) {
        d.iommu!.fwspec!.seededByBus = true;
        ret = iommu_fwspec_add_ids(k, d, step.ids, 'set up by bus code before device_add()');
      }
      mutex_unlock(k.printk, k.iommu.probe_device_lock, 'seed-fwspec');
      return { ret, target: d.name };
    }
    case 'driver-register': {
      const drv = ctx.bp.drivers.get(step.driver);
      if (!drv)
        throw new InputError(ctx.file, `${where}.driver`, `the platform lists no driver "${step.driver}"`);
      return { ret: driver_register(k, drv), target: drv.name };
    }
    case 'driver-unregister': {
      const drv = ctx.bp.drivers.get(step.driver);
      if (!drv)
        throw new InputError(ctx.file, `${where}.driver`, `the platform lists no driver "${step.driver}"`);
      if (!drv.bus.drivers.includes(drv)) return { ret: -ENOENT, target: drv.name };
      driver_unregister(k, drv, (d) => device_release_driver(k, d));
      return { ret: 0, target: drv.name };
    }
    case 'unbind': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      if (!d.driver) return { ret: -ENODEV, target: d.name };
      device_release_driver(k, d);
      return { ret: 0, target: d.name };
    }
    case 'bind': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      const r = device_attach(k, d);
      if (r > 0) return { ret: 0, target: d.name };
      if (r < 0) return { ret: r, target: d.name };
      return { ret: d.deferred ? -EPROBE_DEFER : -ENODEV, target: d.name };
    }
    case 'claim-dma-owner': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      return { ret: iommu_device_claim_dma_owner(k, d, owner(ctx, step.owner)), target: d.name };
    }
    case 'release-dma-owner': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      if (!d.iommu_group?.owner) return { ret: -EINVAL, target: d.name };
      iommu_device_release_dma_owner(k, d);
      return { ret: 0, target: d.name };
    }
    case 'iommufd-bind': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      const r = iommufd_device_bind(k, owner(ctx, step.owner), d);
      if (typeof r === 'number') return { ret: r, target: d.name };
      ctx.binds.set(step.as ?? step.dev, r);
      return { ret: 0, target: d.name };
    }
    case 'iommufd-unbind': {
      const b = ctx.binds.get(step.bind);
      if (!b && ctx.declared.has(step.bind)) return { ret: -ENOENT, target: step.bind }; // its bind failed
      if (!b) throw new InputError(ctx.file, `${where}.bind`, `no iommufd-bind named "${step.bind}"`);
      iommufd_device_unbind(k, b);
      ctx.binds.delete(step.bind);
      return { ret: 0, target: b.dev.name };
    }
    case 'attach-paging-domain': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      const dom = iommu_paging_domain_alloc(k, d);
      if (IS_ERR(dom)) return { ret: PTR_ERR(dom), target: d.name };
      const group = d.iommu_group;
      const ret = group ? iommu_attach_group(k, dom, group) : -ENODEV;
      if (ret) iommu_domain_free(k, dom);
      else ctx.domains.set(step.as, dom);
      return { ret, target: d.name };
    }
    case 'detach-domain': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      const dom = ctx.domains.get(step.domain);
      if (!dom && ctx.declared.has(step.domain)) return { ret: -ENOENT, target: step.domain }; // its attach failed
      if (!dom) throw new InputError(ctx.file, `${where}.domain`, `no domain named "${step.domain}"`);
      // The caller detaches the group it attached: freeing the domain while another group still
      // uses it would be its use-after-free, which the model refuses rather than pretends.
      if (d.iommu_group?.domain !== dom) return { ret: -EINVAL, target: d.name };
      iommu_detach_group(k, d.iommu_group);
      iommu_domain_free(k, dom);
      ctx.domains.delete(step.domain);
      return { ret: 0, target: d.name };
    }
    case 'set-group-type': {
      const d = dev(ctx, step.dev, `${where}.dev`);
      if (!d.iommu_group) return { ret: -ENODEV, target: d.name };
      return {
        ret: iommu_group_store_type(k, d.iommu_group, step.type),
        target: `group ${d.iommu_group.id}`,
      };
    }
    case 'deferred-probe-timeout':
      k.base.deferredProbeTimedOut = true;
      driver_deferred_probe_trigger(k);
      return { ret: 0, target: 'deferred probe' };
  }
}

function isDmaStep(step: Step): step is DmaStep {
  return dmaStepOps.has(step.op);
}

function expectationFor(sc: Scenario, profile: ProfileName): ScenarioExpect | undefined {
  return sc.expect?.[profile] ?? sc.expect?.['*'];
}

/** Compare a result with what the scenario expects for its profile. */
export function checkExpectation(
  result: Omit<ScenarioResult, 'expectation'>,
  exp: ScenarioExpect,
): ExpectationReport {
  const mismatches: string[] = [];
  if (exp.steps) {
    exp.steps.forEach((want, i) => {
      const got = result.steps[i]?.result;
      if (got !== want)
        mismatches.push(
          `step ${i} (${result.steps[i]?.op ?? 'missing'}): expected ${want}, got ${got ?? 'nothing'}`,
        );
    });
    if (result.steps.length !== exp.steps.length)
      mismatches.push(`expected ${exp.steps.length} step results, got ${result.steps.length}`);
  }
  for (const [ref, want] of Object.entries(exp.devices ?? {})) {
    const name = result.aliases[ref] ?? ref;
    const d = result.devices.find((x) => x.name === name);
    const group = d?.group ?? null;
    if (want.iommu !== undefined && (d?.iommu ?? null) !== want.iommu)
      mismatches.push(`${ref}: iommu expected ${want.iommu}, got ${d?.iommu ?? null}`);
    if (want.driver !== undefined && (d?.driver ?? null) !== want.driver)
      mismatches.push(`${ref}: driver expected ${want.driver}, got ${d?.driver ?? null}`);
    if (want.fwspec !== undefined && (d?.fwspec !== null && d !== undefined) !== want.fwspec)
      mismatches.push(`${ref}: fwspec expected ${want.fwspec ? 'present' : 'absent'}`);
    if (want.group !== undefined) {
      const g = result.groups.find((x) => x.id === group);
      const ok =
        want.group === 'any'
          ? group !== null
          : want.group === 'own'
            ? g !== undefined && g.devices.length === 1
            : group === want.group;
      if (!ok)
        mismatches.push(
          `${ref}: group expected ${want.group}, got ${group}${g ? ` (${g.devices.length} devices)` : ''}`,
        );
    }
    if (want.history !== undefined && !(d?.history ?? []).some((h) => h.includes(want.history!))) {
      mismatches.push(`${ref}: expected its history to mention "${want.history}"`);
    }
    if (want.probedAt !== undefined && !(d?.probedAt ?? '').startsWith(want.probedAt)) {
      mismatches.push(`${ref}: expected to be probed at ${want.probedAt}, was ${d?.probedAt ?? 'never'}`);
    }
    if (want.groupType !== undefined) {
      const g = result.groups.find((x) => x.id === group);
      if (g?.type !== want.groupType)
        mismatches.push(`${ref}: group type expected ${want.groupType}, got ${g?.type ?? 'no group'}`);
    }
  }
  if (exp.leaks) {
    const got = result.leaks.map((l) => `${l.type}@${l.origin}#${l.knownBug ?? ''}`);
    const remaining = [...result.leaks];
    for (const w of exp.leaks) {
      const idx = remaining.findIndex(
        (l) =>
          l.type === w.type &&
          (w.origin === undefined || l.origin === w.origin) &&
          (w.knownBug === undefined || l.knownBug === w.knownBug),
      );
      if (idx < 0)
        mismatches.push(
          `expected a leak of ${w.type}${w.origin ? ` from ${w.origin}` : ''}, got [${got.join(', ')}]`,
        );
      else remaining.splice(idx, 1);
    }
    for (const l of remaining) mismatches.push(`unexpected leak: ${l.type} from ${l.origin} (${l.owner})`);
  }
  if (exp.iommus) {
    const got = result.iommus.map((i) => i.name).join(', ');
    if (got !== exp.iommus.join(', '))
      mismatches.push(`IOMMU instances expected [${exp.iommus.join(', ')}], got [${got}]`);
  }
  for (const want of exp.log ?? []) {
    if (!result.log.some((l) => l.includes(want)))
      mismatches.push(`expected a kernel log line containing "${want}"`);
  }
  if (exp.faults) {
    const got = result.dma.faults.map((f) => `${f.device}:${f.reason}`);
    const want = exp.faults.map((f) => `${result.aliases[f.dev] ?? f.dev}:${f.reason}`);
    if (got.join(', ') !== want.join(', '))
      mismatches.push(`DMA faults expected [${want.join(', ')}], got [${got.join(', ')}]`);
  }
  if (exp.staleIotlbUses !== undefined && result.dma.staleIotlbUses.length !== exp.staleIotlbUses)
    mismatches.push(
      `expected ${exp.staleIotlbUses} stale IOTLB uses, got ${result.dma.staleIotlbUses.length}`,
    );
  if (exp.dmaDebug) {
    for (const w of exp.dmaDebug)
      if (!result.dmaDebug.some((x) => x.message.includes(w)))
        mismatches.push(`expected a DMA-API debug finding mentioning "${w}"`);
    if (exp.dmaDebug.length === 0 && result.dmaDebug.length > 0)
      mismatches.push(
        `expected no DMA-API debug finding, got ${result.dmaDebug.length}: ${result.dmaDebug[0].message}`,
      );
  }
  if (exp.warnings) {
    for (const w of exp.warnings)
      if (!result.warnings.some((x) => x.message.includes(w)))
        mismatches.push(`expected a WARN mentioning "${w}"`);
    if (exp.warnings.length === 0 && result.warnings.length > 0)
      mismatches.push(`expected no WARN, got ${result.warnings.length}: ${result.warnings[0].message}`);
  }
  return { ok: mismatches.length === 0, mismatches };
}

/** Run one scenario under one profile. Throws InputError for a scenario that names things that do not exist. */
export function runScenario(sc: Scenario, opts: RunOptions): ScenarioResult {
  const file = opts.file ?? `<scenario ${sc.name}>`;
  const base = typeof sc.platform === 'string' ? opts.resolvePlatform(sc.platform) : sc.platform;
  for (const name of Object.keys(sc.overrides.driverLoad)) {
    if (!base.drivers.some((d) => d.name === name)) {
      throw new InputError(file, `overrides.driverLoad.${name}`, `the platform lists no driver "${name}"`);
    }
  }
  const desc = {
    ...base,
    drivers: base.drivers.map((d) => ({ ...d, load: sc.overrides.driverLoad[d.name] ?? d.load })),
    cmdline: [base.cmdline, sc.overrides.cmdline].filter((c) => c !== '').join(' '),
  };
  const bp = bootPlatform(desc, {
    deferredProbeTimeout: false,
    profile: opts.profile,
    cmdline: opts.cmdline,
    failNth: opts.failNth,
    file,
  });
  const k = bp.k;
  // A name is given once: a second step naming what it makes like an earlier one would drop the
  // scenario's hold on the first (a domain still attached, a mapping never unmapped), which no
  // caller in the kernel can do.
  const named = new Map<string, number>();
  sc.steps.forEach((step, i) => {
    if (!('as' in step) || !step.as) return;
    const first = named.get(step.as);
    if (first !== undefined)
      throw new InputError(file, `steps[${i}].as`, `"${step.as}" already names what steps[${first}] made`);
    named.set(step.as, i);
  });
  // Bus code sets a fwspec up to add the device: one it never adds would keep the fwspec and
  // dev_iommu for ever (the kernel has no other path that frees them), the scenario's own leak.
  const absent = new Set(desc.devices.filter((d) => !d.present).map((d) => d.name));
  sc.steps.forEach((step, i) => {
    if (step.op !== 'seed-fwspec' || !absent.has(step.dev)) return;
    if (!sc.steps.slice(i + 1).some((s) => s.op === 'device-add' && s.dev === step.dev))
      throw new InputError(
        file,
        `steps[${i}].dev`,
        `a fwspec is set up for ${step.dev}, which no later step adds (device-add)`,
      );
  });
  const declared = new Set<string>([...desc.devices.map((d) => d.name), ...bp.devices.keys()]);
  for (const step of sc.steps) {
    if ('as' in step && step.as) declared.add(step.as);
    if (step.op === 'iommufd-bind' && !step.as) declared.add(step.dev);
  }
  const ctx: Ctx = {
    bp,
    k,
    refs: new Map(),
    aliases: {},
    domains: new Map(),
    binds: new Map(),
    owners: new Map(),
    file,
    declared,
    dma: { maps: new Map(), bufs: new Map() },
  };
  const violations: ScenarioResult['invariantViolations'] = [];
  if (opts.checkInvariants) for (const v of checkInvariants(k)) violations.push({ ...v, afterStep: -1 });
  const steps: StepResult[] = sc.steps.map((step, i) => {
    let ret: number;
    let target: string;
    try {
      ({ ret, target } = runStep(ctx, step, i));
    } catch (e) {
      if (!(e instanceof MissingDevice)) throw e;
      ret = -ENODEV;
      target = e.message;
    }
    k.runDeferredProbe();
    if (opts.checkInvariants) for (const v of checkInvariants(k)) violations.push({ ...v, afterStep: i });
    return { op: step.op, result: errnoName(ret), target };
  });
  const snap = snapshot(k);
  // Undo what the scenario still holds, as closing its file descriptors would.
  // (DMA mappings a scenario leaves are its driver's bug: dma-debug reports them at unbind.)
  for (const b of ctx.binds.values()) iommufd_device_unbind(k, b);
  for (const [, dom] of ctx.domains) {
    for (const g of k.iommu.groups.values()) if (g.domain === dom) iommu_detach_group(k, g);
    iommu_domain_free(k, dom);
  }
  for (const [name, o] of ctx.owners) {
    void name;
    for (const d of [...k.base.devices])
      while (d.iommu_group?.owner === o) iommu_device_release_dma_owner(k, d);
  }
  teardown(k);
  const leaks = leakReport(k);
  const partial: Omit<ScenarioResult, 'expectation'> = {
    ...snap,
    // WARNs raised while tearing down count too (a group emptied while still owned, say).
    ...runRecord(k, opts.failNth),
    scenario: sc.name,
    steps,
    aliases: ctx.aliases,
    leaks,
    invariantViolations: violations,
  };
  const exp = expectationFor(sc, opts.profile);
  return { ...partial, expectation: exp && !opts.failNth ? checkExpectation(partial, exp) : null };
}
