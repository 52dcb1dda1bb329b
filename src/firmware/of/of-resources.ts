// SPDX-License-Identifier: GPL-2.0-only
/**
 * What a device-tree node gives its platform device besides the IOMMU
 * binding and its interrupts (of-irq.ts): how many `reg` windows
 * of_device_alloc() turns into resources (drivers/of/address.c
 * of_address_count()), and whether a named clock resolves (drivers/clk/clk.c
 * of_parse_clkspec(), drivers/clk/clkdev.c clk_get(), drivers/clk/clk-bulk.c
 * clk_bulk_get()). IOMMU platform drivers read these in probe, and a missing
 * one is what makes their probe fail.
 *
 * Simplified on purpose: `reg` entries are counted without translating them
 * through the parent buses' `ranges`; a clock resolves once `clock-names`
 * names it and its `clocks` entry parses (every clock provider is taken as
 * registered).
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import { ENOENT } from '../../kernel/errno.js';
import { dev_err_probe } from '../../base/core.js';
import { of_parse_phandle_with_args } from './of-base.js';
import { of_n_addr_cells, of_n_size_cells } from './of-address.js';

/** How many `reg` entries of_address_to_resource() finds: whole (address, size) tuples. */
export function of_address_count(np: Fwnode): number {
  const reg = np.properties.get('reg');
  if (!Array.isArray(reg)) return 0;
  const onesize = of_n_addr_cells(np) + of_n_size_cells(np);
  return onesize > 0 ? Math.floor(reg.length / onesize) : 0;
}

/**
 * clk_get() on a device-tree node, reduced to whether it resolves: 0, or
 * -ENOENT when `clock-names` lacks the name or its `clocks` entry does not
 * parse (clk_get() then falls back to the clkdev table, which has none).
 */
export function of_clk_get_by_name(k: Kernel, np: Fwnode, name: string): number {
  const names = np.properties.get('clock-names');
  const index = typeof names === 'string' ? names.split('\0').indexOf(name) : -1;
  if (index < 0) return -ENOENT;
  const spec = of_parse_phandle_with_args(k, np, 'clocks', '#clock-cells', index);
  return typeof spec === 'number' ? -ENOENT : 0;
}

/** clk_get(dev, con_id) / devm_clk_get(): of_clk_get_by_name() of the device's node; -ENOENT without one. */
export function clk_get(k: Kernel, dev: Device, con_id: string): number {
  return dev.fwnode?.kind === 'of' ? of_clk_get_by_name(k, dev.fwnode, con_id) : -ENOENT;
}

/**
 * clk_bulk_get() (drivers/clk/clk-bulk.c __clk_bulk_get()): clk_get() of each
 * name in turn; the first failure is logged by dev_err_probe() and returned.
 * With `optional` (clk_bulk_get_optional()) a missing clock (-ENOENT) is skipped.
 */
export function clk_bulk_get(k: Kernel, dev: Device, ids: readonly string[], optional = false): number {
  for (const id of ids) {
    const ret = clk_get(k, dev, id);
    if (ret === 0 || (ret === -ENOENT && optional)) continue;
    return dev_err_probe(k, dev, ret, `Failed to get clk '${id}'`);
  }
  return 0;
}
