// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest's PASID operations (drivers/iommu/iommufd/selftest.c, v6.15:
 * iommufd_test_pasid_attach(), _replace(), _detach(), _check_hwpt()): the
 * selftest object's mock device attached, replaced or detached on a PASID
 * through iommufd_device_attach/replace/detach(), and a check of which
 * domain the core holds for a PASID.
 */
import { EINVAL } from '../kernel/errno.js';
import { iommu_attach_handle_get } from '../iommu/pasid.js';
import type { IommufdHwpt } from './hw-pagetable.js';
import { iommufdDeviceAttach, iommufdDeviceDetach, iommufdDeviceReplace } from './device-attach.js';
import { getSelftestObj } from './selftest.js';
import { decode, encode, testCmds } from './uapi.js';
import type { Ucmd } from './ucmd.js';
import { n32 } from './ucmd.js';

/** iommufd_test_pasid_attach(): attached, pt_id back (an automatic HWPT's id for an IOAS); detached again if that copy fails. */
export function testPasidAttach(u: Ucmd): number {
  const sobj = getSelftestObj(u);
  if (typeof sobj === 'number') return sobj;
  const c = decode(testCmds.pasid_attach, u.bytes);
  const pasid = n32(c.pasid);
  const out = { ptId: n32(c.pt_id) };
  let rc = iommufdDeviceAttach(sobj.idev!, out, pasid);
  if (rc) return rc;
  c.pt_id = out.ptId;
  encode(testCmds.pasid_attach, c, u.bytes);
  rc = u.respond();
  if (rc) iommufdDeviceDetach(sobj.idev!, pasid);
  return rc;
}

/** iommufd_test_pasid_replace() */
export function testPasidReplace(u: Ucmd): number {
  const sobj = getSelftestObj(u);
  if (typeof sobj === 'number') return sobj;
  const c = decode(testCmds.pasid_replace, u.bytes);
  const out = { ptId: n32(c.pt_id) };
  const rc = iommufdDeviceReplace(sobj.idev!, out, n32(c.pasid));
  if (rc) return rc;
  c.pt_id = out.ptId;
  encode(testCmds.pasid_replace, c, u.bytes);
  return u.respond();
}

/** iommufd_test_pasid_detach(): always 0 (a PASID not attached is left alone). */
export function testPasidDetach(u: Ucmd): number {
  const sobj = getSelftestObj(u);
  if (typeof sobj === 'number') return sobj;
  const c = decode(testCmds.pasid_detach, u.bytes);
  iommufdDeviceDetach(sobj.idev!, n32(c.pasid));
  return 0;
}

/**
 * iommufd_test_pasid_check_hwpt(): hwpt_id 0 asks that nothing is attached
 * at the PASID; otherwise the core's domain there must be that HWPT's
 * (-EINVAL), which must exist (-ENOENT).
 */
export function testPasidCheckHwpt(u: Ucmd): number {
  const sobj = getSelftestObj(u);
  if (typeof sobj === 'number') return sobj;
  const c = decode(testCmds.pasid_check, u.bytes);
  const group = sobj.mockDev!.iommu_group;
  const attached = group ? (iommu_attach_handle_get(group, n32(c.pasid))?.domain ?? null) : null;
  const hwptId = n32(c.hwpt_id);
  if (!hwptId) return attached ? -EINVAL : 0;
  const pt = u.ctx.get(hwptId, 'ANY');
  if (typeof pt === 'number') return pt;
  if (pt.type !== 'HWPT_PAGING' && pt.type !== 'HWPT_NESTED') return -EINVAL;
  return attached !== (pt as IommufdHwpt).domain ? -EINVAL : 0;
}
