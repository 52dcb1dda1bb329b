// SPDX-License-Identifier: GPL-2.0-only
// The groups of the built-in x86-q35-vtd-switch under v6.12, as real Linux
// 6.12 made them (shared/groundtruth/x86-q35-vtd-switch): each group's
// members, space-separated. What the what-if tests start from.
export const VTD_SWITCH_GROUPS = [
  '0000:00:00.0',
  '0000:00:03.0 0000:01:00.0 0000:02:00.0 0000:02:01.0 0000:03:00.0 0000:04:00.0',
  '0000:00:06.0',
  '0000:00:1f.0 0000:00:1f.2 0000:00:1f.3',
  '0000:05:00.0',
];

/**
 * The same machine once the root port above the switch (00:03.0) counts as
 * isolating (an ACS capability, or the override vouching for it): the
 * switch's upstream port passes the ACS path, and so does each downstream
 * port; only the endpoints stay with the port above them, which has no ACS.
 */
export const VTD_SWITCH_ROOT_PORT_ISOLATED = [
  '0000:00:00.0',
  '0000:00:03.0',
  '0000:00:06.0',
  '0000:00:1f.0 0000:00:1f.2 0000:00:1f.3',
  '0000:01:00.0',
  '0000:02:00.0 0000:03:00.0',
  '0000:02:01.0 0000:04:00.0',
  '0000:05:00.0',
];
