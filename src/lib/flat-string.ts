// SPDX-License-Identifier: GPL-2.0-only
/**
 * flat`…`: a template literal made as one string in one piece. V8 builds
 * `${a}${b}…` as a tree of its pieces (a "cons string", 32 bytes a node) and
 * keeps the tree until something reads the characters; a line kept for the
 * whole run per device (a history line, a group's reason) is then a tree of
 * half a dozen nodes, a million times over. Array.prototype.join() writes
 * the result out flat instead.
 */
export function flat(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  const parts: (string | number)[] = [strings[0]];
  for (let i = 0; i < values.length; i++) parts.push(values[i], strings[i + 1]);
  return parts.join('');
}
